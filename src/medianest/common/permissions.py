"""Every permission string MediaNest knows.

The classes live in ``medianest.contracts.permissions``; this module keeps the old import path.
"""

from medianest.contracts.permissions import *  # noqa: F403
