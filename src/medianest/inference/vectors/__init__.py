"""Vector storage for image and face embeddings behind one :class:`VectorStore` interface.

Adapters: :class:`EdgeVectorStore` (embedded qdrant-edge, the default, persisted under the data
dir) and :class:`QdrantClientVectorStore` (a Qdrant server, or qdrant-client's local mode in
tests). See :mod:`.base` for how vectors of different models are kept apart.
"""

from __future__ import annotations

from pathlib import Path

from medianest.inference.vectors.base import (
    CollectionSpec,
    Hit,
    ModelMismatchError,
    UnknownCollectionError,
    VectorPoint,
    VectorStore,
    VectorStoreError,
    make_point_id,
)
from medianest.inference.vectors.edge import EdgeVectorStore
from medianest.inference.vectors.qdrant import QdrantClientVectorStore

__all__ = [
    "CollectionSpec",
    "EdgeVectorStore",
    "Hit",
    "ModelMismatchError",
    "QdrantClientVectorStore",
    "UnknownCollectionError",
    "VectorPoint",
    "VectorStore",
    "VectorStoreError",
    "create_vector_store",
    "make_point_id",
]


def create_vector_store(
    data_dir: str | Path, qdrant_url: str | None = None, qdrant_api_key: str | None = None
) -> VectorStore:
    """A Qdrant server when a URL is configured, else the embedded store in ``data_dir/vectors``.

    Create it once in the inference API's lifespan: the embedded store locks its folder to one
    process, and workers send their vectors to the API instead of opening it.
    """
    if qdrant_url:
        return QdrantClientVectorStore.connect(qdrant_url, api_key=qdrant_api_key)
    return EdgeVectorStore(Path(data_dir) / "vectors")
