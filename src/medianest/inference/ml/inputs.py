"""What a worker-side handler analyses: the store's preview, decoded, plus the original's size.

The store's preview (~1440 px JPEG) is already EXIF-oriented; for a video it is the poster
frame. Models run on it, and coordinates are scaled back to the original image as displayed,
using the entity's ``width``/``height`` when the media source can tell them (the worker's store
client can; a bare preview source cannot, and then preview pixels are reported as they are).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from medianest.contracts.store import EntityRead
from medianest.inference.ml.base import InvalidImageError, RGBImage, load_image
from medianest.inference.tasks import BadInputError, TaskContext, TaskJob, TaskOutcome

FETCH_THREADS = 4


class JobCancelled(Exception):
    """The job was cancelled while in hand; the worker reports it as cancelled anyway."""


@dataclass(frozen=True)
class MediaInput:
    image: RGBImage
    """The preview as decoded (RGB, EXIF applied)."""
    width: int
    height: int
    """Size of the original as displayed (the preview's own size when unknown)."""
    media_type: str

    @property
    def source(self) -> str:
        return "poster_frame" if self.media_type == "video" else "preview"

    @property
    def scale(self) -> tuple[float, float]:
        """Factors from preview pixels to original pixels (x, y)."""
        return self.width / self.image.shape[1], self.height / self.image.shape[0]

    def describe(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "media_type": self.media_type,
            "image": {"width": self.width, "height": self.height},
            "analysed": {"width": int(self.image.shape[1]), "height": int(self.image.shape[0])},
        }


class PreviewCache:
    """The last few decoded previews of this process, keyed by media id AND content md5.

    The pipeline queues two tasks per upload and a worker often claims both in one batch: the
    second one then reuses the decoded preview instead of fetching and decoding it again. The
    entity (with its md5) is still fetched every time, so new content is never served stale.
    """

    def __init__(self, size: int = 16, ttl_s: float = 120.0) -> None:
        self._size, self._ttl = size, ttl_s
        self._items: OrderedDict[tuple[int, str], tuple[float, RGBImage]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, media_store_id: int, md5: str) -> RGBImage | None:
        with self._lock:
            item = self._items.get((media_store_id, md5))
            if item is None or time.monotonic() - item[0] > self._ttl:
                return None
            self._items.move_to_end((media_store_id, md5))
            return item[1]

    def put(self, media_store_id: int, md5: str, image: RGBImage) -> None:
        with self._lock:
            self._items[(media_store_id, md5)] = (time.monotonic(), image)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


def fetch_input(job: TaskJob, ctx: TaskContext, cache: PreviewCache | None = None) -> MediaInput:
    if ctx.is_cancelled(job.job_id):
        raise JobCancelled("cancelled")
    entity = _entity(ctx, job.media_store_id)
    md5 = entity.md5 or "" if entity else ""
    image = cache.get(job.media_store_id, md5) if cache is not None and md5 else None
    if image is None:
        image = _decode(job.media_store_id, ctx.media.preview(job.media_store_id))
        if cache is not None and md5:
            cache.put(job.media_store_id, md5, image)
    width, height = _size(entity, image)
    media_type = entity.type or "image" if entity else "image"
    return MediaInput(image=image, width=width, height=height, media_type=media_type)


def _decode(media_store_id: int, data: bytes) -> RGBImage:
    try:
        image = load_image(data)
    except InvalidImageError as exc:
        raise BadInputError(f"media {media_store_id}: {exc.detail}") from exc
    image.flags.writeable = False  # shared between tasks through the cache
    return image


def _entity(ctx: TaskContext, media_store_id: int) -> EntityRead | None:
    lookup: Callable[[int], EntityRead | None] | None = getattr(ctx.media, "entity", None)
    if lookup is None:
        return None
    entity = lookup(media_store_id)
    if entity is None:
        raise BadInputError(f"media {media_store_id} not found in the store")
    return entity


def _size(entity: EntityRead | None, image: RGBImage) -> tuple[int, int]:
    height, width = int(image.shape[0]), int(image.shape[1])
    if not entity:
        return width, height
    w, h = entity.width, entity.height
    if isinstance(w, int) and isinstance(h, int) and w > 0 and h > 0:
        return w, h
    return width, height


def fetch_all(
    jobs: Sequence[TaskJob], ctx: TaskContext, cache: PreviewCache | None = None
) -> list[MediaInput | BaseException]:
    """Fetch and decode every job's input concurrently (I/O bound); errors kept per job."""

    def one(job: TaskJob) -> MediaInput | BaseException:
        try:
            return fetch_input(job, ctx, cache)
        except Exception as exc:
            return exc

    if len(jobs) == 1:
        return [one(jobs[0])]
    with ThreadPoolExecutor(min(FETCH_THREADS, len(jobs)), thread_name_prefix="fetch") as pool:
        return list(pool.map(one, jobs))


def per_input(
    inputs: Sequence[MediaInput | BaseException], fn: Callable[[MediaInput], dict[str, Any]]
) -> list[TaskOutcome]:
    """Run ``fn`` on each fetched input; fetch errors and ``fn`` errors stay per job."""
    outcomes: list[TaskOutcome] = []
    for item in inputs:
        if isinstance(item, BaseException):
            outcomes.append(item)
            continue
        try:
            outcomes.append(fn(item))
        except Exception as exc:
            outcomes.append(exc)
    return outcomes
