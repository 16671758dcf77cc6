"""Request and response bodies of the authentication service.

The classes live in ``medianest.contracts.auth``; this module keeps the old import path.
"""

from medianest.contracts.auth import *  # noqa: F403
