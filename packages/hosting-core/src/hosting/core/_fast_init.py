"""Faster construction of the slotted dataclasses made on every request.

A request makes a dozen dataclass instances (its request, its record twice, its
run context, items, events). Building one costs more than it seems, for two reasons:

- A frozen dataclass's generated ``__init__`` stores each field with
  ``object.__setattr__(self, "name", value)``: a global lookup, an attribute
  lookup and a lookup of the slot by name, per field.
- Calling a class goes through ``type.__call__``, which packs keyword arguments
  into a dictionary for ``__init__`` and unpacks them again: for a record built
  with eleven keywords, that is as much as the rest of building it.

`fast_init` answers the first: it replaces a frozen class's ``__init__`` by one
with the same parameters, defaults and default factories that stores the fields
faster. The instances stay frozen: only ``__init__`` changes. It stores the fields
in one of two ways:

- A class of five fields or more gets a *twin*: a plain class with the same
  slots and base, which the interpreter lets an instance switch to and back
  (``__class__`` assignment between classes of the same layout). The instance is
  the twin while its fields are stored, each a plain slot store, and is the frozen
  class again before ``__init__`` returns. For 16 fields this takes under a third
  of the dataclass's time. A subclass (whose layout may differ) is stored the other
  way.
- A smaller class stores each field through its slot's descriptor, bound once:
  about half of the dataclass's time, and cheaper than two switches when there
  are few fields.

`constructor` answers the second, for the few places that build an instance on
every request: a plain function with the class's parameters that builds the
instance itself, so a call with keywords costs no dictionary.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

_UNSET = object()
# Stores an object's class, bypassing a frozen class's ``__setattr__`` (which refuses all stores).
_set_class = object.__dict__["__class__"].__set__
# From this many fields, switching to the twin and back costs less than a descriptor call per field.
_TWIN_FROM = 5
_TWINS: dict[type[Any], type[Any]] = {}


def fast_init(cls: type[T]) -> type[T]:
    """Replace the ``__init__`` of a frozen, slotted dataclass (with no ``__post_init__``)."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen:
        raise TypeError(f"{cls.__name__} is not a frozen, slotted dataclass")
    fields, parameters, values, namespace = _plan(cls)
    if len(fields) >= _TWIN_FROM:
        namespace["_twin"] = _TWINS.get(cls) or _TWINS.setdefault(cls, _twin(cls))
        body = [
            "if type(self) is _cls:",
            "    _set_class(self, _twin)",
            *(f"    self.{field.name} = {value}" for field, value in zip(fields, values, strict=True)),
            "    _set_class(self, _cls)",
            "else:",
            *(f"    _set{index}(self, {value})" for index, value in enumerate(values)),
        ]
    else:
        body = [f"_set{index}(self, {value})" for index, value in enumerate(values)] or ["pass"]
    generated = _define("__init__", ["self", *parameters], body, namespace)
    original = cls.__init__
    generated.__qualname__ = f"{cls.__qualname__}.__init__"
    generated.__module__ = cls.__module__
    generated.__annotations__ = dict(getattr(original, "__annotations__", {}))
    generated.__doc__ = original.__doc__
    cls.__init__ = generated  # type: ignore[method-assign]
    return cls


def constructor(cls: Callable[P, T]) -> Callable[P, T]:
    """A function that builds a `cls` as ``cls(...)`` would, without the cost of calling a class.

    `cls` is a slotted dataclass without ``__post_init__``, frozen or not. The function takes
    the same parameters, so its calls are type-checked as the class's are.
    """
    if not isinstance(cls, type):
        raise TypeError(f"{cls!r} is not a class")
    fields, parameters, values, namespace = _plan(cls)
    namespace["_new"] = object.__new__
    if not cls.__dataclass_params__.frozen:  # type: ignore[attr-defined]
        stores = [f"self.{field.name} = {value}" for field, value in zip(fields, values, strict=True)]
        body = ["self = _new(_cls)", *stores]
    elif len(fields) >= _TWIN_FROM:
        namespace["_twin"] = _TWINS.get(cls) or _TWINS.setdefault(cls, _twin(cls))
        stores = [f"self.{field.name} = {value}" for field, value in zip(fields, values, strict=True)]
        body = ["self = _new(_twin)", *stores, "_set_class(self, _cls)"]
    else:
        body = ["self = _new(_cls)", *(f"_set{index}(self, {value})" for index, value in enumerate(values))]
    generated = _define(f"new_{cls.__name__}", parameters, [*body, "return self"], namespace)
    generated.__qualname__ = f"constructor({cls.__qualname__})"
    generated.__module__ = cls.__module__
    generated.__doc__ = f"Builds a {cls.__name__}, as calling the class does."
    return generated  # type: ignore[no-any-return]


def _plan(cls: type[Any]) -> tuple[tuple[dataclasses.Field[Any], ...], list[str], list[str], dict[str, Any]]:
    """The fields of `cls`, its parameters, the expression each field is stored from, and their names."""
    if "__slots__" not in cls.__dict__ or not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls.__name__} is not a slotted dataclass")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} has a __post_init__, which this would skip")
    fields = dataclasses.fields(cls)
    namespace: dict[str, Any] = {"_UNSET": _UNSET, "_set_class": _set_class, "_cls": cls}
    parameters: list[str] = []
    values: list[str] = []
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
    return fields, parameters, values, namespace


def _define(name: str, parameters: list[str], body: list[str], namespace: dict[str, Any]) -> Any:
    source = f"def {name}({', '.join(parameters)}):\n" + "".join(f"    {line}\n" for line in body)
    exec(source, namespace)
    return namespace[name]


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
