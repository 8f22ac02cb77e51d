"""The platform's JWTs, checked with no network."""

from __future__ import annotations

import jwt
import pytest

from realtime.auth import TokenVerifier, token_from_scope
from realtime.protocol.errors import ErrorCode, ProtocolError
from tests.support.tokens import BAD_TOKENS, SECRET, access_token, claims

verifier = TokenVerifier(SECRET, ["HS256"])


def test_a_simplejwt_access_token_names_its_user() -> None:
    """user_id becomes the identity's user, authenticated."""
    identity = verifier.verify(access_token("7"))
    assert (identity.user_id, identity.authenticated) == ("7", True)


def test_a_numeric_user_id_becomes_a_string() -> None:
    """Ids are strings everywhere."""
    assert verifier.verify(access_token(7)).user_id == "7"


def test_sub_names_the_user_when_user_id_is_absent() -> None:
    """A token with sub and no user_id is accepted."""
    token = access_token(None, sub="alice")
    assert verifier.verify(token).user_id == "alice"


def test_a_token_without_token_type_is_accepted() -> None:
    """token_type is only checked when present."""
    token = jwt.encode(claims(token_type=None), SECRET, algorithm="HS256")
    assert verifier.verify(token).user_id == "7"


@pytest.mark.parametrize("reason", sorted(BAD_TOKENS))
def test_a_bad_token_is_unauthorized(reason: str) -> None:
    """Expired, badly signed, unsigned, refresh, garbage or userless: unauthorized."""
    with pytest.raises(ProtocolError) as caught:
        verifier.verify(BAD_TOKENS[reason])
    assert caught.value.code is ErrorCode.UNAUTHORIZED


@pytest.mark.parametrize("token", [None, "", 42])
def test_no_token_is_unauthorized(token: object) -> None:
    """With a secret configured, a token is required."""
    with pytest.raises(ProtocolError) as caught:
        verifier.verify(token)
    assert caught.value.code is ErrorCode.UNAUTHORIZED


def test_an_algorithm_outside_the_configured_list_is_refused() -> None:
    """A token signed HS512 is refused when only HS256 is allowed."""
    token = jwt.encode(claims(), SECRET, algorithm="HS512")
    with pytest.raises(ProtocolError):
        verifier.verify(token)
    assert TokenVerifier(SECRET, ["HS512"]).verify(token).user_id == "7"


def test_without_a_secret_everyone_is_anonymous() -> None:
    """No secret: the gateway runs open and requires nothing."""
    open_verifier = TokenVerifier(None, ["HS256"])
    identity = open_verifier.verify(None)
    assert not open_verifier.required
    assert (identity.user_id, identity.authenticated) == (None, False)


def test_the_query_token_comes_first() -> None:
    """?token= wins over an Authorization header."""
    headers = {"authorization": "Bearer from-header"}
    assert token_from_scope(b"token=from-query", headers) == "from-query"


def test_a_bearer_header_carries_the_token() -> None:
    """Authorization: Bearer is read when there is no ?token=."""
    assert token_from_scope(b"", {"authorization": "Bearer abc"}) == "abc"
    assert token_from_scope(b"", {"authorization": "Basic abc"}) is None
    assert token_from_scope(b"", {}) is None
