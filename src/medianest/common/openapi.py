"""Exact OpenAPI documents: every status a route can answer is declared, with its body.

Two mechanisms, so that a new route is documented correctly by default:

* **Systematic statuses come from the dependencies.** A dependency that can refuse a request is
  marked with :func:`raises` (``@raises(401)`` on the token check, ``@raises(503)`` on the DB
  session, ...). :func:`install_openapi` walks each route's dependency tree when the document is
  built and declares every status its dependencies mark. Routes with any parameter or body get
  422; all error statuses get the one :class:`~medianest.contracts.ErrorBody` schema.
* **Route-specific statuses are declared where the route is**: ``responses=errors(404, 409)``.

Statuses a route declares itself (``responses=``) always win over the systematic ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar, cast

from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from medianest.contracts.errors import ErrorBody

F = TypeVar("F", bound=Callable[..., Any])
ERROR_REF = "#/components/schemas/ErrorBody"
_MARK = "__medianest_raises__"

DESCRIPTIONS: dict[int, str] = {
    400: "bad request",
    401: "not authenticated (missing, expired or invalid token)",
    403: "not allowed (missing permission)",
    404: "not found",
    409: "conflict with the current state",
    413: "payload too large",
    415: "unsupported media type",
    422: "invalid input",
    429: "too many attempts; retry after Retry-After seconds",
    503: "a dependency is unavailable; retry after Retry-After seconds",
    507: "not enough storage",
}
_RETRY_AFTER = {
    "Retry-After": {"description": "seconds to wait before retrying", "schema": {"type": "integer"}}
}
HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}},
    429: _RETRY_AFTER,
    503: _RETRY_AFTER,
}


def raises(*statuses: int) -> Callable[[F], F]:
    """Mark a dependency as able to answer ``statuses``: routes using it declare them."""

    def mark(fn: F) -> F:
        setattr(fn, _MARK, frozenset(statuses) | getattr(fn, _MARK, frozenset()))
        return fn

    return mark


def error_response(status: int, description: str | None = None) -> dict[str, Any]:
    """One error response object (OpenAPI), its body the shared ``ErrorBody``."""
    response: dict[str, Any] = {
        "description": description or DESCRIPTIONS.get(status, "error"),
        "content": {"application/json": {"schema": {"$ref": ERROR_REF}}},
    }
    if status in HEADERS:
        response["headers"] = HEADERS[status]
    return response


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=errors(404, 409)``: the route-specific error statuses of one route."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        response = error_response(status)
        response["model"] = ErrorBody
        del response["content"]
        out[status] = response
    return out


def link(operation_ref: str, description: str, **parameters: str) -> dict[str, Any]:
    """An OpenAPI link to the operation at ``operation_ref`` (``#/paths/...``)."""
    return {"operationRef": operation_ref, "description": description, "parameters": parameters}


def path_ref(path: str, method: str = "get") -> str:
    return "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _dependants(sub)


def api_routes(app: FastAPI) -> Iterator[APIRoute]:
    """Every API route with its effective path (routers included with prefixes flattened)."""
    iterate = getattr(routing, "iter_route_contexts", None)
    for route in iterate(app.routes) if iterate else app.routes:
        if isinstance(getattr(route, "original_route", route), APIRoute):
            yield cast(APIRoute, route)  # a RouteContext proxies the APIRoute's attributes


def route_statuses(route: APIRoute) -> set[int]:
    """The statuses the dependencies of ``route`` mark, plus 422 if it takes any input."""
    found: set[int] = set()
    takes_input = False
    for dep in _dependants(route.dependant):
        found |= getattr(dep.call, _MARK, frozenset())
        if dep.path_params or dep.query_params or dep.header_params or dep.cookie_params:
            takes_input = True
        if dep.body_params:
            takes_input = True
    if takes_input or route.body_field is not None:
        found.add(422)
    return found


def document(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document with every systematic status declared."""
    schema = get_openapi(
        title=app.title,
        version=app.version,
        openapi_version=app.openapi_version,
        description=app.description,
        routes=app.routes,
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name, definition in (
        ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
        .pop("$defs", {})
        .items()
    ):
        components.setdefault(name, definition)
    components["ErrorBody"] = ErrorBody.model_json_schema(
        ref_template="#/components/schemas/{model}"
    )
    components["ErrorBody"].pop("$defs", None)
    for route in api_routes(app):
        if not route.include_in_schema:
            continue
        statuses = route_statuses(route)
        for method in route.methods or ():
            operation = schema["paths"][route.path_format].get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for status in sorted(statuses):
                responses.setdefault(str(status), error_response(status))
            for status, response in responses.items():
                if status == "422":
                    responses[status] = {**error_response(422), **_keep(response)}
                if status.isdigit() and int(status) >= 400:
                    # an error a route described without a body schema: the body is ErrorBody
                    content = responses[status].setdefault("content", {})
                    body = content.setdefault("application/json", {})
                    body.setdefault("schema", {"$ref": ERROR_REF})
    # FastAPI's own validation schemas are replaced by ErrorBody everywhere.
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    return schema


def _keep(response: dict[str, Any]) -> dict[str, Any]:
    """What of a 422 response a route declared besides FastAPI's validation body."""
    content = response.get("content", {}).get("application/json", {}).get("schema", {})
    if content.get("$ref", "").endswith("/HTTPValidationError"):
        return {k: v for k, v in response.items() if k not in ("content", "description")}
    return {k: v for k, v in response.items() if k != "description"}


def install_openapi(app: FastAPI) -> None:
    """Serve :func:`document` as the app's ``/openapi.json`` (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
