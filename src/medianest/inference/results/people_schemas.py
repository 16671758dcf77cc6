"""Request and response bodies of the people endpoints.

The classes live in ``medianest.contracts.people``; this module keeps the old import path.
"""

from medianest.contracts.people import *  # noqa: F403
