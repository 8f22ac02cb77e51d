"""``POST /api/publish``: how the platform's backend puts events on the bus."""

from __future__ import annotations

import hmac
import ipaddress
import logging

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from realtime.bus.backend import BackendUnavailable
from realtime.gateway import Gateway
from realtime.http.errors import error_response, protocol_error_response
from realtime.protocol.errors import ErrorCode, ProtocolError
from realtime.protocol.publication import parse_publications

logger = logging.getLogger(__name__)

router = APIRouter()


def _is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def check_publisher(request: Request, gateway: Gateway) -> None:
    """Raise ``unauthorized`` unless the caller may publish."""
    api_key = gateway.settings.api_key
    if api_key is None:
        # No key: only this host may publish. ``request.client`` is the peer
        # after uvicorn applied the trusted proxies' forwarding headers.
        host = request.client.host if request.client else None
        if not _is_loopback(host):
            raise ProtocolError(
                ErrorCode.UNAUTHORIZED,
                "no API key is configured, so only loopback callers may publish",
            )
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    expected = api_key.get_secret_value()
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), expected.encode()
    ):
        raise ProtocolError(ErrorCode.UNAUTHORIZED, "a valid API key is required")


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ProtocolError(
            ErrorCode.PAYLOAD_TOO_LARGE, f"the body exceeds {limit} bytes"
        )
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ProtocolError(
                ErrorCode.PAYLOAD_TOO_LARGE, f"the body exceeds {limit} bytes"
            )
    return bytes(body)


@router.post("/api/publish")
async def publish(request: Request) -> JSONResponse:
    gateway: Gateway = request.app.state.gateway
    try:
        check_publisher(request, gateway)
        body = await _read_body(request, gateway.settings.max_publish_bytes)
        try:
            raw = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise ProtocolError(
                ErrorCode.INVALID_JSON, "the body is not JSON"
            ) from None
        batches = parse_publications(raw)
        items = [item for batch in batches for item in batch]
        results = await gateway.bus.publish(items)
    except ProtocolError as error:
        if error.code is ErrorCode.UNAUTHORIZED:
            logger.warning("publish refused: %s", error.detail)
        gateway.count_error(error.code)
        return protocol_error_response(error)
    except BackendUnavailable as error:
        logger.warning("publish failed: backend unavailable")
        gateway.count_error(ErrorCode.BACKEND_UNAVAILABLE)
        return error_response(ErrorCode.BACKEND_UNAVAILABLE, str(error), 503)
    gateway.metrics.publications.inc(sum(r.offset is not None for r in results))
    logger.debug("published %d messages", len(results))
    return JSONResponse({"results": [result.as_json() for result in results]})
