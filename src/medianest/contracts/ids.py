"""Identifier ranges shared by every service and client (the store's ids are 32-bit)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

MAX_ID = 2**31 - 1  # media store entity ids, user ids, version numbers: INTEGER columns
MAX_CURSOR = 2**63 - 1  # change-feed cursors: BIGINT

StoreId = Annotated[int, Field(ge=1, le=MAX_ID)]
"""An id the media store hands out (entities, users): 1..2**31-1."""
