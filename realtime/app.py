"""The ASGI application: FastAPI for HTTP and plain WebSocket, Socket.IO around it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import socketio
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from realtime import __version__
from realtime.auth import TokenVerifier
from realtime.authz import Authorizer
from realtime.bus.backend import Backend
from realtime.bus.bus import Bus
from realtime.bus.memory import MemoryBackend
from realtime.collector import (
    PauseWatch,
    freeze_startup_objects,
    set_young_threshold,
)
from realtime.control import ControlForwarder
from realtime.edges import websocket
from realtime.edges.socketio import create_server
from realtime.gateway import Gateway
from realtime.http import health, metrics, publish
from realtime.http.errors import install_error_handlers
from realtime.logs import configure_logging
from realtime.monitor import MetricsReporter
from realtime.origins import OriginPolicy
from realtime.protocol.publication import parse_publications
from realtime.settings import Settings

logger = logging.getLogger(__name__)

PAGE_DIR = Path(__file__).parent / "web" / "dist"


def create_backend(settings: Settings) -> Backend:
    if settings.redis_url:
        from realtime.bus.redis import RedisBackend
        from realtime.bus.redis_scripts import Limits

        limits = Limits(
            settings.history_size, settings.history_ttl, settings.idempotency_ttl
        )
        return RedisBackend(
            settings.redis_url,
            prefix=settings.redis_prefix,
            limits=limits,
            keepalive=settings.redis_keepalive,
        )
    return MemoryBackend(
        history_size=settings.history_size,
        history_ttl=settings.history_ttl,
        idempotency_ttl=settings.idempotency_ttl,
    )


def create_gateway(settings: Settings) -> Gateway:
    secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret else None
    api_key = settings.api_key.get_secret_value() if settings.api_key else None
    control = (
        ControlForwarder(settings.control_url, api_key, settings.control_timeout)
        if settings.control_url
        else None
    )
    authorizer = Authorizer(
        settings.authz_url,
        api_key=api_key,
        cache_ttl=settings.authz_cache_ttl,
        timeout=settings.authz_timeout,
    )
    return Gateway(
        settings=settings,
        bus=Bus(create_backend(settings)),
        verifier=TokenVerifier(secret, settings.jwt_algorithms),
        authorizer=authorizer,
        control=control,
    )


def _warn_about_openness(settings: Settings) -> None:
    if settings.jwt_secret is None:
        logger.warning(
            "REALTIME_JWT_SECRET is not set: the gateway runs open, "
            "every client is anonymous and may follow any channel"
        )
    if settings.api_key is None:
        logger.warning("REALTIME_API_KEY is not set: only loopback callers may publish")


def _start_demo(gateway: Gateway) -> asyncio.Task[None]:
    from realtime.demo import run_demo

    async def publish(body: dict[str, Any]) -> object:
        items = [item for batch in parse_publications(body) for item in batch]
        return await gateway.bus.publish(items)

    logger.info("publishing simulated pipeline runs")
    return asyncio.create_task(run_demo(publish), name="demo")


def create_app(settings: Settings | None = None) -> Any:
    """The gateway as one ASGI application."""
    settings = settings or Settings()
    gateway = create_gateway(settings)
    reporter = MetricsReporter(gateway, settings.metrics_interval)
    pauses = PauseWatch(gateway.metrics.gc_pauses)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        _warn_about_openness(settings)
        pauses.start()
        await gateway.bus.start()
        reporter.start()
        demo = _start_demo(gateway) if settings.demo else None
        logger.info(
            "gateway started",
            extra={"backend": gateway.bus.backend.name, "version": __version__},
        )
        try:
            yield
        finally:
            if demo is not None:
                demo.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await demo
            await reporter.stop()
            admin = getattr(server, "realtime_admin", None)
            if admin is not None:
                # Its stats task would outlive the app, and its patches of
                # engine.io's socket class, stacked by a second app in the same
                # process, recurse on every Socket.IO connection.
                if admin.stats_task is not None:
                    admin.stats_task.cancel()  # its own shutdown() waits 2 s
                    with contextlib.suppress(asyncio.CancelledError):
                        await admin.stats_task
                admin.uninstrument()
            await server.stop_background()
            await gateway.close()
            await gateway.bus.stop()
            pauses.stop()
            logger.info("gateway stopped")

    api = FastAPI(
        title="realtime",
        version=__version__,
        lifespan=lifespan,
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
    )
    api.state.gateway = gateway
    api.state.origins = OriginPolicy(settings.cors_origins)
    install_error_handlers(api)
    api.include_router(publish.router)
    api.include_router(health.router)
    api.include_router(metrics.router)
    if (PAGE_DIR / "index.html").is_file():
        api.mount("/", StaticFiles(directory=PAGE_DIR, html=True), name="page")

    server = create_server(gateway)
    edge = websocket.WebSocketEdge(gateway, api.state.origins, api)
    app = socketio.ASGIApp(server, other_asgi_app=edge)
    app.state = api.state  # so callers holding the outer app reach the gateway
    return app


def create_worker_app() -> Any:
    """The app for one of several uvicorn workers, each a process of its own.

    Workers are fresh processes: they set up logging themselves.
    """
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    set_young_threshold(settings.gc_threshold)
    app = create_app(settings)
    freeze_startup_objects()  # uvicorn runs the lifespan after this returns
    return app
