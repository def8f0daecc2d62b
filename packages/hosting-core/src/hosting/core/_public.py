"""Each public name shows the public path it is imported from, not its private module."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any


def publish(module: str, namespace: Mapping[str, Any], names: Iterable[str]) -> None:
    """Set ``__module__`` of the classes and functions `names` of `namespace` to `module`.

    Reprs, tracebacks and docs then name ``hosting.core.channels.Run``, say, rather than
    ``hosting.core._run.Run`` (as httpx does for its own names). Dataclasses keep their
    defining module: `typing.get_type_hints` resolves their field annotations in the
    globals of ``__module__``, which only the defining module has (their reprs show no
    module anyway).
    """
    for name in names:
        value = namespace[name]
        if isinstance(value, type):
            if not dataclasses.is_dataclass(value):
                value.__module__ = module
        elif callable(value) and hasattr(value, "__code__"):
            value.__module__ = module
