"""Every SQL statement of the media store."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from medianest.media_store import search_index
from medianest.media_store.models import Change, ConfigItem, Entity, EntityVersion, MediaFile
from medianest.media_store.schemas import (
    EntityQuery,
    KeysetCursor,
    OrderBy,
    SortOrder,
    TimelineFilter,
)

AnyEntity = Any  # Entity or EntityVersion: same column names
SORT_MATCHES_MAX = 1000  # text matches worth fetching and sorting (SQLite); above: walk an index


def get(session: Session, entity_id: int, for_update: bool = False) -> Entity | None:
    stmt = sa.select(Entity).where(Entity.id == entity_id)
    if for_update:  # PostgreSQL row lock; SQLite writers are already serialised
        stmt = stmt.with_for_update()
    return session.scalars(stmt).first()


def by_md5(session: Session, md5: str) -> Entity | None:
    return session.scalars(sa.select(Entity).where(Entity.md5 == md5)).first()


def by_hashes(session: Session, hashes: Sequence[str]) -> list[Entity]:
    md5s = [h for h in hashes if len(h) == 32]
    shas = [h for h in hashes if len(h) == 64]
    stmt = sa.select(Entity).where(sa.or_(Entity.md5.in_(md5s), Entity.sha256.in_(shas)))
    return list(session.scalars(stmt))


def _like_pattern(needle: str) -> str:
    """``%needle%`` with LIKE's wildcards escaped (backslash: PostgreSQL's default escape)."""
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _contains(column: Any, needle: str, sqlite: bool) -> Any:
    # SQLite's LIKE already ignores ASCII case (and lower() would cost a call per row); a plain
    # ILIKE (not lower(col) LIKE ...) is what PostgreSQL's trigram index serves
    if sqlite:
        return column.like(_like_pattern(needle), escape="\\")
    return column.ilike(_like_pattern(needle))


def _search(cls: Any, needle: str, sqlite: bool, walk_order: bool = False) -> Any:
    """Substring match in label, description or original filename, through the text index.

    SQLite: the FTS5 trigram table (a phrase query is a substring match; needs 3+ characters,
    shorter needles scan). PostgreSQL: ILIKE, served by the pg_trgm GIN index. Version rows
    have no index and are scanned. ``walk_order`` (SQLite, many matches): the unary + keeps the
    planner from fetching every match by id and sorting them; it walks the order's index instead
    and tests membership, which stops after one page.
    """
    if sqlite and cls is Entity and len(needle) >= search_index.MIN_CHARS:
        matches = search_index.sqlite_match(needle)
        if walk_order:
            return sa.literal_column("+entities.id", sa.Integer).in_(matches)
        return Entity.id.in_(matches)
    cols = (cls.label, cls.description, cls.original_filename)
    return sa.or_(*(_contains(c, needle, sqlite) for c in cols))


def _walk_order(session: Session, cls: Any, q: EntityQuery, sqlite: bool) -> bool:
    """Whether a SQLite text search in a date or label order matches too many rows to sort."""
    needle = q.search_query
    if not (sqlite and cls is Entity and needle and q.order_by is not OrderBy.id):
        return False
    if len(needle) < search_index.MIN_CHARS:
        return False
    return search_index.sqlite_has_more_than(session, needle, SORT_MATCHES_MAX)


def _ranges(cls: Any, q: EntityQuery) -> list[Any]:
    conds: list[Any] = []
    bounds = (
        (cls.width, q.width_min, q.width_max),
        (cls.height, q.height_min, q.height_max),
        (cls.file_size, q.file_size_min, q.file_size_max),
        (cls.create_date, q.date_from, q.date_to),
        (cls.added_date, q.added_from, q.added_to),
    )
    for column, low, high in bounds:
        if low is not None:
            conds.append(column >= low)
        if high is not None:
            conds.append(column <= high)
    if q.created_after is not None:
        conds.append(cls.create_date >= q.created_after)
    if q.created_before is not None:
        conds.append(cls.create_date < q.created_before)
    return conds


def _filtered(
    cls: Any, q: EntityQuery, sqlite: bool = False, walk_order: bool = False
) -> list[Any]:
    # walk_order: equality filters that could drive the plan are hidden from the planner (+col)
    def column(name: str) -> Any:
        return sa.literal_column(f"+entities.{name}") if walk_order else getattr(cls, name)

    conds: list[Any] = []
    if not q.include_deleted:
        conds.append(cls.is_deleted == sa.false())  # '= false' can use an index, 'IS' cannot
    if q.parent_id == 0:
        conds.append(cls.parent_id.is_(None))
    elif q.parent_id is not None:
        conds.append(cls.parent_id == q.parent_id)
    if q.is_collection is not None:
        conds.append(cls.is_collection == q.is_collection)
    if q.type is not None:
        conds.append(column("type") == q.type.value)
    if q.mime_type is not None:
        conds.append(column("mime_type") == q.mime_type)
    if q.md5 is not None:
        conds.append(cls.md5 == q.md5.lower())
    conds += _ranges(cls, q)
    if q.search_query:
        conds.append(_search(cls, q.search_query, sqlite, walk_order))
    return conds


def _nulls_low(q: EntityQuery, sqlite: bool) -> bool:
    """Whether NULLs of the order column sort below every value (label: always, see _ordering)."""
    return sqlite or q.order_by is OrderBy.label


def _ordering(cls: Any, q: EntityQuery) -> list[Any]:
    column = getattr(cls, q.order_by.value)
    desc = q.order is SortOrder.desc
    primary = column.desc() if desc else column.asc()
    if q.order_by is OrderBy.label:  # same NULL placement on SQLite and PostgreSQL
        primary = primary.nulls_last() if desc else primary.nulls_first()
    tie = cls.id.desc() if desc else cls.id.asc()
    return [primary] if q.order_by is OrderBy.id else [primary, tie]


def _after(cls: Any, q: EntityQuery, cursor: KeysetCursor, sqlite: bool) -> list[Any]:
    """Rows strictly after ``cursor`` in the list order, as conditions read one after another.

    Each condition is one index range in the list's order (a row-value comparison, or the NULL
    run of the order column, which sits where the backend sorts NULLs: see _nulls_low). One OR
    of them would be a single condition but no longer an ordered range scan.
    """
    desc = q.order is SortOrder.desc
    id_after = cls.id < cursor.id if desc else cls.id > cursor.id
    if q.order_by is OrderBy.id:
        return [id_after]
    column = getattr(cls, q.order_by.value)
    nulls_first = _nulls_low(q, sqlite) != desc  # NULLs come first in this output order
    if cursor.value is None:
        in_nulls = sa.and_(column.is_(None), id_after)
        return [in_nulls, column.is_not(None)] if nulls_first else [in_nulls]
    pair, at = sa.tuple_(column, cls.id), sa.tuple_(sa.literal(cursor.value), sa.literal(cursor.id))
    after = pair < at if desc else pair > at
    return [after] if nulls_first else [after, column.is_(None)]


def _nth_versions(n: int) -> Any:
    """Each entity's n-th version row (1-based, in transaction order) as an aliased class."""
    number = (
        sa.func.row_number()
        .over(partition_by=EntityVersion.id, order_by=EntityVersion.transaction_id)
        .label("version_number")
    )
    sub = sa.select(EntityVersion, number).subquery()
    inner = sa.select(sub).where(sub.c.version_number == n).subquery()
    return sa.orm.aliased(EntityVersion, inner)


def count_entities(session: Session, q: EntityQuery) -> int:
    """How many rows match the list's filters (version rows for ``q.version``)."""
    cls = _nth_versions(q.version) if q.version else Entity
    conds = _filtered(cls, q, session.get_bind().dialect.name == "sqlite")
    return int(session.scalar(sa.select(sa.func.count()).select_from(cls).where(*conds)) or 0)


def list_entities(
    session: Session, q: EntityQuery, cursor: KeysetCursor | None = None
) -> tuple[list[AnyEntity], bool]:
    """One page of the list, and whether rows follow it.

    With a cursor the page is the ``page_size`` rows after it (keyset: stable under inserts);
    without, the ``page``-th page by OFFSET. Deep OFFSET pages read only ids from the index
    first, then fetch the page's rows by id (the skipped rows are never fetched).
    """
    cls = _nth_versions(q.version) if q.version else Entity
    sqlite = session.get_bind().dialect.name == "sqlite"
    conds = _filtered(cls, q, sqlite, _walk_order(session, cls, q, sqlite))
    order, wanted = _ordering(cls, q), q.page_size + 1
    if cursor is not None:
        rows: list[AnyEntity] = []
        for segment in _after(cls, q, cursor, sqlite):
            stmt = sa.select(cls).where(*conds, segment).order_by(*order)
            rows += session.scalars(stmt.limit(wanted - len(rows)))
            if len(rows) == wanted:
                break
    elif cls is Entity and q.page > 1:
        ids = sa.select(Entity.id).where(*conds).order_by(*order)
        page_ids = ids.offset((q.page - 1) * q.page_size).limit(wanted).scalar_subquery()
        rows = list(
            session.scalars(sa.select(Entity).where(Entity.id.in_(page_ids)).order_by(*order))
        )
    else:
        stmt = sa.select(cls).where(*conds).order_by(*order)
        rows = list(session.scalars(stmt.offset((q.page - 1) * q.page_size).limit(wanted)))
    return rows[: q.page_size], len(rows) > q.page_size


def latest_change(session: Session) -> int:
    """The newest change-feed cursor (every entity write appends one in its transaction)."""
    return int(session.scalar(sa.select(sa.func.max(Change.cursor))) or 0)


def by_labels(
    session: Session, labels: Sequence[str], per_label: int
) -> list[tuple[str, int, bool]]:
    """(label, id, is_deleted) of entities labelled exactly one of ``labels``: lowest ids first,
    at most ``per_label`` per label."""
    rank = sa.func.row_number().over(partition_by=Entity.label, order_by=Entity.id).label("rank")
    inner = (
        sa.select(Entity.label, Entity.id, Entity.is_deleted, rank)
        # the IN on is_deleted lets (is_deleted, label, id) serve the lookup
        .where(Entity.is_deleted.in_([False, True]), Entity.label.in_(list(labels)))
        .subquery()
    )
    stmt = (
        sa.select(inner.c.label, inner.c.id, inner.c.is_deleted)
        .where(inner.c.rank <= per_label)
        .order_by(inner.c.label, inner.c.id)
    )
    return [(str(label), int(i), bool(d)) for label, i, d in session.execute(stmt)]


def children_counts(session: Session, ids: Iterable[int]) -> dict[int, int]:
    stmt = (
        sa.select(Entity.parent_id, sa.func.count())
        .where(Entity.parent_id.in_(list(ids)), Entity.is_deleted == sa.false())
        .group_by(Entity.parent_id)
    )
    return {int(pid): int(n) for pid, n in session.execute(stmt)}


def has_children(session: Session, entity_id: int) -> bool:
    stmt = sa.select(Entity.id).where(Entity.parent_id == entity_id).limit(1)
    return session.scalar(stmt) is not None


def child_ids(session: Session, parent_ids: Sequence[int]) -> list[int]:
    stmt = sa.select(Entity.id).where(Entity.parent_id.in_(parent_ids), Entity.is_collection)
    return list(session.scalars(stmt))


def versions(session: Session, entity_id: int) -> list[EntityVersion]:
    stmt = (
        sa.select(EntityVersion)
        .where(EntityVersion.id == entity_id)
        .order_by(EntityVersion.transaction_id)
    )
    return list(session.scalars(stmt))


def version(session: Session, entity_id: int, number: int) -> EntityVersion | None:
    stmt = (
        sa.select(EntityVersion)
        .where(EntityVersion.id == entity_id)
        .order_by(EntityVersion.transaction_id)
        .offset(number - 1)
        .limit(1)
    )
    return session.scalars(stmt).first()


def version_count(session: Session, entity_id: int) -> int:
    stmt = sa.select(sa.func.count()).where(EntityVersion.id == entity_id)
    return int(session.scalar(stmt) or 0)


def sha_in_use(session: Session, sha256: str) -> bool:
    in_entities = sa.select(Entity.id).where(Entity.sha256 == sha256).limit(1)
    in_versions = sa.select(EntityVersion.id).where(EntityVersion.sha256 == sha256).limit(1)
    return session.scalar(in_entities) is not None or session.scalar(in_versions) is not None


def sha_is_current(session: Session, sha256: str) -> bool:
    """Whether some entity's current file (not an old version's) has this content."""
    stmt = sa.select(Entity.id).where(Entity.sha256 == sha256).limit(1)
    return session.scalar(stmt) is not None


def shas_of(session: Session, entity_ids: Sequence[int]) -> set[str]:
    current = sa.select(Entity.sha256).where(Entity.id.in_(entity_ids))
    old = sa.select(EntityVersion.sha256).where(EntityVersion.id.in_(entity_ids))
    stmt = sa.union(current, old)
    return {sha for sha in session.scalars(stmt) if sha}


def referenced_shas(session: Session) -> set[str]:
    stmt = sa.union(sa.select(Entity.sha256), sa.select(EntityVersion.sha256))
    return {sha for sha in session.scalars(stmt) if sha}


def hard_delete(session: Session, entity_ids: Sequence[int]) -> None:
    """Remove rows and their history with bulk statements (deliberately not versioned)."""
    session.execute(sa.delete(EntityVersion).where(EntityVersion.id.in_(entity_ids)))
    session.execute(sa.delete(Entity).where(Entity.id.in_(entity_ids)))


def hard_delete_all(session: Session) -> None:
    session.execute(sa.delete(EntityVersion))
    session.execute(sa.delete(Entity))


def version_counts(session: Session) -> dict[int, int]:
    stmt = sa.select(EntityVersion.id, sa.func.count()).group_by(EntityVersion.id)
    return {int(i): int(n) for i, n in session.execute(stmt)}


def all_entities(session: Session) -> list[Entity]:
    return list(session.scalars(sa.select(Entity).order_by(Entity.id)))


def media_file(session: Session, sha256: str) -> MediaFile | None:
    return session.get(MediaFile, sha256)


def delete_media_files(session: Session, shas: Iterable[str]) -> int:
    result = session.execute(sa.delete(MediaFile).where(MediaFile.sha256.in_(list(shas))))
    return int(getattr(result, "rowcount", 0) or 0)


def media_file_shas(session: Session) -> set[str]:
    return set(session.scalars(sa.select(MediaFile.sha256)))


def without_thumbhash(session: Session, after_id: int, limit: int) -> list[tuple[int, str]]:
    """(id, sha256) of media stored before placeholders existed, in id order after ``after_id``."""
    stmt = (
        sa.select(Entity.id, Entity.sha256)
        .where(Entity.id > after_id, Entity.thumbhash.is_(None), Entity.sha256.is_not(None))
        .order_by(Entity.id)
        .limit(limit)
    )
    return [(int(i), str(sha)) for i, sha in session.execute(stmt)]


def set_thumbhash(session: Session, entity_id: int, value: str) -> None:
    """A bulk UPDATE, deliberately not versioned: a derived placeholder is not a user's change."""
    stmt = sa.update(Entity).where(Entity.id == entity_id).values(thumbhash=value)
    session.execute(stmt.execution_options(synchronize_session=False))


def phashes(session: Session, exclude_deleted: bool = True) -> list[tuple[int, str]]:
    stmt = sa.select(Entity.id, Entity.phash).where(Entity.phash.is_not(None))
    if exclude_deleted:
        stmt = stmt.where(Entity.is_deleted == sa.false())
    return [(int(i), str(p)) for i, p in session.execute(stmt.order_by(Entity.id))]


def entities_by_ids(session: Session, ids: Sequence[int]) -> dict[int, Entity]:
    return {e.id: e for e in session.scalars(sa.select(Entity).where(Entity.id.in_(ids)))}


def changes_since(session: Session, since: int, limit: int) -> list[Change]:
    stmt = sa.select(Change).where(Change.cursor > since).order_by(Change.cursor).limit(limit)
    return list(session.scalars(stmt))


def config_value(session: Session, key: str) -> str | None:
    item = session.get(ConfigItem, key)
    return item.value if item else None


def set_config_value(session: Session, key: str, value: str) -> None:
    session.merge(ConfigItem(key=key, value=value))


def _timeline_conds(f: TimelineFilter) -> list[Any]:
    conds: list[Any] = [
        Entity.is_deleted == sa.true() if f.is_deleted else Entity.is_deleted == sa.false(),
        Entity.is_collection == sa.false(),
        Entity.create_date.is_not(None),
    ]
    if f.parent_id is not None:
        conds.append(Entity.parent_id == f.parent_id)
    if f.type is not None:
        conds.append(Entity.type == f.type.value)
    return conds


DAY_MS = 86_400_000


def _utc_day() -> Any:
    """Days since 1970-01-01 UTC of ``create_date``, floored (integer ``/`` truncates toward 0).

    Constants are inlined so SELECT and GROUP BY are the same expression to the database.
    """
    ms = Entity.create_date
    day, one, zero = (sa.literal_column(str(n), sa.BigInteger) for n in (DAY_MS, 1, 0))
    return sa.case((ms >= zero, ms // day), else_=(ms + one) // day - one)


def timeline_days(session: Session, f: TimelineFilter) -> list[tuple[int, int]]:
    """(UTC day number, count) of the timeline's media, newest first.

    Grouped by an integer expression over the covering ``ix_entities_timeline`` index: an
    index-only scan with no date function per row (months are summed from days by the caller).
    """
    day = _utc_day().label("day")
    stmt = sa.select(day, sa.func.count()).where(*_timeline_conds(f)).group_by(day)
    return sorted(((int(d), int(n)) for d, n in session.execute(stmt)), reverse=True)


TIMELINE_COLUMNS = (
    Entity.id, Entity.create_date, Entity.width, Entity.height, Entity.type, Entity.mime_type,
    Entity.duration, Entity.label, Entity.original_filename, Entity.thumbhash, Entity.sha256,
    Entity.is_deleted,
)  # fmt: skip


def timeline_items(
    session: Session, f: TimelineFilter, start_ms: int, end_ms: int
) -> list[sa.Row[Any]]:
    """The media captured in [start_ms, end_ms), newest first: plain rows, no ORM objects."""
    stmt = (
        sa.select(*TIMELINE_COLUMNS)
        .where(*_timeline_conds(f), Entity.create_date >= start_ms, Entity.create_date < end_ms)
        .order_by(Entity.create_date.desc(), Entity.id.desc())
    )
    return list(session.execute(stmt))
