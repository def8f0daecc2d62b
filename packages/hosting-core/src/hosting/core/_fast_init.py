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

- A class of five fields or more, with no base but `object`, gets a *twin*: a
  plain class with the same slots, which the interpreter lets an instance switch
  to and back (``__class__`` assignment between classes of the same layout). The
  instance is the twin while its fields are stored, each a plain slot store, and
  is the frozen class again before ``__init__`` returns; default factories run
  before the switch, so nothing that can raise runs while it is the twin. For 16
  fields this takes under a third of the dataclass's time. A subclass (whose
  layout may differ) is stored the other way.
- Any other class stores each field through its slot's descriptor, bound once:
  about half of the dataclass's time, and cheaper than two switches when there
  are few fields.

`constructor` answers the second, for the few places that build an instance on
every request: a plain function with the class's parameters that builds the
instance itself, so a call with keywords costs no dictionary.
"""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

_UNSET = object()
# Stores an object's class, bypassing a frozen class's ``__setattr__`` (which refuses all stores).
_set_class = object.__dict__["__class__"].__set__
# From this many fields, switching to the twin and back costs less than a descriptor call per field.
_TWIN_FROM = 5
_TWINS: weakref.WeakKeyDictionary[type[Any], type[Any] | None] = weakref.WeakKeyDictionary()


def fast_init(cls: type[T]) -> type[T]:
    """Replace the ``__init__`` of a frozen, slotted dataclass (with no ``__post_init__``)."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen:
        raise TypeError(f"{cls.__name__} is not a frozen, slotted dataclass")
    plan = _Plan(cls)
    me = plan.me
    if plan.twin is not None:
        body = [
            *plan.factories,  # first: nothing that can raise runs while the instance is the twin
            f"if type({me}) is _cls:",
            f"    _set_class({me}, _twin)",
            *(f"    {line}" for line in plan.slot_stores),
            f"    _set_class({me}, _cls)",
            "else:",
            *(f"    {line}" for line in plan.descriptor_stores),
        ]
    else:
        body = [*plan.factories, *plan.descriptor_stores] or ["pass"]
    generated = plan.define("__init__", [me, *plan.parameters], body)
    original = cls.__init__
    generated.__qualname__ = f"{cls.__qualname__}.__init__"
    generated.__module__ = cls.__module__
    generated.__annotations__ = dict(getattr(original, "__annotations__", {}))
    generated.__doc__ = original.__doc__
    cls.__init__ = generated  # type: ignore[method-assign]
    return cls


def constructor(cls: Callable[P, T]) -> Callable[P, T]:
    """A function that builds a `cls` as ``cls(...)`` would, without the cost of calling a class.

    `cls` is a slotted dataclass without ``__post_init__`` or a ``__new__`` of its own, frozen
    or not. The function takes the same parameters, so its calls are type-checked as the
    class's are.
    """
    if not isinstance(cls, type):
        raise TypeError(f"{cls!r} is not a class")
    plan = _Plan(cls)
    made_by: Any = cls.__new__
    if made_by is not object.__new__:
        raise TypeError(f"{cls.__name__} has a __new__ of its own, which this would skip")
    me = plan.me
    if not plan.frozen:
        body = [*plan.factories, f"{me} = _new(_cls)", *plan.slot_stores]
    elif plan.twin is not None:
        body = [*plan.factories, f"{me} = _new(_twin)", *plan.slot_stores, f"_set_class({me}, _cls)"]
    else:
        body = [*plan.factories, f"{me} = _new(_cls)", *plan.descriptor_stores]
    generated = plan.define(f"new_{cls.__name__}", plan.parameters, [*body, f"return {me}"])
    generated.__qualname__ = f"constructor({cls.__qualname__})"
    generated.__module__ = cls.__module__
    generated.__doc__ = f"Builds a {cls.__name__}, as calling the class does."
    return generated  # type: ignore[no-any-return]


class _Plan:
    """What a generated ``__init__`` or constructor of `cls` is made of.

    Its parameters (as the dataclass's: keyword-only fields after a ``*``), the lines that call
    default factories (before any store), and each field's store, two ways: a plain slot store
    (on an instance of a class that is not frozen, or of the twin) or a call of the slot's
    descriptor.
    """

    def __init__(self, cls: type[Any]) -> None:
        if "__slots__" not in cls.__dict__ or not dataclasses.is_dataclass(cls):
            raise TypeError(f"{cls.__name__} is not a slotted dataclass")
        if hasattr(cls, "__post_init__"):
            raise TypeError(f"{cls.__name__} has a __post_init__, which this would skip")
        fields = dataclasses.fields(cls)
        # The instance's local name, as dataclasses name it when a field is called ``self``.
        self.me = me = "__dataclass_self__" if any(field.name == "self" for field in fields) else "self"
        self.namespace: dict[str, Any] = {"_UNSET": _UNSET, "_set_class": _set_class, "_cls": cls}
        self.namespace["_new"] = object.__new__
        positional: list[str] = []
        keyword: list[str] = []
        self.factories: list[str] = []
        self.slot_stores: list[str] = []
        self.descriptor_stores: list[str] = []
        for index, field in enumerate(fields):
            if not field.init:
                raise TypeError(f"{cls.__name__}.{field.name} is not an __init__ field")
            # Local names by position: a field's name is only ever a parameter name below.
            name, default = field.name, f"_default{index}"
            parameters = keyword if field.kw_only is True else positional
            if field.default is not dataclasses.MISSING:
                self.namespace[default] = field.default
                parameters.append(f"{name}={default}")
            elif field.default_factory is not dataclasses.MISSING:
                self.namespace[default] = field.default_factory
                parameters.append(f"{name}=_UNSET")
                self.factories.append(f"if {name} is _UNSET: {name} = {default}()")
            else:
                parameters.append(name)
            self.namespace[f"_set{index}"] = getattr(cls, name).__set__
            self.slot_stores.append(f"{me}.{name} = {name}")
            self.descriptor_stores.append(f"_set{index}({me}, {name})")
        self.parameters = [*positional, *(["*", *keyword] if keyword else [])]
        self.frozen: bool = cls.__dataclass_params__.frozen  # type: ignore[attr-defined]
        self.twin = _twin(cls) if self.frozen and len(fields) >= _TWIN_FROM else None
        self.namespace["_twin"] = self.twin

    def define(self, name: str, parameters: list[str], body: list[str]) -> Any:
        source = f"def {name}({', '.join(parameters)}):\n" + "".join(f"    {line}\n" for line in body)
        exec(source, self.namespace)
        return self.namespace[name]


def _twin(cls: type[Any]) -> type[Any] | None:
    """A plain class with `cls`'s slots, so an instance may switch between the two; None if none can be.

    Only for a class of its own (a direct subclass of `object`, of metaclass `type`): a twin
    of a class with bases would share them, and with them their abstract methods, their
    ``__init_subclass__`` and their ``__setattr__``.
    """
    if cls in _TWINS:
        return _TWINS[cls]
    twin: type[Any] | None = None
    if type(cls) is type and cls.__bases__ == (object,):
        candidate = type(f"_{cls.__name__}Fields", (), {"__slots__": cls.__dict__["__slots__"]})
        probe = object.__new__(cls)
        try:
            _set_class(probe, candidate)  # refused if the layouts differ after all
            _set_class(probe, cls)
            twin = candidate
        except TypeError:
            pass
    _TWINS[cls] = twin
    return twin
