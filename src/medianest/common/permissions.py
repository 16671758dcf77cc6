"""Permission strings: the known ones and the rules.

The definitions live in ``medianest.contracts.permissions``; this module keeps the old import path.
"""

from medianest.contracts.permissions import *  # noqa: F403
