"""The public API of hosting.telegram: `__all__` complete, sorted and importable."""

from __future__ import annotations

import hosting.telegram as telegram
import hosting.telegram.testing as telegram_testing


def isort_order(name: str) -> tuple[int, str]:
    """Constants, then classes, then the rest (the order ruff keeps `__all__` in)."""
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def test_all_is_sorted_and_importable() -> None:
    for module in (telegram, telegram_testing):
        assert module.__all__ == sorted(module.__all__, key=isort_order)
        for name in module.__all__:
            assert getattr(module, name) is not None


def test_every_public_name_is_listed() -> None:
    public = {name for name in vars(telegram) if not name.startswith("_")}
    public -= {"annotations", "version", "PackageNotFoundError", "testing"}
    assert public <= set(telegram.__all__), public - set(telegram.__all__)
    assert telegram.TelegramChannel.name == "telegram"
    public = {name for name in vars(telegram_testing) if not name.startswith("_")}
    public -= {"annotations", "asyncio", "Callable"}
    assert public <= set(telegram_testing.__all__), public - set(telegram_testing.__all__)
