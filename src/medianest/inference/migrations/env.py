"""Alembic environment of the inference service."""

from medianest.common.alembic_env import run_env
from medianest.inference.models import Base

run_env(Base.metadata)
