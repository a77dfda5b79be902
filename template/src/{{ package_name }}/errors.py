"""Error responses that never leak a stack trace."""

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError

log = structlog.get_logger(__name__)

# Raised when the database cannot be reached; the pool reconnects once it is back.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError, ConnectionError, TimeoutError)


async def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("database unavailable", error=repr(exc))
    return JSONResponse({"detail": "Database unavailable, try again later"}, status_code=503)


async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return JSONResponse({"detail": "Internal server error"}, status_code=500)


def add_exception_handlers(app: FastAPI) -> None:
    for error in DATABASE_UNAVAILABLE:
        app.add_exception_handler(error, database_unavailable)
    app.add_exception_handler(Exception, unexpected_error)
