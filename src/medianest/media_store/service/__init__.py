"""Business rules of the media store (no FastAPI imports, never commits)."""
