"""The seed's pagination shape.

The classes live in ``medianest.contracts.pages``; this module keeps the old import path.
"""

from medianest.contracts.pages import *  # noqa: F403
