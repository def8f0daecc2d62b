"""The output builder: whole items of a subclass of an item type get their ids."""

from __future__ import annotations

from collections.abc import AsyncIterator

from hosting.core import (
    Host,
    MemoryStore,
    Message,
    RunContext,
    TextPart,
    Update,
    agent,
    user_message,
)
from hosting.core.channels import ChannelRequest

from .conftest import InvokeChannel

# -- engine: whole items of a subclass of an item type ---------------------------------------------


class _Note(Message):
    """A framework's own kind of message: still a `Message`."""

    __slots__ = ()


async def test_a_whole_item_of_a_subclass_of_an_item_type_gets_its_id() -> None:
    @agent
    async def noter(context: RunContext) -> AsyncIterator[Update]:
        yield _Note("assistant", (TextPart("noted"),))

    host = Host(noter, channels=[InvokeChannel()], store=MemoryStore())
    result = await host.engine.run(ChannelRequest(channel="invoke", input=(user_message("go"),)))
    assert (result.status, result.text) == ("completed", "noted")
    (item,) = result.output
    assert item.id is not None and item.id.startswith("msg_")
    await host.shutdown()
