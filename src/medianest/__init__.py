"""MediaNest: a self-hosted media library backend."""

__version__ = "0.1.0"
