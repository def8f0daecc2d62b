"""`fast_init`: the same constructor as the dataclass's, only faster; instances stay frozen."""

from __future__ import annotations

import abc
import dataclasses
import inspect
import typing
import weakref
from typing import Any

import pytest

from hosting.core import ChannelRequest, Message, ResponseRecord, TextPart
from hosting.core._fast_init import constructor, fast_init


@dataclasses.dataclass(frozen=True, slots=True)
class Plain:
    name: str
    count: int = 3
    tags: list[str] = dataclasses.field(default_factory=list)


@fast_init
@dataclasses.dataclass(frozen=True, slots=True)
class Fast:
    name: str
    count: int = 3
    tags: list[str] = dataclasses.field(default_factory=list)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [(("a",), {}), (("a", 5), {}), ((), {"name": "b", "tags": ["x"]}), (("c",), {"count": 0, "tags": []})],
)
def test_it_builds_what_the_dataclass_builds(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    plain, fast = Plain(*args, **kwargs), Fast(*args, **kwargs)
    assert dataclasses.astuple(plain) == dataclasses.astuple(fast)
    assert repr(fast).replace("Fast", "Plain") == repr(plain)


def test_defaults_come_from_each_factory_call_and_instances_stay_frozen() -> None:
    first, second = Fast("a"), Fast("b")
    assert first.tags == [] and first.tags is not second.tags
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.name = "changed"  # type: ignore[misc]
    assert dataclasses.replace(first, count=9) == Fast("a", 9)
    assert Fast("a") == Fast("a") and hash(Fast("a", tags=())) == hash(Fast("a", tags=()))  # type: ignore[arg-type]


def test_wrong_calls_fail_as_they_would_with_the_dataclass() -> None:
    for build in (Plain, Fast):
        with pytest.raises(TypeError):
            build()  # type: ignore[call-arg]
        with pytest.raises(TypeError):
            build("a", nope=1)  # type: ignore[call-arg]
        with pytest.raises(TypeError):
            build("a", 1, [], "extra")  # type: ignore[call-arg]
    assert list(inspect.signature(Fast).parameters) == ["name", "count", "tags"]


def test_it_refuses_classes_it_cannot_speed_up_faithfully() -> None:
    @dataclasses.dataclass(slots=True)
    class Mutable:
        name: str

    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        name: str

    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        name: str

        def __post_init__(self) -> None:
            pass

    for cls in (Mutable, NoSlots, Checked):
        with pytest.raises(TypeError):
            fast_init(cls)


def test_the_hot_records_of_the_host_use_it() -> None:
    record = ResponseRecord("resp_1", "alice", 1.0, "in_progress", attributes={"a": 1})
    assert record.evolve(status="completed").status == "completed"
    assert record.evolve(status="completed").attributes == {"a": 1}
    with pytest.raises(TypeError):
        record.evolve(nope=1)
    message = Message("user", (TextPart("hi"),))
    assert message.text == "hi" and message.id is None
    assert ChannelRequest(channel="x", input=(message,)).store is True
    for cls in (ResponseRecord, Message, TextPart, ChannelRequest):
        assert cls.__init__.__module__ == cls.__module__ and cls.__init__.__qualname__.endswith("__init__")


def test_the_final_record_of_a_run_is_the_created_one_with_its_outcome() -> None:
    # `_ended` passes every field by position: a field added or moved must not shift the others.
    from hosting.core import RunError, Usage
    from hosting.core._engine import _ended

    created = ResponseRecord(
        "resp_1",
        "alice",
        1.5,
        "in_progress",
        channel="responses",
        agent="helper",
        input_items=(Message("user", (TextPart("hi"),)),),
        previous_response_id="resp_0",
        conversation_id="conv_1",
        background=True,
        attributes={"metadata": {"k": "v"}},
    )
    output = (Message("assistant", (TextPart("hello"),)),)
    usage, error = Usage(input_tokens=1, output_tokens=2), RunError("boom", "it broke")
    final = _ended(created, "failed", output, usage, error, "max_output_tokens")
    assert final.completed_at is not None and final.completed_at >= created.created_at
    expected = created.evolve(
        status="failed",
        output_items=output,
        usage=usage,
        error=error,
        incomplete_reason="max_output_tokens",
        completed_at=final.completed_at,
    )
    assert final == expected


def test_a_subclass_that_keeps_the_fast_init_is_built_field_by_field() -> None:
    class Tagged(ResponseRecord):  # not a dataclass of its own: it inherits the generated __init__
        __slots__ = ("tag",)

    record = Tagged("resp_1", "alice", 1.0, "queued", agent="helper")
    assert type(record) is Tagged and record.status == "queued" and record.agent == "helper"
    plain = ResponseRecord("resp_1", "alice", 1.0, "queued", agent="helper")
    assert dataclasses.astuple(record) == dataclasses.astuple(plain)
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.status = "completed"  # type: ignore[misc]


@dataclasses.dataclass(slots=True)
class Loose:
    name: str
    count: int = 3
    tags: list[str] = dataclasses.field(default_factory=list)


@pytest.mark.parametrize("cls", [Plain, Fast, Loose, ResponseRecord, ChannelRequest, Message, TextPart])
def test_a_constructor_builds_what_calling_the_class_builds(cls: type[Any]) -> None:
    build = constructor(cls)
    examples: dict[type[Any], tuple[tuple[Any, ...], dict[str, Any]]] = {
        Plain: (("a",), {"tags": ["x"]}),
        Fast: (("a", 5), {}),
        Loose: ((), {"name": "b"}),
        ResponseRecord: (("resp_1", "alice", 1.0, "queued"), {"agent": "helper", "background": True}),
        ChannelRequest: ((), {"channel": "x", "input": (), "store": False, "metadata": {"k": "v"}}),
        Message: (("user", (TextPart("hi"),)), {"id": "msg_1"}),
        TextPart: (("hi",), {}),
    }
    args, kwargs = examples[cls]
    built, called = build(*args, **kwargs), cls(*args, **kwargs)
    assert type(built) is cls and built == called and repr(built) == repr(called)
    if cls.__dataclass_params__.frozen:
        with pytest.raises(dataclasses.FrozenInstanceError):
            built.__setattr__(dataclasses.fields(cls)[0].name, "changed")
    else:
        built.name = "changed"  # a class that is not frozen stays so
        assert built.name == "changed"


def test_a_constructor_calls_default_factories_each_time_and_refuses_wrong_calls() -> None:
    build = constructor(ResponseRecord)
    first, second = build("resp_1", "alice", 1.0, "queued"), build("resp_2", "alice", 1.0, "queued")
    assert first.attributes == {} and first.attributes is not second.attributes
    with pytest.raises(TypeError):
        build("resp_1", "alice", 1.0)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        build("resp_1", "alice", 1.0, "queued", nope=1)  # type: ignore[call-arg]
    for cls in (Plain, Loose):
        with pytest.raises(TypeError):
            constructor(cls)()  # type: ignore[call-arg]

    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        name: str

    @dataclasses.dataclass(slots=True)
    class Checked:
        name: str

        def __post_init__(self) -> None:
            pass

    for unfit in (NoSlots, Checked, dict):
        with pytest.raises(TypeError):
            constructor(unfit)


def test_keyword_only_fields_stay_keyword_only() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Base:
        x: int = dataclasses.field(default=0, kw_only=True)

    @fast_init
    @dataclasses.dataclass(frozen=True, slots=True)
    class Sub(Base):
        y: int = 1

    @fast_init
    @dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
    class Late:
        a: int = 1
        b: int
        c: int = 3
        d: int = 4
        e: int = 5

    assert Sub(5) == constructor(Sub)(5) == Sub(x=0, y=5)
    assert Late(b=2) == constructor(Late)(b=2) and Late(b=2).b == 2
    for build in (Late, constructor(Late)):
        with pytest.raises(TypeError):
            build(1, 2)  # type: ignore[misc]


def test_classes_with_bases_or_a_weakref_slot_are_built_without_a_twin() -> None:
    created: list[str] = []

    class Registering:
        __slots__ = ()

        def __init_subclass__(cls) -> None:
            created.append(cls.__name__)

    class Shape(abc.ABC):  # noqa: B024 - abstract only through its subclass's contract
        __slots__ = ()

    item = typing.TypeVar("item")

    @dataclasses.dataclass(frozen=True, slots=True)
    class Registered(Registering):
        a: int
        b: int = 0
        c: int = 0
        d: int = 0
        e: int = 0

    @dataclasses.dataclass(frozen=True, slots=True)
    class Square(Shape):
        a: int
        b: int = 0
        c: int = 0
        d: int = 0
        e: int = 0

    @dataclasses.dataclass(frozen=True, slots=True)
    class Boxed(typing.Generic[item]):
        a: item
        b: int = 0
        c: int = 0
        d: int = 0
        e: int = 0

    @dataclasses.dataclass(frozen=True, slots=True, weakref_slot=True)
    class Referenced:
        a: int
        b: int = 0
        c: int = 0
        d: int = 0
        e: int = 0

    made = list(created)  # the dataclass's own class creations
    for cls in (Registered, Square, Boxed, Referenced):
        expected = cls(1, 2)
        fast_init(cls)
        for built in (cls(1, 2), constructor(cls)(1, 2)):
            assert type(built) is cls and built == expected
            with pytest.raises(dataclasses.FrozenInstanceError):
                built.a = 3
    assert created == made  # no twin was made of a class with a base
    referenced = constructor(Referenced)(1)
    assert weakref.ref(referenced)() is referenced


def test_a_failing_default_factory_leaves_the_instance_as_it_was() -> None:
    def refuse() -> list[str]:
        raise ValueError("no default")

    @fast_init
    @dataclasses.dataclass(frozen=True, slots=True)
    class Wide:
        a: int
        b: int = 0
        c: int = 0
        d: int = 0
        tags: list[str] = dataclasses.field(default_factory=refuse)

    wide = Wide(1, tags=["x"])
    with pytest.raises(ValueError, match="no default"):
        wide.__init__(2)  # type: ignore[misc]
    assert type(wide) is Wide and wide == Wide(1, tags=["x"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        wide.b = 7  # type: ignore[misc]
    with pytest.raises(ValueError, match="no default"):
        constructor(Wide)(1)


def test_a_field_called_self_and_a_class_with_its_own_new() -> None:
    @fast_init
    @dataclasses.dataclass(frozen=True, slots=True)
    class Odd:
        self: int
        other: int = 2

    assert Odd(1) == constructor(Odd)(1) and Odd(self=5).self == 5

    @dataclasses.dataclass(slots=True)
    class Made:
        name: str

        def __new__(cls, *args: Any, **kwargs: Any) -> Made:
            return super().__new__(cls)

    with pytest.raises(TypeError, match="__new__"):
        constructor(Made)
