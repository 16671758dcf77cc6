"""Shared building blocks.

Imports no service package (checked by tests/common/test_boundaries.py).
"""
