"""HTTP endpoints of the authentication service."""

from medianest.authentication.routes import auth, meta, users

routers = [meta.router, auth.router, users.router]
