"""The one error body of every MediaNest service: ``{"detail": ...}``."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ValidationErrorItem(BaseModel):
    """One refused input: where (``loc``), why (``msg``) and the kind of check (``type``)."""

    type: str
    loc: list[str | int]
    msg: str


class ErrorBody(BaseModel):
    """Every 4xx/5xx answer: a sentence, or (request validation) the list of refused inputs."""

    detail: str | list[ValidationErrorItem] = Field(
        description="what went wrong: a sentence, or one item per refused input"
    )
