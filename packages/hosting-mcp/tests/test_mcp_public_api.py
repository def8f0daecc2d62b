"""The public API of hosting.mcp: `__all__` complete, sorted and importable."""

from __future__ import annotations

import hosting.mcp as mcp
from hosting.core.channels import Channel


def test_all_is_sorted_and_importable() -> None:
    assert mcp.__all__ == sorted(mcp.__all__)
    for name in mcp.__all__:
        assert getattr(mcp, name) is not None


def test_every_public_name_is_listed() -> None:
    public = {name for name in vars(mcp) if not name.startswith("_")}
    public -= {"annotations", "version", "PackageNotFoundError"}
    assert public <= set(mcp.__all__), public - set(mcp.__all__)


def test_the_channel_is_a_channel_named_mcp() -> None:
    channel = mcp.MCPChannel()
    assert isinstance(channel, Channel)
    assert channel.name == "mcp"
    assert channel.path == "/mcp"
