"""The public surface: `__all__` is complete, sorted and importable; the scripted client behaves."""

from __future__ import annotations

import importlib
import inspect

import pytest
from agent_framework import Content
from agent_framework import Message as AFMessage

import hosting.agent_framework
from hosting.agent_framework import ScriptedChatClient


def test_all_is_sorted_unique_and_importable() -> None:
    names = hosting.agent_framework.__all__
    assert list(names) == sorted(
        names, key=lambda name: (0 if name.isupper() else 1 if name[0].isupper() else 2, name)
    )
    assert len(set(names)) == len(names)
    module = importlib.import_module("hosting.agent_framework")
    for name in names:
        assert hasattr(module, name), name


def test_every_public_object_defined_in_a_private_module_is_exported() -> None:
    public = set(hosting.agent_framework.__all__)
    for name, value in vars(hosting.agent_framework).items():
        if name.startswith("_") or inspect.ismodule(value):
            continue
        if getattr(value, "__module__", "").startswith("hosting.agent_framework."):
            assert name in public, f"{name} is importable from hosting.agent_framework but not in __all__"


async def test_the_scripted_client_replies_in_order_then_responds_then_runs_out() -> None:
    client = ScriptedChatClient([["first"]], respond=lambda messages: [f"re: {messages[-1].text}"])
    first = await client.get_response([AFMessage("user", ["a"])])
    second = await client.get_response([AFMessage("user", ["b"])])
    assert (first.text, second.text) == ("first", "re: b")
    assert [call.texts for call in client.calls] == [[("user", "a")], [("user", "b")]]

    exhausted = ScriptedChatClient([[Content.from_text("only")]])
    streamed = [
        update.text async for update in exhausted.get_response([AFMessage("user", ["x"])], stream=True)
    ]
    assert streamed == ["only"]
    with pytest.raises(RuntimeError, match="no reply left for model call 2"):
        await exhausted.get_response([AFMessage("user", ["y"])])
