"""Request and response bodies of the inference API.

The classes live in ``medianest.contracts.inference``; this module keeps the old import path.
"""

from medianest.contracts.inference import *  # noqa: F403
