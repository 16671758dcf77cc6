"""What the ML tasks leave behind: faces and labels in the database, vectors in the vector store.

API side only (sinks, search); the worker-side handlers live in :mod:`medianest.inference.models`.
"""
