"""Settings from the environment, prefixed REALTIME_, with the contract's defaults."""

from __future__ import annotations

import os

import pytest
from pydantic import ValidationError

from realtime.settings import Settings


@pytest.fixture(autouse=True)
def bare_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No gateway settings in the environment but what a test sets."""
    for name in list(os.environ):
        if name.startswith("REALTIME_") or name in {"REDIS_URL", "PORT"}:
            monkeypatch.delenv(name)


def test_the_defaults_are_the_contracts() -> None:
    """127.0.0.1:8001, memory backend, and the documented limits and intervals."""
    settings = Settings()
    assert (settings.host, settings.port) == ("127.0.0.1", 8001)
    assert settings.backend_name == "memory"
    assert settings.metrics_interval == 10
    assert (settings.history_size, settings.history_ttl) == (1000, 86400)
    assert settings.idempotency_ttl == 300
    assert settings.max_publish_bytes == 1024 * 1024
    assert settings.max_message_bytes == 64 * 1024
    assert settings.auth_timeout == 5
    assert settings.jwt_algorithms == ["HS256"]
    assert settings.jwt_secret is None
    assert settings.api_key is None


def test_settings_are_read_from_realtime_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """REALTIME_* variables set the matching settings."""
    monkeypatch.setenv("REALTIME_HISTORY_SIZE", "50")
    monkeypatch.setenv("REALTIME_AUTH_TIMEOUT", "0.5")
    monkeypatch.setenv("REALTIME_API_KEY", "key")
    monkeypatch.setenv("REALTIME_JWT_ALGORITHMS", "HS256,HS512")
    settings = Settings()
    assert settings.history_size == 50
    assert settings.auth_timeout == 0.5
    assert settings.api_key is not None
    assert settings.api_key.get_secret_value() == "key"
    assert settings.jwt_algorithms == ["HS256", "HS512"]


def test_redis_url_is_read_and_realtime_redis_url_wins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """REDIS_URL (as hosting platforms set it) is read; REALTIME_REDIS_URL wins."""
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    assert Settings().redis_url == "redis://127.0.0.1:1/0"
    assert Settings().backend_name == "redis"
    monkeypatch.setenv("REALTIME_REDIS_URL", "redis://127.0.0.1:2/0")
    assert Settings().redis_url == "redis://127.0.0.1:2/0"


def test_the_none_algorithm_cannot_be_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """REALTIME_JWT_ALGORITHMS=none would accept unsigned tokens: refused."""
    monkeypatch.setenv("REALTIME_JWT_ALGORITHMS", "HS256,none")
    with pytest.raises(ValidationError):
        Settings()
