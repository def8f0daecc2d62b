"""The public surface of hosting.testing: `__all__` is sorted, complete and importable."""

from __future__ import annotations

import importlib

import hosting.testing


def test_all_is_sorted_and_importable() -> None:
    names = hosting.testing.__all__
    # ruff's order (RUF022): constants first, then the rest by code point.
    assert names == sorted(names, key=lambda name: (not name.isupper(), name))
    assert len(names) == len(set(names))
    module = importlib.import_module("hosting.testing")
    for name in names:
        assert getattr(module, name) is not None, name


def test_every_public_attribute_is_listed() -> None:
    public = {
        name
        for name, value in vars(hosting.testing).items()
        if not name.startswith("_") and getattr(value, "__module__", "").startswith("hosting.testing")
    }
    assert public <= set(hosting.testing.__all__)
