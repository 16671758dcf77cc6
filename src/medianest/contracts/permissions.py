"""Permission strings: the known ones (documented at GET /auth/permissions) and the rules.

As in the seed, any well-formed name can be granted (letters, digits, ``_``, ``.``, ``:``; up to
64 characters), so a deployment can add its own (``photos:share``, ``app.export``) without a code
change, and ``*`` grants every permission. ``*`` does not make anyone an administrator: the
admin-only routes check ``is_admin``, which no permission string grants.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum

WILDCARD = "*"
PERMISSION_PATTERN = r"^(\*|[A-Za-z0-9_.:]{1,64})$"
_PERMISSION_RE = re.compile(PERMISSION_PATTERN)


class Permission(StrEnum):
    MEDIA_STORE_READ = "media_store_read"
    MEDIA_STORE_WRITE = "media_store_write"
    AI_INFERENCE_SUPPORT = "ai_inference_support"
    AI_INFERENCE_WORKER = "ai_inference_worker"


DESCRIPTIONS: dict[Permission, str] = {
    Permission.MEDIA_STORE_READ: "Read entities, files and metadata when read-auth is on.",
    Permission.MEDIA_STORE_WRITE: "Upload, change, trash and delete entities in the media store.",
    Permission.AI_INFERENCE_SUPPORT: "Queue, inspect and cancel inference jobs; use search.",
    Permission.AI_INFERENCE_WORKER: "Claim and report inference jobs (worker processes only).",
}
WILDCARD_DESCRIPTION = "Every permission (not administration: that is the is_admin flag)."


def is_well_formed(name: str) -> bool:
    """True for ``*`` and for names of letters, digits, ``_``, ``.`` and ``:`` (1-64 chars)."""
    return _PERMISSION_RE.fullmatch(name) is not None


def check_names(names: Iterable[str]) -> list[str]:
    """The names, sorted and unique; ValueError naming the first malformed one."""
    out = set()
    for name in names:
        if not isinstance(name, str) or not is_well_formed(name):
            raise ValueError(f"malformed permission name: {name!r}")
        out.add(name)
    return sorted(out)


def grants(held: Iterable[str], wanted: str) -> bool:
    """Whether a holder of ``held`` has ``wanted`` (``*`` holds them all)."""
    held = set(held)
    return WILDCARD in held or wanted in held


def intersect(first: Iterable[str], second: Iterable[str]) -> list[str]:
    """The permissions held under both sets, ``*`` standing for every name."""
    a, b = set(first), set(second)
    if WILDCARD in a:
        return sorted(b)
    if WILDCARD in b:
        return sorted(a)
    return sorted(a & b)


__all__ = [
    "DESCRIPTIONS",
    "PERMISSION_PATTERN",
    "WILDCARD",
    "WILDCARD_DESCRIPTION",
    "Permission",
    "check_names",
    "grants",
    "intersect",
    "is_well_formed",
]
