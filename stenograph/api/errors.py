"""One place that turns Stenograph's exceptions into HTTP answers ``{"detail": {"code", "message"}}``.

No answer echoes a long input back: the messages quote inputs through :func:`stenograph.errors.echo` (at
most :data:`~stenograph.errors.MAX_ECHO_CHARS` characters of each, and its length), a validation error
names no field path over that length, and a message over :data:`MAX_MESSAGE_CHARS` is cut whatever made it.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from stenograph.errors import (
    ConfigurationError,
    MediaError,
    NotFoundError,
    StenographError,
    TransitionError,
    cut_text,
)
from stenograph.service import ServiceError

log = logging.getLogger("stenograph.api")


class APIError(StenographError):
    """An error with its HTTP status, raised by routes."""

    def __init__(self, status_code: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.extra = extra


#: The HTTP status of each kind of refusal of the service.
SERVICE_STATUS = {"invalid": 422, "unsupported_media": 415, "conflict": 409, "not_found": 404}


#: The longest message an error answer carries, in characters (a backstop: inputs are quoted cut already).
MAX_MESSAGE_CHARS = 2000


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    """``{"detail": {"code", "message", **extra}}``, the message cut to :data:`MAX_MESSAGE_CHARS`."""
    if len(message) > MAX_MESSAGE_CHARS:
        message = f"{message[:MAX_MESSAGE_CHARS]}… (the message was cut: {len(message):,} characters)"
    return {"detail": {"code": code, "message": message, **extra}}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(APIError)
    async def _api_error(_request: Request, exc: APIError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, str(exc), **exc.extra), status_code=exc.status_code)

    @app.exception_handler(ServiceError)
    async def _refused(_request: Request, exc: ServiceError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, str(exc), **exc.extra), status_code=SERVICE_STATUS[exc.kind])

    @app.exception_handler(NotFoundError)
    async def _not_found(_request: Request, exc: NotFoundError) -> JSONResponse:
        return JSONResponse(error_body("not_found", str(exc)), status_code=404)

    @app.exception_handler(TransitionError)
    async def _transition(_request: Request, exc: TransitionError) -> JSONResponse:
        return JSONResponse(error_body("illegal_transition", str(exc), status=exc.status), status_code=409)

    @app.exception_handler(MediaError)
    async def _media(_request: Request, exc: MediaError) -> JSONResponse:
        status = 422 if exc.kind in ("empty_file", "damaged") else 415
        return JSONResponse(error_body(exc.kind, str(exc)), status_code=status)

    @app.exception_handler(ConfigurationError)
    async def _config(_request: Request, exc: ConfigurationError) -> JSONResponse:
        return JSONResponse(error_body("configuration_error", str(exc)), status_code=400)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        message = f"unexpected server error ({type(exc).__name__}); the server log has the details"
        return JSONResponse(error_body("internal_error", message), status_code=500)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for err in exc.errors():
            if err.get("type") == "json_invalid":
                parts.append(f"the request body is not valid JSON ({err.get('ctx', {}).get('error', 'decode error')})")
                continue
            where = cut_text(".".join(str(p) for p in err.get("loc", ()) if p != "body"))
            parts.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
        return JSONResponse(error_body("invalid_request", "; ".join(parts)), status_code=422)
