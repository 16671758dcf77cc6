"""The authentication service: users, permissions, refresh tokens and the signing key pair."""
