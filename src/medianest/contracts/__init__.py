"""The wire models: every body that crosses a process boundary, typed once.

Pydantic only (no SQLAlchemy, FastAPI or Starlette; tests/common/test_boundaries.py checks it), so
the SDK, the workers and the services share these classes and a client install needs nothing else.
"""

from medianest.contracts.errors import ErrorBody, ValidationErrorItem

__all__ = ["ErrorBody", "ValidationErrorItem"]
