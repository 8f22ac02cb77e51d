"""POST /api/publish with REALTIME_API_KEY set."""

from __future__ import annotations

import pytest

from tests.support.clients import assert_http_serves, new_id, post_publish
from tests.support.gateway import RunningGateway
from tests.support.tokens import API_KEY, access_token


def _body() -> dict[str, str]:
    return {"channel": f"execution:{new_id()}", "type": "execution_update"}


async def test_the_right_key_publishes(secure_gateway: RunningGateway) -> None:
    """Authorization: Bearer $REALTIME_API_KEY: 200."""
    response = await post_publish(secure_gateway, _body(), api_key=API_KEY)
    assert response.status_code == 200
    assert response.json()["results"][0]["offset"] == 1


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer wrong-key",
        f"Bearer {API_KEY}x",
        f"Basic {API_KEY}",
        API_KEY,
        f"Bearer {access_token()}",
    ],
)
async def test_a_missing_or_wrong_key_is_401(
    secure_gateway: RunningGateway, authorization: str | None
) -> None:
    """Without the right key: 401 unauthorized, even from loopback."""
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = await post_publish(secure_gateway, _body(), api_key="", headers=headers)
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["error"] == "unauthorized"
    assert isinstance(body["detail"], str)
    await assert_http_serves(secure_gateway)


async def test_a_wrong_key_publishes_nothing(secure_gateway: RunningGateway) -> None:
    """A refused publication leaves the channel untouched."""
    body = _body()
    await post_publish(secure_gateway, body, api_key="wrong")
    response = await post_publish(secure_gateway, body)
    assert response.json()["results"][0]["offset"] == 1
