"""The vector-store interface, shared by every adapter.

How two models are kept apart (never mixed in one search):

* **One physical collection per (logical name, model, dimension)**, named
  ``{name}__{model-slug}__{dim}``. Switching the image embedder from EfficientNet (1280-d) to a
  CLIP model (512-d) therefore opens a new collection instead of failing on, or silently mixing,
  vectors of another space.
* **Every point's payload carries ``model`` and ``model_version``, and every search filters on
  them.** This also separates two versions of one model (same collection, different vectors)
  and guards against slug collisions.

``ensure_collection`` declares the *active* model of a logical collection for this process;
upserts must come from that model and version (vectors computed by a worker still running the old
model are refused with :class:`ModelMismatchError`), searches default to it, and ``search(...,
model=other)`` reads another model's collection. Deleting by media or by id applies to the
collections of every model, so deleted media never resurface after a model switch.
"""

from __future__ import annotations

import re
import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from medianest.common.errors import Conflict, MediaNestError, NotFound

VectorLike = Sequence[float] | npt.NDArray[np.floating]
Conditions = dict[str, str]
"""Payload key → exact keyword value; adapters translate to their own filter types."""

INDEXED_FIELDS = ("media_store_id", "face_id", "model", "model_version")
_NAME_RE = re.compile(r"^[a-z0-9]+(?:[_-][a-z0-9]+)*$")
_ID_NAMESPACE = uuid.UUID("5b0d5c8e-8f7e-4d55-9a43-6d2f1f0c7a11")


class VectorStoreError(MediaNestError):
    status_code = 503


class UnknownCollectionError(VectorStoreError, NotFound):
    status_code = 404


class ModelMismatchError(VectorStoreError, Conflict):
    """Vectors of a model/version/dimension other than the collection's active one."""

    status_code = 409


@dataclass(frozen=True)
class VectorPoint:
    id: str
    """A UUID string; use :func:`make_point_id` for ids that stay stable across re-processing."""
    vector: VectorLike
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Hit:
    id: str
    score: float
    """Cosine similarity in [-1, 1]."""
    payload: dict[str, Any]


@dataclass(frozen=True)
class NearestQuery:
    """One nearest-neighbour search, as the backends run it."""

    vector: list[float]
    limit: int
    must: Conditions
    must_not: Conditions
    min_score: float | None


@dataclass(frozen=True)
class CollectionSpec:
    name: str
    dim: int
    model: str
    model_version: str

    @property
    def physical(self) -> str:
        return physical_name(self.name, self.model, self.dim)


def physical_name(name: str, model: str, dim: int) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", model.lower()).strip("-") or "model"
    return f"{name}__{slug}__{dim}"


def make_point_id(*parts: str) -> str:
    """Deterministic UUID from e.g. ("face", face_id): a re-upsert replaces, never duplicates."""
    return str(uuid.uuid5(_ID_NAMESPACE, "/".join(parts)))


class VectorStore(ABC):
    """Cosine-similarity store for image and face embeddings; adapters implement the ``_`` hooks.

    Methods are blocking: call them from a thread pool, never on the event loop.
    """

    def __init__(self) -> None:
        self._active: dict[str, CollectionSpec] = {}

    def ensure_collection(
        self, name: str, dim: int, model: str, model_version: str
    ) -> CollectionSpec:
        """Create the collection for this model if needed and make it the active one."""
        if not _NAME_RE.match(name):
            raise ValueError(f"invalid collection name {name!r} (lowercase, digits, single _ or -)")
        spec = CollectionSpec(name, int(dim), model, model_version)
        self._create(spec.physical, spec.dim)
        self._active[name] = spec
        return spec

    def upsert(self, collection: str, points: Sequence[VectorPoint]) -> None:
        """Insert or replace points (same id → replaced); stamps ``model``/``model_version``."""
        spec = self._spec(collection)
        prepared = [self._prepare(spec, point) for point in points]
        if prepared:
            self._upsert(spec.physical, prepared)

    def delete_by_media(self, collection: str, media_store_id: str) -> None:
        for physical in self._physicals(collection):
            self._delete_where(physical, {"media_store_id": media_store_id})

    def delete_points(self, collection: str, ids: Sequence[str]) -> None:
        if ids:
            for physical in self._physicals(collection):
                self._delete_ids(physical, [_check_id(i) for i in ids])

    def search(
        self,
        collection: str,
        vector: VectorLike,
        limit: int = 10,
        min_score: float | None = None,
        exclude_media_store_id: str | None = None,
        model: str | None = None,
    ) -> list[Hit]:
        """Nearest points by cosine similarity, best first, from ONE model's vectors only."""
        query = _as_list(vector)
        physical, must = self._search_target(collection, model, len(query))
        must_not = {"media_store_id": exclude_media_store_id} if exclude_media_store_id else {}
        return self._query(physical, NearestQuery(query, limit, must, must_not, min_score))

    def get_vector(self, collection: str, point_id: str) -> npt.NDArray[np.float32] | None:
        """The stored (unit-length) vector of a point of the active model, or None."""
        values = self._retrieve_vector(self._spec(collection).physical, _check_id(point_id))
        return None if values is None else np.asarray(values, dtype=np.float32)

    def get_vectors(
        self, collection: str, point_ids: Sequence[str]
    ) -> dict[str, npt.NDArray[np.float32]]:
        """Stored vectors of many points of the active model (missing ids are left out)."""
        physical = self._spec(collection).physical
        found: dict[str, npt.NDArray[np.float32]] = {}
        for start in range(0, len(point_ids), 256):
            chunk = [_check_id(i) for i in point_ids[start : start + 256]]
            for point_id, values in self._retrieve_vectors(physical, chunk).items():
                found[point_id] = np.asarray(values, dtype=np.float32)
        return found

    def _retrieve_vectors(self, physical: str, point_ids: list[str]) -> dict[str, list[float]]:
        """Adapters with a batch read override this; the default reads one point at a time."""
        found: dict[str, list[float]] = {}
        for point_id in point_ids:
            values = self._retrieve_vector(physical, point_id)
            if values is not None:
                found[point_id] = values
        return found

    def count(self, collection: str) -> int:
        """Points of the active model and version."""
        spec = self._spec(collection)
        return self._count(spec.physical, _model_conditions(spec))

    def active_counts(self) -> dict[str, int]:
        """Points of the active model per collection (for metrics)."""
        return {name: self.count(name) for name in list(self._active)}

    def optimize(self) -> None:  # noqa: B027 - a no-op is right for self-optimising engines
        """Maintenance (index building); blocking, so run it off the event loop."""

    @abstractmethod
    def close(self) -> None: ...

    # -- helpers shared by adapters -------------------------------------------------------

    def _spec(self, collection: str) -> CollectionSpec:
        try:
            return self._active[collection]
        except KeyError:
            raise UnknownCollectionError(
                f"collection {collection!r} has no active model; call ensure_collection first"
            ) from None

    def _search_target(
        self, collection: str, model: str | None, dim: int
    ) -> tuple[str, Conditions]:
        active = self._active.get(collection)
        if active and model in (None, active.model):
            if dim != active.dim:
                raise ModelMismatchError(f"query has {dim} dims, {active.model} has {active.dim}")
            return active.physical, _model_conditions(active)
        if model is None:
            self._spec(collection)  # raises UnknownCollectionError
        physical = physical_name(collection, str(model), dim)
        if physical not in self._physicals(collection):
            raise UnknownCollectionError(f"no {dim}-d vectors of model {model!r} in {collection!r}")
        return physical, {"model": str(model)}

    @staticmethod
    def _prepare(spec: CollectionSpec, point: VectorPoint) -> VectorPoint:
        payload = dict(point.payload)
        if "media_store_id" not in payload:
            raise ValueError("payload needs media_store_id (deletes go by media)")
        for key, expected in (("model", spec.model), ("model_version", spec.model_version)):
            if payload.setdefault(key, expected) != expected:
                raise ModelMismatchError(f"{key} {payload[key]!r} != active {expected!r}")
        values = _as_list(point.vector)
        if len(values) != spec.dim:
            raise ModelMismatchError(f"vector has {len(values)} dims, collection has {spec.dim}")
        return VectorPoint(_check_id(point.id), values, payload)

    @abstractmethod
    def _physicals(self, collection: str) -> set[str]:
        """Existing physical collections of a logical one (every model)."""

    @abstractmethod
    def _create(self, physical: str, dim: int) -> None: ...

    @abstractmethod
    def _upsert(self, physical: str, points: list[VectorPoint]) -> None: ...

    @abstractmethod
    def _delete_where(self, physical: str, must: Conditions) -> None: ...

    @abstractmethod
    def _delete_ids(self, physical: str, ids: list[str]) -> None: ...

    @abstractmethod
    def _query(self, physical: str, q: NearestQuery) -> list[Hit]: ...

    @abstractmethod
    def _retrieve_vector(self, physical: str, point_id: str) -> list[float] | None: ...

    @abstractmethod
    def _count(self, physical: str, must: Conditions) -> int: ...


def physical_prefix(collection: str) -> str:
    return f"{collection}__"


def _model_conditions(spec: CollectionSpec) -> Conditions:
    return {"model": spec.model, "model_version": spec.model_version}


def _as_list(vector: VectorLike) -> list[float]:
    values: list[float] = np.asarray(vector, dtype=np.float32).ravel().tolist()
    return values


def _check_id(point_id: str) -> str:
    """Qdrant accepts UUIDs (or integers); fail early with a clear message otherwise."""
    try:
        return str(uuid.UUID(str(point_id)))
    except ValueError:
        raise ValueError(f"point id must be a UUID string, got {point_id!r}") from None
