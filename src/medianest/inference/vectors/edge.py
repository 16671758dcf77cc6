"""Embedded store on qdrant-edge (``qdrant-edge-py==0.9.0``, pinned: its API is pre-1.0).

One ``EdgeShard`` folder per physical collection under ``root``. The engine has no background
optimiser: until :meth:`EdgeVectorStore.optimize` runs, searches are exact (about 18 ms at
100k vectors on 2 cores); ``optimize()`` builds HNSW indexes and blocks for roughly 40-60 s per
100k vectors, so schedule it as maintenance in a worker thread. A shard folder is locked to one
process: only the inference API process may open the store.
"""

from __future__ import annotations

import threading
from pathlib import Path

import qdrant_edge as qe

from medianest.inference.vectors.base import (
    INDEXED_FIELDS,
    Conditions,
    Hit,
    NearestQuery,
    VectorPoint,
    VectorStore,
    physical_prefix,
)

_CONFIG_FILE = "edge_config.json"
_UPSERT_CHUNK = 1024
_RESCORE = qe.QuantizationSearchParams(rescore=True, oversampling=2.0)


class EdgeVectorStore(VectorStore):
    def __init__(self, root: str | Path, hnsw_ef: int | None = 256) -> None:
        """``hnsw_ef``: HNSW search breadth once optimised (None = engine default). On 100k real
        1280-d embeddings 256 gave recall@10 0.998 at ~1 ms vs 0.98 for the default."""
        super().__init__()
        self._root = Path(root)
        self._root.mkdir(parents=True, exist_ok=True)
        self.hnsw_ef = hnsw_ef
        self._shards: dict[str, qe.EdgeShard] = {}
        self._lock = threading.RLock()

    def optimize(self) -> None:
        """Build HNSW indexes in every collection; blocks (minutes at millions of vectors)."""
        for physical in sorted(self._all_physicals()):
            shard = self._open(physical)
            shard.optimize()
            shard.flush()

    def close(self) -> None:
        with self._lock:
            for shard in self._shards.values():
                shard.flush()
                shard.close()
            self._shards.clear()

    def _open(self, physical: str) -> qe.EdgeShard:
        with self._lock:
            shard = self._shards.get(physical)
            if shard is None:
                shard = qe.EdgeShard.load(str(self._root / physical))
                self._shards[physical] = shard
            return shard

    def _exists(self, physical: str) -> bool:
        return (self._root / physical / _CONFIG_FILE).is_file()

    def _all_physicals(self) -> set[str]:
        return {p.name for p in self._root.iterdir() if self._exists(p.name)}

    def _physicals(self, collection: str) -> set[str]:
        prefix = physical_prefix(collection)
        return {name for name in self._all_physicals() if name.startswith(prefix)}

    def _create(self, physical: str, dim: int) -> None:
        with self._lock:
            if physical in self._shards or self._exists(physical):
                self._open(physical)
                return
            # int8 scalar quantisation: the searched copy takes a quarter of float32's RAM (1M x
            # 1280-d: 1.3 GB instead of 5.1 GB), HNSW builds faster on it (measured 36 s vs
            # 186 s at 20k here) and queries rescore with the original vectors.
            quantization = qe.ScalarQuantizationConfig(
                qe.ScalarType.Int8, quantile=0.99, always_ram=True
            )
            config = qe.EdgeConfig(
                vectors=qe.EdgeVectorParams(
                    size=dim, distance=qe.Distance.Cosine, quantization_config=quantization
                )
            )
            shard = qe.EdgeShard.create(str(self._root / physical), config)
            for key in INDEXED_FIELDS:
                shard.update(
                    qe.UpdateOperation.create_field_index(key, qe.PayloadSchemaType.Keyword)
                )
            self._shards[physical] = shard

    def _upsert(self, physical: str, points: list[VectorPoint]) -> None:
        shard = self._open(physical)
        for start in range(0, len(points), _UPSERT_CHUNK):
            chunk = points[start : start + _UPSERT_CHUNK]
            edge_points = [qe.Point(p.id, list(p.vector), p.payload) for p in chunk]
            shard.update(qe.UpdateOperation.upsert_points(edge_points))

    def _delete_where(self, physical: str, must: Conditions) -> None:
        operation = qe.UpdateOperation.delete_points_by_filter(qe.Filter(must=_conditions(must)))
        self._open(physical).update(operation)

    def _delete_ids(self, physical: str, ids: list[str]) -> None:
        self._open(physical).update(qe.UpdateOperation.delete_points(list(ids)))

    def _query(self, physical: str, q: NearestQuery) -> list[Hit]:
        request = qe.QueryRequest(
            limit=q.limit,
            query=qe.Query.Nearest(q.vector),
            filter=_filter(q.must, q.must_not),
            with_payload=True,
            score_threshold=q.min_score,
            params=qe.SearchParams(hnsw_ef=self.hnsw_ef, quantization=_RESCORE),
        )
        points = self._open(physical).query(request)
        return [Hit(str(p.id), float(p.score), dict(p.payload or {})) for p in points]

    def _retrieve_vector(self, physical: str, point_id: str) -> list[float] | None:
        records = self._open(physical).retrieve([point_id], False, True)
        if not records or records[0].vector is None:
            return None
        vector = records[0].vector
        return vector if isinstance(vector, list) else None  # type: ignore[return-value]

    def _retrieve_vectors(self, physical: str, point_ids: list[str]) -> dict[str, list[float]]:
        records = self._open(physical).retrieve(list(point_ids), False, True)
        return {
            str(r.id): r.vector  # type: ignore[misc]
            for r in records
            if isinstance(r.vector, list)
        }

    def _count(self, physical: str, must: Conditions) -> int:
        return self._open(physical).count(qe.CountRequest(exact=True, filter=_filter(must, {})))


def _filter(must: Conditions, must_not: Conditions) -> qe.Filter | None:
    if not must and not must_not:
        return None
    return qe.Filter(must=_conditions(must) or None, must_not=_conditions(must_not) or None)


def _conditions(values: Conditions) -> list[qe.ConditionType]:
    return [qe.FieldCondition(key=k, match=qe.MatchValue(v)) for k, v in values.items()]
