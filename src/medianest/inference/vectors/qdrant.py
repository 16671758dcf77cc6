"""Store on qdrant-client: a Qdrant server (``QDRANT_URL``) or qdrant-client's local mode.

Local mode (``path=`` or ``":memory:"``) is brute force in Python (≈180 ms per query at 100k
vectors) but speaks exactly the server's API, so tests on it cover the server path. A server
builds its indexes in the background, hence :meth:`optimize` stays a no-op here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from qdrant_client import QdrantClient
from qdrant_client import models as qm

from medianest.inference.vectors import base

_UPSERT_CHUNK = 512
_RESCORE = qm.SearchParams(quantization=qm.QuantizationSearchParams(rescore=True, oversampling=2.0))


class QdrantClientVectorStore(base.VectorStore):
    def __init__(self, client: QdrantClient, payload_indexes: bool = True) -> None:
        """``payload_indexes`` is for servers; local mode ignores them (with a warning)."""
        super().__init__()
        self._client = client
        self._payload_indexes = payload_indexes

    @classmethod
    def connect(cls, url: str, api_key: str | None = None) -> QdrantClientVectorStore:
        return cls(QdrantClient(url=url, api_key=api_key), payload_indexes=True)

    @classmethod
    def local(cls, path: str | Path | None = None) -> QdrantClientVectorStore:
        """Local mode persisted in ``path``, or in memory when ``path`` is None."""
        client = QdrantClient(path=str(path)) if path else QdrantClient(location=":memory:")
        return cls(client, payload_indexes=False)

    def close(self) -> None:
        self._client.close()

    def _physicals(self, collection: str) -> set[str]:
        prefix = base.physical_prefix(collection)
        names = (c.name for c in self._client.get_collections().collections)
        return {name for name in names if name.startswith(prefix)}

    def _create(self, physical: str, dim: int) -> None:
        if self._client.collection_exists(physical):
            return
        params = qm.VectorParams(size=dim, distance=qm.Distance.COSINE)
        # int8 scalar quantisation, as in the embedded store: a quarter of the RAM for the
        # searched copy; results are rescored with the original vectors
        quantization = qm.ScalarQuantization(
            scalar=qm.ScalarQuantizationConfig(
                type=qm.ScalarType.INT8, quantile=0.99, always_ram=True
            )
        )
        self._client.create_collection(
            physical, vectors_config=params, quantization_config=quantization
        )
        if self._payload_indexes:
            for key in base.INDEXED_FIELDS:
                self._client.create_payload_index(physical, key, qm.PayloadSchemaType.KEYWORD)

    def _upsert(self, physical: str, points: list[base.VectorPoint]) -> None:
        for start in range(0, len(points), _UPSERT_CHUNK):
            chunk = [
                qm.PointStruct(id=p.id, vector=list(p.vector), payload=p.payload)
                for p in points[start : start + _UPSERT_CHUNK]
            ]
            self._client.upsert(physical, points=chunk, wait=True)

    def _delete_where(self, physical: str, must: base.Conditions) -> None:
        selector = qm.FilterSelector(filter=_filter(must, {}))
        self._client.delete(physical, points_selector=selector, wait=True)

    def _delete_ids(self, physical: str, ids: list[str]) -> None:
        selector = qm.PointIdsList(points=list(ids))
        self._client.delete(physical, points_selector=selector, wait=True)

    def _query(self, physical: str, q: base.NearestQuery) -> list[base.Hit]:
        response = self._client.query_points(
            physical,
            query=q.vector,
            limit=q.limit,
            query_filter=_filter(q.must, q.must_not),
            score_threshold=q.min_score,
            with_payload=True,
            # a server searches the quantised copy and rescores; local mode is always exact
            search_params=_RESCORE if self._payload_indexes else None,
        )
        return [base.Hit(str(p.id), float(p.score), dict(p.payload or {})) for p in response.points]

    def _retrieve_vector(self, physical: str, point_id: str) -> list[float] | None:
        records = self._client.retrieve(physical, ids=[point_id], with_vectors=True)
        vector = records[0].vector if records else None
        if not isinstance(vector, list):
            return None
        values: list[float] = np.asarray(vector, dtype=np.float32).tolist()
        return values

    def _count(self, physical: str, must: base.Conditions) -> int:
        return self._client.count(physical, count_filter=_filter(must, {}), exact=True).count


def _filter(must: base.Conditions, must_not: base.Conditions) -> qm.Filter:
    return qm.Filter(must=_conditions(must), must_not=_conditions(must_not))


def _conditions(values: base.Conditions) -> list[qm.Condition]:
    return [qm.FieldCondition(key=k, match=qm.MatchValue(value=v)) for k, v in values.items()]
