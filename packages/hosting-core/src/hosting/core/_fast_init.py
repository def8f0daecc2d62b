"""A faster ``__init__`` for the frozen, slotted dataclasses made on every request.

A frozen dataclass's generated ``__init__`` stores each field with
``object.__setattr__(self, "name", value)``: a global lookup, an attribute
lookup and a lookup of the slot by name, per field. A request makes a dozen of
these objects (its request, its record twice, its run context, items, events),
and that was about a fifth of what the run engine cost per request. This
``__init__`` stores each field through its slot's descriptor, bound once, which
takes about half the time. It has the same parameters, defaults and default
factories, and the instances stay frozen: only ``__init__`` changes.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar, cast

T = TypeVar("T")

_UNSET = object()


def fast_init(cls: type[T]) -> type[T]:
    """Replace the ``__init__`` of a frozen, slotted dataclass (with no ``__post_init__``)."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__} is not a frozen, slotted dataclass")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} has a __post_init__, which this __init__ would skip")
    namespace: dict[str, Any] = {"_UNSET": _UNSET}
    parameters: list[str] = []
    lines: list[str] = []
    for index, field in enumerate(dataclasses.fields(cast(Any, cls))):
        if not field.init:
            raise TypeError(f"{cls.__name__}.{field.name} is not an __init__ field")
        # Local names by position: a field's name is only ever a parameter name below.
        setter, default = f"_set{index}", f"_default{index}"
        namespace[setter] = getattr(cls, field.name).__set__
        if field.default is not dataclasses.MISSING:
            namespace[default] = field.default
            parameters.append(f"{field.name}={default}")
            lines.append(f"    {setter}(self, {field.name})")
        elif field.default_factory is not dataclasses.MISSING:
            namespace[default] = field.default_factory
            parameters.append(f"{field.name}=_UNSET")
            lines.append(f"    {setter}(self, {default}() if {field.name} is _UNSET else {field.name})")
        else:
            parameters.append(field.name)
            lines.append(f"    {setter}(self, {field.name})")
    source = f"def __init__(self, {', '.join(parameters)}):\n" + ("\n".join(lines) or "    pass") + "\n"
    exec(source, namespace)
    generated = namespace["__init__"]
    original = cls.__init__
    generated.__qualname__ = f"{cls.__qualname__}.__init__"
    generated.__module__ = cls.__module__
    generated.__annotations__ = dict(getattr(original, "__annotations__", {}))
    generated.__doc__ = original.__doc__
    cls.__init__ = generated  # type: ignore[method-assign]
    return cls
