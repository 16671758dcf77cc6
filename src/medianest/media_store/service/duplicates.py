"""Exact duplicates (hash lookup) and near duplicates (64-bit pHash within a Hamming distance)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.orm import Session

from medianest.common.errors import NotFound, Unprocessable
from medianest.media_store import repository as repo
from medianest.media_store.schemas import (
    DuplicateGroup,
    DuplicateGroups,
    LabelHit,
    LabelLookupResult,
    LookupResult,
    NearDuplicate,
    NearDuplicates,
)
from medianest.media_store.service.entities import require, to_reads

_BLOCK = 512
_BRUTE_FORCE_MAX = 4096
HEX = set("0123456789abcdef")
LABEL_MATCHES = 100


def lookup(session: Session, hashes: Sequence[str]) -> list[LookupResult]:
    """For each md5 (32 hex) or sha256 (64 hex): the entity holding it, if any."""
    wanted = [h.strip().lower() for h in hashes]
    bad = [h for h in wanted if len(h) not in (32, 64) or not set(h) <= HEX]
    if bad:
        raise Unprocessable(f"not an md5 or sha256 hex digest: {bad[0]!r}")
    found = {}
    for entity in repo.by_hashes(session, wanted):
        found[entity.md5] = entity
        found[entity.sha256] = entity
    results = []
    for h in wanted:
        hit = found.get(h)
        if hit is None:
            results.append(LookupResult(hash=h, known=False))
        else:
            results.append(
                LookupResult(hash=h, known=True, entity_id=hit.id, is_deleted=hit.is_deleted)
            )
    return results


def lookup_labels(session: Session, labels: Sequence[str]) -> list[LabelLookupResult]:
    """For each exact label: the entities carrying it (at most LABEL_MATCHES, lowest ids)."""
    found: dict[str, list[LabelHit]] = {}
    for label, entity_id, deleted in repo.by_labels(session, labels, LABEL_MATCHES):
        found.setdefault(label, []).append(LabelHit(entity_id=entity_id, is_deleted=deleted))
    return [
        LabelLookupResult(label=label, known=label in found, entities=found.get(label, []))
        for label in labels
    ]


def _as_array(rows: Sequence[tuple[int, str]]) -> tuple[NDArray[np.int64], NDArray[np.uint64]]:
    ids = np.fromiter((i for i, _ in rows), dtype=np.int64, count=len(rows))
    hashes = np.fromiter((int(h, 16) for _, h in rows), dtype=np.uint64, count=len(rows))
    return ids, hashes


def near_duplicates(session: Session, entity_id: int, max_distance: int) -> NearDuplicates:
    entity = require(session, entity_id)
    if entity.phash is None:
        raise NotFound(f"entity {entity_id} has no perceptual hash")
    ids, hashes = _as_array(repo.phashes(session))
    distances = np.bitwise_count(hashes ^ np.uint64(int(entity.phash, 16)))
    mask = (distances <= max_distance) & (ids != entity_id)
    order = sorted(zip(distances[mask].tolist(), ids[mask].tolist(), strict=True))
    rows = repo.entities_by_ids(session, [i for _, i in order])
    reads = {r.id: r for r in to_reads(session, list(rows.values()))}
    items = [NearDuplicate(distance=d, entity=reads[i]) for d, i in order if i in reads]
    return NearDuplicates(entity_id=entity_id, max_distance=max_distance, items=items)


def groups(session: Session, max_distance: int) -> DuplicateGroups:
    """Groups of live entities linked by pHash distance <= max_distance (single linkage)."""
    ids, hashes = _as_array(repo.phashes(session))
    parent = list(range(len(ids)))
    for i, j in _close_pairs(hashes, max_distance):
        _union(parent, i, j)
    members: dict[int, list[int]] = {}
    for index in range(len(ids)):
        members.setdefault(_find(parent, index), []).append(int(ids[index]))
    clusters = sorted(sorted(m) for m in members.values() if len(m) > 1)
    rows = repo.entities_by_ids(session, [i for c in clusters for i in c])
    reads = {r.id: r for r in to_reads(session, list(rows.values()))}
    out = [DuplicateGroup(entity_ids=c, entities=[reads[i] for i in c]) for c in clusters]
    return DuplicateGroups(max_distance=max_distance, groups=out)


def _close_pairs(hashes: NDArray[np.uint64], max_distance: int) -> set[tuple[int, int]]:
    """Index pairs (i < j) within ``max_distance`` bits.

    Small sets: all pairs, in blocks. Large sets: split the 64 bits into ``max_distance + 1``
    chunks; two hashes within the distance agree on at least one whole chunk (pigeonhole), so
    only hashes sharing a chunk value are compared.
    """
    everything = np.arange(len(hashes))
    if len(hashes) <= _BRUTE_FORCE_MAX or max_distance >= 32:
        return _pairs_among(hashes, everything, max_distance)
    pairs: set[tuple[int, int]] = set()
    for shift, width in _chunks(max_distance + 1):
        keys = (hashes >> np.uint64(shift)) & np.uint64((1 << width) - 1)
        order = np.argsort(keys, kind="stable")
        for bucket in np.split(order, np.flatnonzero(np.diff(keys[order])) + 1):
            if len(bucket) > 1:
                pairs |= _pairs_among(hashes, bucket, max_distance)
    return pairs


def _chunks(count: int) -> list[tuple[int, int]]:
    bounds = [round(i * 64 / count) for i in range(count + 1)]
    return [(lo, hi - lo) for lo, hi in itertools.pairwise(bounds)]


def _pairs_among(
    hashes: NDArray[np.uint64], members: NDArray[np.int64], max_distance: int
) -> set[tuple[int, int]]:
    pairs: set[tuple[int, int]] = set()
    subset = hashes[members]
    for start in range(0, len(members), _BLOCK):
        dist = np.bitwise_count(subset[start : start + _BLOCK, None] ^ subset[None, start:])
        for a, b in zip(*np.nonzero(dist <= max_distance), strict=True):
            if b > a:
                i, j = int(members[start + a]), int(members[start + b])
                pairs.add((min(i, j), max(i, j)))
    return pairs


def _find(parent: list[int], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def _union(parent: list[int], a: int, b: int) -> None:
    ra, rb = _find(parent, a), _find(parent, b)
    if ra != rb:
        parent[max(ra, rb)] = min(ra, rb)
