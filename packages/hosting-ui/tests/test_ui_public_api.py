"""The public API of hosting.ui: `__all__` complete, sorted and importable; the channel is a `Channel`."""

from __future__ import annotations

import hosting.ui as ui
from hosting.core.channels import Channel


def test_all_is_sorted_and_importable() -> None:
    assert ui.__all__ == sorted(ui.__all__)
    for name in ui.__all__:
        assert getattr(ui, name) is not None


def test_every_public_name_is_listed() -> None:
    public = {name for name in vars(ui) if not name.startswith("_")}
    public -= {"annotations", "version", "PackageNotFoundError"}
    assert public <= set(ui.__all__), public - set(ui.__all__)


def test_chat_ui_is_a_channel_named_ui() -> None:
    channel = ui.ChatUI()
    assert isinstance(channel, Channel)
    assert channel.name == "ui"
    assert ui.__version__ == "0.1.0"
