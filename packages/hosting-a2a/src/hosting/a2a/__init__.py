"""hosting.a2a."""

from __future__ import annotations

__all__: list[str] = []
