"""What the ML tasks leave behind: faces and labels in the database, vectors in the vector store.

API side only (sinks, validation); search is in :mod:`medianest.inference.service.search`,
the worker-side handlers in :mod:`medianest.inference.ml`.
"""
