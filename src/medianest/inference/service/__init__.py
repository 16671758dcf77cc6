"""Business rules of the inference service (no FastAPI imports, never commits)."""
