"""Who a client is: the platform's JWTs, verified with PyJWT."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs

import jwt

from realtime.protocol.errors import ErrorCode, ProtocolError

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Identity:
    user_id: str | None
    authenticated: bool
    claims: Mapping[str, object]


ANONYMOUS = Identity(user_id=None, authenticated=False, claims={})


class TokenVerifier:
    """Checks tokens as the platform issues them (Django SimpleJWT by default).

    With no secret the gateway runs open: every client is anonymous and
    ``required`` is false.
    """

    def __init__(self, secret: str | None, algorithms: list[str]) -> None:
        self._secret = secret
        self._algorithms = algorithms

    @property
    def required(self) -> bool:
        return self._secret is not None

    def verify(self, token: object) -> Identity:
        """The identity in ``token``, or ``unauthorized`` saying why not."""
        if self._secret is None:
            return ANONYMOUS
        if not isinstance(token, str) or not token:
            raise ProtocolError(ErrorCode.UNAUTHORIZED, "a token is required")
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=self._algorithms,
                options={"require": ["exp"]},
            )
        except jwt.ExpiredSignatureError:
            raise ProtocolError(
                ErrorCode.UNAUTHORIZED, "the token has expired"
            ) from None
        except jwt.InvalidTokenError as error:
            reason = type(error).__name__
            raise ProtocolError(
                ErrorCode.UNAUTHORIZED, f"the token is not valid ({reason})"
            ) from None

        token_type = claims.get("token_type")
        if token_type is not None and token_type != "access":
            raise ProtocolError(ErrorCode.UNAUTHORIZED, "an access token is required")
        user_id = claims.get("user_id", claims.get("sub"))
        if isinstance(user_id, int) and not isinstance(user_id, bool):
            user_id = str(user_id)
        if not isinstance(user_id, str) or not user_id:
            raise ProtocolError(
                ErrorCode.UNAUTHORIZED, "the token names no user (user_id or sub)"
            )
        return Identity(user_id=user_id, authenticated=True, claims=claims)


def token_from_scope(
    query_string: bytes, headers: Mapping[str, str] | None
) -> str | None:
    """The token a handshake carries: ``?token=`` first, then a bearer header."""
    values = parse_qs(query_string.decode("latin-1")).get("token")
    if values and values[0]:
        return values[0]
    if headers is not None:
        authorization = headers.get("authorization", "")
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():
            return credentials.strip()
    return None
