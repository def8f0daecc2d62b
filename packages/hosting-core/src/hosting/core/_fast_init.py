"""A faster ``__init__`` for the frozen, slotted dataclasses made on every request.

A frozen dataclass's generated ``__init__`` stores each field with
``object.__setattr__(self, "name", value)``: a global lookup, an attribute
lookup and a lookup of the slot by name, per field. A request makes a dozen of
these objects (its request, its record twice, its run context, items, events),
and that was about a fifth of what the run engine cost per request.

The ``__init__`` made here has the same parameters, defaults and default
factories, and the instances stay frozen: only ``__init__`` changes. It stores
the fields in one of two ways:

- A class of five fields or more gets a *twin*: a plain class with the same
  slots and base, which the interpreter lets an instance switch to and back
  (``__class__`` assignment between classes of the same layout). The instance is
  the twin while ``__init__`` stores its fields, each a plain slot store, and is
  the frozen class again before ``__init__`` returns. For 16 fields this takes
  under a third of the dataclass's time. A subclass (whose layout may differ) is stored
  the other way.
- A smaller class stores each field through its slot's descriptor, bound once:
  about half of the dataclass's time, and cheaper than two switches when there
  are few fields.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar, cast

T = TypeVar("T")

_UNSET = object()
# Stores an object's class, bypassing a frozen class's ``__setattr__`` (which refuses all stores).
_set_class = object.__dict__["__class__"].__set__
# From this many fields, switching to the twin and back costs less than a descriptor call per field.
_TWIN_FROM = 5


def fast_init(cls: type[T]) -> type[T]:
    """Replace the ``__init__`` of a frozen, slotted dataclass (with no ``__post_init__``)."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__} is not a frozen, slotted dataclass")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} has a __post_init__, which this __init__ would skip")
    fields = dataclasses.fields(cast(Any, cls))
    namespace: dict[str, Any] = {"_UNSET": _UNSET, "_set_class": _set_class, "_cls": cls}
    parameters: list[str] = []
    values: list[str] = []  # the expression each field is stored from, in order
    for index, field in enumerate(fields):
        if not field.init:
            raise TypeError(f"{cls.__name__}.{field.name} is not an __init__ field")
        # Local names by position: a field's name is only ever a parameter name below.
        default = f"_default{index}"
        namespace[f"_set{index}"] = getattr(cls, field.name).__set__
        if field.default is not dataclasses.MISSING:
            namespace[default] = field.default
            parameters.append(f"{field.name}={default}")
            values.append(field.name)
        elif field.default_factory is not dataclasses.MISSING:
            namespace[default] = field.default_factory
            parameters.append(f"{field.name}=_UNSET")
            values.append(f"{default}() if {field.name} is _UNSET else {field.name}")
        else:
            parameters.append(field.name)
            values.append(field.name)
    through_descriptors = [f"_set{index}(self, {value})" for index, value in enumerate(values)]
    if len(fields) >= _TWIN_FROM:
        namespace["_twin"] = _twin(cls)
        body = [
            "if type(self) is _cls:",
            "    _set_class(self, _twin)",
            *(f"    self.{field.name} = {value}" for field, value in zip(fields, values, strict=True)),
            "    _set_class(self, _cls)",
            "else:",
            *(f"    {line}" for line in through_descriptors),
        ]
    else:
        body = through_descriptors or ["pass"]
    source = f"def __init__(self, {', '.join(parameters)}):\n" + "".join(f"    {line}\n" for line in body)
    exec(source, namespace)
    generated = namespace["__init__"]
    original = cls.__init__
    generated.__qualname__ = f"{cls.__qualname__}.__init__"
    generated.__module__ = cls.__module__
    generated.__annotations__ = dict(getattr(original, "__annotations__", {}))
    generated.__doc__ = original.__doc__
    cls.__init__ = generated  # type: ignore[method-assign]
    return cls


def _twin(cls: type[Any]) -> type[Any]:
    """A plain class with `cls`'s base and slots, so an instance may switch between the two."""
    twin = type(
        f"_{cls.__name__}Fields",
        cls.__bases__,
        {
            "__slots__": cls.__dict__["__slots__"],
            "__module__": cls.__module__,
            # A base's own ``__setattr__`` (a frozen base's refuses) must not apply to the twin.
            "__setattr__": object.__setattr__,
        },
    )
    probe = object.__new__(cls)
    _set_class(probe, twin)  # raises TypeError now, at import, if the layouts differ after all
    _set_class(probe, cls)
    return twin
