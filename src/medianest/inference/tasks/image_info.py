"""``image_info``: a real, cheap stand-in task (decode the preview, EXIF-orient, measure it)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from PIL import Image, ImageOps, ImageStat, UnidentifiedImageError

from medianest.inference.tasks.base import (
    BadInputError,
    InvalidResult,
    JsonResultSink,
    TaskContext,
    TaskJob,
    TaskOutcome,
    TaskType,
    run_per_job,
)
from medianest.inference.tasks.registry import register_task

NAME = "image_info"


def describe_image(data: bytes) -> dict[str, Any]:
    """Width/height as displayed (EXIF orientation applied), mode and mean RGB colour."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            oriented = ImageOps.exif_transpose(img)
            rgb = oriented.convert("RGB")
            mean = [round(v, 2) for v in ImageStat.Stat(rgb).mean]
            return {
                "width": oriented.width,
                "height": oriented.height,
                "mode": img.mode,
                "format": img.format,
                "mean_color": mean,
            }
    except (UnidentifiedImageError, Image.DecompressionBombError, SyntaxError, ValueError) as exc:
        raise BadInputError(f"cannot decode image: {exc}") from exc
    except OSError as exc:
        raise BadInputError(f"cannot decode image: {exc}") from exc


def handle(jobs: Sequence[TaskJob], ctx: TaskContext) -> list[TaskOutcome]:
    def one(job: TaskJob) -> dict[str, Any]:
        info = describe_image(ctx.media.preview(job.media_store_id))
        return {**info, "source": "preview"}

    return run_per_job(jobs, one)


def validate(result: dict[str, Any]) -> None:
    for key in ("width", "height"):
        value = result.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise InvalidResult(f"image_info result: {key} must be a positive integer")
    if not isinstance(result.get("mode"), str):
        raise InvalidResult("image_info result: mode must be a string")
    mean = result.get("mean_color")
    if not (isinstance(mean, list) and len(mean) == 3):
        raise InvalidResult("image_info result: mean_color must be 3 numbers")
    if not all(isinstance(v, int | float) and 0 <= v <= 255 for v in mean):
        raise InvalidResult("image_info result: mean_color values must be in 0..255")


register_task(
    TaskType(
        name=NAME,
        handler=handle,
        sink=JsonResultSink(validate),
        description="Decode the image; width, height, mode and mean colour (stand-in task).",
        media_types=frozenset({"image"}),
    )
)
