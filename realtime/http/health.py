"""``GET /health``: whether this process serves, and how many it serves."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from realtime import SERVICE_NAME, __version__
from realtime.gateway import Gateway

router = APIRouter()


@router.get("/health")
async def health(request: Request) -> JSONResponse:
    gateway: Gateway = request.app.state.gateway
    backend = gateway.bus.backend
    healthy = backend.healthy
    return JSONResponse(
        {
            "status": "healthy" if healthy else "degraded",
            "service": SERVICE_NAME,
            "version": __version__,
            "backend": backend.name,
            "connections": gateway.connection_totals(),
        },
        status_code=200 if healthy else 503,
    )
