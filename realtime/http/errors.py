"""One JSON shape for every HTTP error: ``{"error": CODE, "detail": TEXT}``."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from realtime.protocol.client import describe_validation_error
from realtime.protocol.errors import ErrorCode, ProtocolError

STATUS_OF: dict[ErrorCode, int] = {
    ErrorCode.INVALID_JSON: 400,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.BACKEND_UNAVAILABLE: 503,
    ErrorCode.INTERNAL: 500,
}

_CODE_OF_STATUS = {404: "not_found", 405: "method_not_allowed"}


def error_response(code: str, detail: str, status: int) -> JSONResponse:
    return JSONResponse({"error": code, "detail": detail}, status_code=status)


def protocol_error_response(error: ProtocolError) -> JSONResponse:
    return error_response(error.code, error.detail, STATUS_OF.get(error.code, 422))


def install_error_handlers(app: FastAPI) -> None:
    async def on_http_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, HTTPException)
        code = _CODE_OF_STATUS.get(error.status_code, "http_error")
        return error_response(code, str(error.detail), error.status_code)

    async def on_validation_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        detail = "; ".join(
            f"{'.'.join(str(p) for p in item['loc'])}: {item['msg']}"
            for item in error.errors()[:3]
        )
        return error_response(ErrorCode.INVALID_MESSAGE, detail, 422)

    async def on_protocol_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, ProtocolError)
        return protocol_error_response(error)

    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(ProtocolError, on_protocol_error)


__all__ = ["describe_validation_error", "error_response", "install_error_handlers"]
