"""MediaNest Python SDK (``MediaNestClient``, ``AsyncMediaNestClient``) and the user CLI.

Both clients talk HTTP only, to all three services (URLs from the arguments, else
``MEDIANEST_AUTH_URL`` / ``MEDIANEST_MEDIA_STORE_URL`` / ``MEDIANEST_INFERENCE_URL``, else
127.0.0.1:8002/8000/8001), with automatic token refresh, typed errors, retries for idempotent
calls, and streaming uploads and downloads::

    from medianest.client import MediaNestClient, NotFound

    with MediaNestClient() as mn:
        mn.login("alice", "secret")              # refreshes itself before expiry and on a 401
        album = mn.create_collection("Holidays")
        result = mn.upload("beach.jpg", parent_id=album.id)
        print(result.entity.id, "new" if result.created else "already stored")
        for entity in mn.iter_entities(parent_id=album.id):
            mn.download(entity.id, "out/")        # streamed; a folder keeps the file name
        job = mn.create_job("face_embedding", result.entity.id)
        for event in mn.job_events(job_id=job.job_id):   # Server-Sent Events as dicts
            if event.get("event") in ("completed", "failed", "cancelled"):
                break

``MediaNestClient.from_saved_session()`` reuses the session of ``medianest login``. Errors are
:class:`MediaNestError` subclasses carrying ``status_code`` and the server's ``detail``.
"""

from medianest.client._base import RetryPolicy
from medianest.client.async_ import AsyncMediaNestClient
from medianest.client.config import ServiceUrls, Tokens
from medianest.client.errors import (
    BadRequest,
    Conflict,
    ConnectionFailed,
    Forbidden,
    MediaNestError,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServerError,
    Unauthorized,
    UnsupportedMedia,
    ValidationError,
)
from medianest.client.sync import MediaNestClient

__all__ = [
    "AsyncMediaNestClient",
    "BadRequest",
    "Conflict",
    "ConnectionFailed",
    "Forbidden",
    "MediaNestClient",
    "MediaNestError",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "RetryPolicy",
    "ServerError",
    "ServiceUrls",
    "Tokens",
    "Unauthorized",
    "UnsupportedMedia",
    "ValidationError",
]
