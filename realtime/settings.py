"""Settings read from the environment (prefix ``REALTIME_``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    """Every knob of the gateway; see docs/configuration.md."""

    model_config = SettingsConfigDict(
        env_prefix="REALTIME_", extra="ignore", validate_default=True
    )

    host: str = "127.0.0.1"
    port: int = Field(default=8001, ge=0, le=65535)

    # Hosting platforms set a bare REDIS_URL; ours wins when both are present.
    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("REALTIME_REDIS_URL", "REDIS_URL")
    )
    redis_prefix: str = Field(default="realtime", min_length=1, max_length=64)
    # How often the pub/sub listener pings; three silent periods mean a dead link.
    redis_keepalive: float = Field(default=5.0, gt=0, le=300)

    api_key: SecretStr | None = None
    jwt_secret: SecretStr | None = None
    jwt_algorithms: Annotated[list[str], NoDecode] = ["HS256"]
    auth_timeout: float = Field(default=5.0, gt=0, le=300)

    history_size: int = Field(default=1000, ge=1, le=1_000_000)
    history_ttl: int = Field(default=86400, ge=1)
    idempotency_ttl: int = Field(default=300, ge=1)
    metrics_interval: float = Field(default=10.0, gt=0)

    max_publish_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_message_bytes: int = Field(default=64 * 1024, ge=256)
    max_queue_messages: int = Field(default=1000, ge=1)
    max_queue_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)

    # Per connection: frames a second a client may send, channels it may follow.
    max_client_rate: float = Field(default=20.0, gt=0)
    max_subscriptions: int = Field(default=100, ge=1)
    # Per process and per user: how many connections are accepted.
    max_connections: int = Field(default=20000, ge=1)
    max_connections_per_user: int = Field(default=50, ge=1)
    # On SIGTERM: how long connections get to send what is queued before closing.
    drain_timeout: float = Field(default=10.0, ge=0, le=300)

    # Ask the platform whether a user may follow a channel (POST user_id, channel).
    authz_url: str | None = None
    authz_cache_ttl: float = Field(default=30.0, ge=0)
    authz_timeout: float = Field(default=5.0, gt=0)

    # python-socketio's admin UI instrumentation: on only with both set.
    admin_username: str | None = None
    admin_password: SecretStr | None = None

    control_url: str | None = None
    control_timeout: float = Field(default=10.0, gt=0)

    cors_origins: Annotated[list[str], NoDecode] = [
        "http://localhost:5173",
        "http://127.0.0.1:5173",
        "http://localhost:8001",
        "http://127.0.0.1:8001",
    ]
    trusted_proxies: Annotated[list[str], NoDecode] = ["127.0.0.1"]

    # Publish simulated pipeline runs, so a new user sees the page come alive.
    demo: bool = False

    # Allocations between two collections of Python's youngest generation, in
    # processes `realtime serve` runs (CPython's own default is 700).
    gc_threshold: int = Field(default=7000, ge=100, le=1_000_000)

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"

    @field_validator("jwt_algorithms", "cors_origins", "trusted_proxies", mode="before")
    @classmethod
    def _csv(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("jwt_algorithms")
    @classmethod
    def _no_none_algorithm(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one algorithm is required")
        if any(item.lower() == "none" for item in value):
            raise ValueError("the 'none' algorithm would accept unsigned tokens")
        return value

    @field_validator(
        "redis_url",
        "control_url",
        "authz_url",
        "api_key",
        "jwt_secret",
        "admin_username",
        "admin_password",
        mode="before",
    )
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @property
    def backend_name(self) -> Literal["memory", "redis"]:
        return "redis" if self.redis_url else "memory"
