"""Endpoint builders: one function per endpoint, returning a :class:`~medianest.client._base.Call`.

Both clients send the same calls, so the API surface is written once here.
"""
