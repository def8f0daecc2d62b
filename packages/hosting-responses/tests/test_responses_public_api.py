"""The public API of hosting.responses: `__all__` complete, sorted and importable."""

from __future__ import annotations

import hosting.responses as responses


def test_all_is_sorted_and_importable() -> None:
    assert responses.__all__ == sorted(responses.__all__)
    for name in responses.__all__:
        assert getattr(responses, name) is not None


def test_every_public_name_is_listed() -> None:
    public = {name for name in vars(responses) if not name.startswith("_")}
    public -= {"annotations", "version", "PackageNotFoundError"}
    assert public <= set(responses.__all__), public - set(responses.__all__)
    assert responses.ResponsesChannel.name == "responses"
