"""HTTP endpoints of the authentication service."""

from medianest.authentication.routes import apikeys, auth, meta, users

# apikeys before users: /users/me/api-keys must not be taken for /users/{user_id}/...
routers = [meta.router, auth.router, apikeys.router, users.router]
