"""Response bodies of the search and analysis endpoints.

The classes live in ``medianest.contracts.search``; this module keeps the old import path.
"""

from medianest.contracts.search import *  # noqa: F403
