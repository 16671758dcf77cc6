"""Alembic environment of the media store (its tables only)."""

from medianest.common.alembic_env import run_env
from medianest.media_store.models import Base

run_env(Base.metadata)
