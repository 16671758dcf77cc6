"""Media store service."""
