"""``realtime token``: development access tokens the gateway accepts."""

from __future__ import annotations

import jwt

from tests.support.cli import clean_env, run_realtime
from tests.support.clients import ws_connect
from tests.support.gateway import RunningGateway
from tests.support.tokens import SECRET


async def test_token_mints_a_simplejwt_access_token() -> None:
    """The token carries user_id, token_type access, jti, iat and exp, HS256."""
    finished = await run_realtime("token", "--user", "7", "--secret", SECRET)
    assert finished.returncode == 0, finished.stderr
    token = finished.stdout.strip()
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    assert claims["user_id"] == "7"
    assert claims["token_type"] == "access"
    assert claims["jti"]
    assert claims["exp"] - claims["iat"] == 3600


async def test_token_lifetime_follows_ttl() -> None:
    """--ttl sets the lifetime in seconds."""
    finished = await run_realtime(
        "token", "--user", "7", "--secret", SECRET, "--ttl", "60"
    )
    claims = jwt.decode(finished.stdout.strip(), SECRET, algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == 60


async def test_token_reads_the_secret_from_the_environment() -> None:
    """Without --secret, REALTIME_JWT_SECRET signs the token."""
    finished = await run_realtime(
        "token", "--user", "alice", env=clean_env(REALTIME_JWT_SECRET=SECRET)
    )
    claims = jwt.decode(finished.stdout.strip(), SECRET, algorithms=["HS256"])
    assert claims["user_id"] == "alice"


async def test_token_without_a_secret_fails() -> None:
    """No secret anywhere: a non-zero exit and a message saying so."""
    finished = await run_realtime("token", "--user", "7")
    assert finished.returncode != 0
    assert "secret" in finished.stderr
    assert finished.stdout == ""


async def test_a_minted_token_is_accepted_by_the_gateway(
    secure_gateway: RunningGateway,
) -> None:
    """The gateway authenticates a connection with the minted token."""
    finished = await run_realtime("token", "--user", "99", "--secret", SECRET)
    token = finished.stdout.strip()
    async with ws_connect(secure_gateway, "/ws/system", token=token) as client:
        data = (await client.next_of("connection"))["data"]
    assert (data["authenticated"], data["user_id"]) == (True, "99")
