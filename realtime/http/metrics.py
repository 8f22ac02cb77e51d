"""``GET /metrics``: Prometheus text."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from realtime.gateway import Gateway

router = APIRouter()


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    gateway: Gateway = request.app.state.gateway
    return Response(
        generate_latest(gateway.metrics.registry), media_type=CONTENT_TYPE_LATEST
    )
