"""The channel context: public paths, whether the host authenticates, channel-scoped tokens and
seen keys."""

from __future__ import annotations

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hosting.core import ApiKeyAuthenticator, Host, MemoryStore, get_current_isolation_keys
from hosting.core.channels import ChannelContext, ChannelContribution

from .conftest import echo_history


class CardChannel:
    """Serves a public card and a private page, and keeps the context it was given."""

    def __init__(self, name: str = "card") -> None:
        self.name = name
        self.context: ChannelContext | None = None

    def contribute(self, context: ChannelContext) -> ChannelContribution:
        self.context = context

        async def card(request: Request) -> Response:
            return JSONResponse({"user": get_current_isolation_keys().user})

        return ChannelContribution(
            routes=[
                Route(f"/{self.name}/card.json", card),
                Route(f"/{self.name}/private", card),
            ],
            public_paths=[f"/{self.name}/card.json"],
        )


@pytest.fixture
def keyed() -> tuple[Host, CardChannel]:
    channel = CardChannel()
    host = Host(
        echo_history,
        channels=[channel],
        store=MemoryStore(),
        authenticator=ApiKeyAuthenticator({"key-alice": "alice"}),
    )
    return host, channel


async def test_a_public_path_is_served_without_credentials_and_nothing_else_is(
    keyed: tuple[Host, CardChannel],
) -> None:
    host, _ = keyed
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=host), base_url="http://h") as http:
        public = await http.get("/card/card.json")
        assert public.status_code == 200
        assert public.json() == {"user": "anonymous"}  # its handler sees nobody
        assert (await http.get("/card/private")).status_code == 401
        assert (await http.get("/card/card.json/x")).status_code == 401  # exact paths only
        known = await http.get("/card/private", headers={"authorization": "Bearer key-alice"})
        assert known.json() == {"user": "alice"}


def test_the_context_says_whether_the_host_authenticates(keyed: tuple[Host, CardChannel]) -> None:
    _, channel = keyed
    assert channel.context is not None and channel.context.authenticates is True
    open_channel = CardChannel("open")
    Host(echo_history, channels=[open_channel], store=MemoryStore())
    assert open_channel.context is not None and open_channel.context.authenticates is False
    trusting = CardChannel("trusting")
    Host(echo_history, channels=[trusting], store=MemoryStore(), trust_isolation_headers=True)
    assert trusting.context is not None and trusting.context.authenticates is True


async def test_tokens_and_seen_keys_belong_to_their_channel() -> None:
    store = MemoryStore()
    first, second = CardChannel("first"), CardChannel("second")
    Host(echo_history, channels=[first, second], store=store)
    assert first.context is not None and second.context is not None
    await first.context.put_token("link", "ABC123", data={"chat": 42}, ttl=60)
    with pytest.raises(ValueError, match=r"ABC123|already|token"):
        await first.context.put_token("link", "ABC123", data={}, ttl=60)
    assert await second.context.take_token("link", "ABC123") is None  # another channel's namespace
    token = await first.context.take_token("link", "ABC123")
    assert token is not None and token.owner == "anonymous" and token.data == {"chat": 42}
    assert await first.context.take_token("link", "ABC123") is None  # once
    assert await first.context.remember("updates", "7", ttl=60) is True
    assert await first.context.remember("updates", "7", ttl=60) is False
    assert await second.context.remember("updates", "7", ttl=60) is True
