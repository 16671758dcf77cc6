"""Alembic environment of the authentication service."""

from medianest.authentication.models import Base
from medianest.common.alembic_env import run_env

run_env(Base.metadata)
