"""``realtime``: serve the gateway, and look inside it from a shell."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from typing import Any

import jwt
from pydantic import ValidationError

from realtime import __version__
from realtime.settings import Settings


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        lines = [
            f"  {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()
        ]
        sys.exit("invalid REALTIME_ settings:\n" + "\n".join(lines))


def _port(value: str) -> int:
    port = int(value)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError("a port is 0 to 65535")
    return port


def serve(args: argparse.Namespace) -> None:
    import uvicorn

    from realtime.logs import configure_logging
    from realtime.server import serve as run_server
    from realtime.server import uvicorn_options

    settings = _settings()
    host = args.host or settings.host
    port = args.port
    if port is None:
        port = _port(os.environ["PORT"]) if os.environ.get("PORT") else settings.port
    configure_logging(settings.log_level, settings.log_format)
    if args.workers and args.workers > 1:
        if not settings.redis_url:
            sys.exit("several workers share nothing without REALTIME_REDIS_URL")
        # uvicorn runs the workers itself; each exits without a drain.
        uvicorn.run(
            "realtime.app:create_worker_app",
            factory=True,
            host=host,
            port=port,
            workers=args.workers,
            **uvicorn_options(settings),
        )
    else:
        run_server(settings, host, port)


def token(args: argparse.Namespace) -> None:
    settings = _settings()
    secret = args.secret or (
        settings.jwt_secret.get_secret_value() if settings.jwt_secret else None
    )
    if not secret:
        sys.exit("no secret: pass --secret or set REALTIME_JWT_SECRET")
    now = int(time.time())
    claims: dict[str, Any] = {
        "token_type": "access",
        "user_id": args.user,
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + args.ttl,
    }
    print(jwt.encode(claims, secret, algorithm=settings.jwt_algorithms[0]))


def publish(args: argparse.Namespace) -> None:
    from realtime.publisher import Publisher, PublishError, publication

    try:
        data = json.loads(args.data) if args.data else {}
    except json.JSONDecodeError as error:
        sys.exit(f"DATA is not JSON: {error}")
    body = publication(
        args.channel.split(",") if "," in args.channel else args.channel,
        args.type,
        data,
        message=args.message,
        state=args.state,
        idempotency_key=args.idempotency_key,
        version=args.version,
    )
    with Publisher(args.url, api_key=args.api_key) as publisher:
        try:
            results = publisher.publish_many([body])
        except PublishError as error:
            sys.exit(f"refused: {error}")
    for result in results:
        print(json.dumps(result.as_json()))


def tail(args: argparse.Namespace) -> None:
    from realtime.tail import tail_channel

    try:
        asyncio.run(
            tail_channel(args.url, args.channel, token=args.token, events=args.events)
        )
    except KeyboardInterrupt:
        pass
    except ValueError as error:
        sys.exit(str(error))


def demo(args: argparse.Namespace) -> None:
    os.environ["REALTIME_DEMO"] = "true"
    args.workers = None
    serve(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="realtime", description="The realtime event gateway."
    )
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add_serve_options(command: argparse.ArgumentParser) -> None:
        command.add_argument("--host", help="address to bind (default 127.0.0.1)")
        command.add_argument(
            "--port", type=_port, help="port (default $PORT, else 8001; 0 picks one)"
        )

    run = commands.add_parser("serve", help="serve the gateway (the default)")
    add_serve_options(run)
    run.add_argument(
        "--workers", type=int, default=None, help="processes (needs Redis)"
    )
    run.set_defaults(func=serve)

    show = commands.add_parser(
        "demo", help="serve the gateway and publish simulated pipeline runs"
    )
    add_serve_options(show)
    show.set_defaults(func=demo)

    mint = commands.add_parser("token", help="mint a development access token")
    mint.add_argument("--user", required=True, help="user id to put in the token")
    mint.add_argument("--secret", help="signing secret (default $REALTIME_JWT_SECRET)")
    mint.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds")
    mint.set_defaults(func=token)

    send = commands.add_parser("publish", help="publish one message")
    send.add_argument("channel", help="e.g. execution:42 (comma-separate several)")
    send.add_argument("type", help="e.g. execution_status")
    send.add_argument("data", nargs="?", help="a JSON object (default {})")
    send.add_argument("--message", help="human text to go with it")
    send.add_argument("--state", action=argparse.BooleanOptionalAction, default=None)
    send.add_argument("--idempotency-key")
    send.add_argument("--version", type=int)
    send.add_argument("--url", help="gateway URL (default http://127.0.0.1:8001)")
    send.add_argument("--api-key", help="API key (default $REALTIME_API_KEY)")
    send.set_defaults(func=publish)

    follow = commands.add_parser("tail", help="print a channel's messages as they come")
    follow.add_argument("channel", help="monitor, system, execution:42, ...")
    follow.add_argument("--url", default="ws://127.0.0.1:8001", help="gateway URL")
    follow.add_argument("--token", help="access token")
    follow.add_argument("--events", nargs="*", help="only these types")
    follow.set_defaults(func=tail)
    return parser


COMMANDS = ("serve", "demo", "token", "publish", "tail")


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in (*COMMANDS, "-h", "--help", "--version"):
        argv.insert(0, "serve")  # plain ``realtime`` serves
    args = build_parser().parse_args(argv)
    args.func(args)
