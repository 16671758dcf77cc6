"""The web timeline: months with their counts, then one month's media as parallel arrays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from medianest.media_store import repository as repo
from medianest.media_store.schemas import (
    EPOCH_MS_MAX,
    BucketItems,
    BucketQuery,
    TimelineBucket,
    TimelineBuckets,
    TimelineFilter,
    content_token,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def buckets(session: Session, f: TimelineFilter) -> TimelineBuckets:
    counts: dict[str, int] = {}
    for day, count in repo.timeline_days(session, f):  # newest first, so months come out so too
        month = _month_of(day)
        counts[month] = counts.get(month, 0) + count
    months = [TimelineBucket(month=m, count=n) for m, n in counts.items()]
    return TimelineBuckets(total=sum(counts.values()), buckets=months)


def _month_of(day: int) -> str:
    moment = EPOCH + timedelta(days=day)
    return f"{moment.year:04d}-{moment.month:02d}"


def month_range(month: str) -> tuple[int, int]:
    """[start, end) of a ``YYYY-MM`` month in UTC epoch ms."""
    year, number = (int(part) for part in month.split("-"))
    start = datetime(year, number, 1, tzinfo=UTC)
    if (year, number) == (9999, 12):
        return _ms(start), EPOCH_MS_MAX + 1
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)
    return _ms(start), _ms(end)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp()) * 1000


def bucket(session: Session, q: BucketQuery) -> BucketItems:
    start, end = month_range(q.month)
    rows = repo.timeline_items(session, q, start, end)
    return BucketItems(
        month=q.month,
        count=len(rows),
        ids=[r.id for r in rows],
        create_date=[r.create_date for r in rows],
        width=[r.width for r in rows],
        height=[r.height for r in rows],
        type=[r.type for r in rows],
        mime_type=[r.mime_type for r in rows],
        duration=[r.duration for r in rows],
        label=[r.label for r in rows],
        original_filename=[r.original_filename for r in rows],
        thumbhash=[r.thumbhash for r in rows],
        token=[content_token(r.sha256) for r in rows],
        is_deleted=[bool(r.is_deleted) for r in rows],
    )
