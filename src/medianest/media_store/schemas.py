"""Request and response bodies of the media store API.

The classes live in ``medianest.contracts.store``; this module keeps the old import path.
"""

from medianest.contracts.store import *  # noqa: F403
