"""One JSON error shape for every failure: {"error": {"code": "stable_code", "message": "..."}}.

Codes are stable (clients switch on them); messages say what to do and never carry patient data.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from casewise.errors import (
    CasewiseError,
    ConfigError,
    IndexUnavailableError,
    InputFileError,
    LLMError,
    NothingIndexedError,
    RequestError,
)

log = logging.getLogger(__name__)


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    """What every non-2xx response carries."""

    error: ErrorBody


class ApiError(Exception):
    """An error with an HTTP status and a stable code."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def error_json(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
               406: "not_acceptable", 413: "too_large", 415: "unsupported_media_type", 422: "invalid_request",
               429: "rate_limited"}


def status_for(exc: CasewiseError) -> tuple[int, str]:
    """Map a domain exception to (HTTP status, stable code)."""
    if isinstance(exc, RequestError):
        return 422, "invalid_request"
    if isinstance(exc, InputFileError):
        return 422, "invalid_file"
    if isinstance(exc, IndexUnavailableError):
        return 503, "index_unavailable"
    if isinstance(exc, NothingIndexedError):
        return 409, "nothing_indexed"
    if isinstance(exc, LLMError):
        return 502, "llm_error"
    if isinstance(exc, ConfigError):
        return 500, "configuration_error"
    return 500, "internal_error"


def error_payload(exc: BaseException) -> tuple[int, dict[str, Any]]:
    """(status, body) for any exception; used by handlers and by streams that fail after the headers were sent."""
    if isinstance(exc, ApiError):
        return exc.status, {"error": {"code": exc.code, "message": exc.message}}
    if isinstance(exc, CasewiseError):
        status, code = status_for(exc)
        return status, {"error": {"code": code, "message": str(exc)}}
    # Unknown failures: the type only, never the message (it may quote data).
    log.error("internal error: %s", type(exc).__name__)
    return 500, {"error": {"code": "internal_error", "message": "internal error; see the server log"}}


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that turn every failure into the JSON error shape."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_json(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(CasewiseError)
    async def _domain_error(_: Request, exc: CasewiseError) -> JSONResponse:
        status, body = error_payload(exc)
        return JSONResponse(body, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for err in exc.errors()[:5]:
            loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header"))
            problems.append(f"{loc or 'body'}: {err.get('msg', 'invalid')}")
        return error_json(422, "invalid_request", "; ".join(problems) or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        message = exc.detail if isinstance(exc.detail, str) else code
        if exc.status_code == 404 and message == "Not Found":
            message = "no such route"
        return error_json(exc.status_code, code, message, getattr(exc, "headers", None))


#: OpenAPI description of the error responses every protected route can give.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "the body is not valid JSON"},
    401: {"model": ErrorResponse, "description": "no or unknown API key"},
    403: {"model": ErrorResponse, "description": "the key's role may not do this"},
    413: {"model": ErrorResponse, "description": "request body too large"},
    422: {"model": ErrorResponse, "description": "invalid request (the field is named)"},
    429: {"model": ErrorResponse, "description": "rate limit of this key exceeded"},
}

#: Further errors of the routes that search the index and may call the language model.
CLINICAL_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "no such case (or model)"},
    502: {"model": ErrorResponse, "description": "the language model failed (llm_error)"},
    503: {"model": ErrorResponse, "description": "the index is unavailable (index_unavailable)"},
}
