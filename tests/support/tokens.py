"""Tokens as the platform mints them: Django SimpleJWT access tokens, HS256."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt

SECRET = "test-jwt-secret-" + "0123456789abcdef" * 3  # 64 bytes: fine for HS512
API_KEY = "test-api-key"


def claims(user_id: object = "7", *, lifetime: int = 300, **extra: Any) -> dict:
    """SimpleJWT's claims; ``None`` for a claim leaves it out."""
    now = int(time.time())
    payload: dict[str, Any] = {
        "token_type": "access",
        "exp": now + lifetime,
        "iat": now,
        "jti": uuid.uuid4().hex,
        "user_id": user_id,
        **extra,
    }
    return {key: value for key, value in payload.items() if value is not None}


def access_token(user_id: object = "7", *, secret: str = SECRET, **extra: Any) -> str:
    return jwt.encode(claims(user_id, **extra), secret, algorithm="HS256")


# Tokens the gateway must refuse, each for its own reason.
BAD_TOKENS: dict[str, str] = {
    "expired": access_token(lifetime=-60),
    "bad_signature": access_token(secret="some-other-secret-of-enough-length"),
    "alg_none": jwt.encode(claims(), None, algorithm="none"),
    "refresh_token": access_token(token_type="refresh"),
    "garbage": "not.a.jwt",
    "missing_user": access_token(user_id=None),
    "no_expiry": jwt.encode(
        {k: v for k, v in claims().items() if k != "exp"}, SECRET, algorithm="HS256"
    ),
}
