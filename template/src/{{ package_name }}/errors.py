"""Error responses: bounded, never echoing the input, never leaking a stack trace.

Unexpected errors become a 500 in the request middleware, which logs each one once.
"""

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.routing import compile_path

from .metrics import DB_POOL_TIMEOUTS

log = structlog.get_logger(__name__)

Responses = dict[int | str, dict[str, Any]]

# Raised when the database cannot be used right now; the pool reconnects once it is back.
DATABASE_UNAVAILABLE = (DBAPIError, PoolTimeout, ConnectionError, TimeoutError)
# SQLSTATE classes of a server that cannot serve us: connection failure (08), rejected
# credentials or unknown role (28), missing database (3D), too many connections (53),
# shutting down (57P).
_UNAVAILABLE_SQLSTATES = ("08", "28", "3D", "53", "57P")

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"})

# A hostile body can fail validation in thousands of places; a few say what is wrong.
MAX_ERRORS = 10
MAX_TEXT = 100

# What a route can answer before its own code runs, for its OpenAPI `responses`.
BODY_ERRORS: Responses = {
    400: {"description": "The body could not be decoded (for example, it is not UTF-8)"},
    413: {"description": "The body is larger than MAX_BODY_BYTES"},
}
UNAVAILABLE: Responses = {503: {"description": "A service it needs is down; try again later"}}


def is_outage(exc: Exception) -> bool:
    if not isinstance(exc, DBAPIError) or isinstance(exc, OperationalError | InterfaceError):
        return True
    return _sqlstate(exc).startswith(_UNAVAILABLE_SQLSTATES)


def _sqlstate(exc: Exception) -> str:
    sqlstate: str = getattr(getattr(exc, "orig", None), "sqlstate", None) or ""
    return sqlstate


def without_driver_detail(exc: BaseException) -> BaseException:
    """The error as it may be logged.

    A database error loses the driver's exception it was raised from: that one's message can
    quote the failing row (PostgreSQL's DETAIL). The statement stays; its parameters are
    hidden by the engine (`hide_parameters`).
    """
    if isinstance(exc, DBAPIError):
        exc.__cause__ = None
        exc.__suppress_context__ = True
    return exc


async def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    if not is_outage(exc):
        # A failing statement is a bug, not an outage: the middleware answers 500.
        raise exc
    if isinstance(exc, PoolTimeout):
        DB_POOL_TIMEOUTS.inc()
    log.warning("database unavailable", error=type(exc).__name__, sqlstate=_sqlstate(exc))
    return JSONResponse({"detail": "Database unavailable, try again later"}, status_code=503)


async def invalid_request(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # `input` and `ctx` would echo the request back, however large or sensitive it is.
    errors = [
        {
            "type": error["type"],
            "loc": [_clip(part) for part in error["loc"]],
            "msg": _clip(error["msg"]),
        }
        for error in exc.errors()[:MAX_ERRORS]
    ]
    return JSONResponse({"detail": errors}, status_code=422)


def _clip(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_TEXT:
        return value[:MAX_TEXT] + "…"
    return value


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        # The path's first route answers, listing only its own methods; a path's methods are
        # spread over several routes.
        exc.headers = {"Allow": ", ".join(allowed_methods(request))}
    return await http_exception_handler(request, exc)


def allowed_methods(request: Request) -> list[str]:
    """The methods the OpenAPI document gives the request's path (HEAD with GET)."""
    for template, operations in request.app.openapi()["paths"].items():
        if compile_path(template)[0].match(request.scope["path"]):
            methods = {method.upper() for method in operations} & HTTP_METHODS
            return sorted(methods | ({"HEAD"} if "GET" in methods else set()))
    return []


def add_exception_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(HTTPException, http_error)
    for error in DATABASE_UNAVAILABLE:
        app.add_exception_handler(error, database_unavailable)
