"""The public API of hosting.a2a: `__all__` complete, sorted and importable; the channel a channel."""

from __future__ import annotations

import hosting.a2a as a2a
from hosting.core.channels import Channel


def test_all_is_sorted_and_importable() -> None:
    assert a2a.__all__ == sorted(a2a.__all__)
    for name in a2a.__all__:
        assert getattr(a2a, name) is not None


def test_every_public_name_is_listed() -> None:
    public = {name for name in vars(a2a) if not name.startswith("_")}
    public -= {"annotations", "version", "PackageNotFoundError"}
    assert public <= set(a2a.__all__), public - set(a2a.__all__)


def test_the_channel_is_a_channel_named_a2a() -> None:
    channel = a2a.A2AChannel(prefix="/agents/")
    assert isinstance(channel, Channel)
    assert channel.name == "a2a"
    assert channel.prefix == "/agents"
