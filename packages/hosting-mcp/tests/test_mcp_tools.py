"""The agents as tools: names, descriptions, schemas, and how a call's arguments are checked."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from hosting.core import ConfigurationError, InvalidRequestError, LimitExceededError, Limits
from hosting.mcp._tools import INPUT_SCHEMA, OUTPUT_SCHEMA, AgentTools, ToolCall, parse_arguments, tool_name
from hosting.testing import EchoAgent, ScriptedAgent, channel_context


def test_schemas_are_valid_json_schemas() -> None:
    jsonschema.Draft202012Validator.check_schema(INPUT_SCHEMA)
    jsonschema.Draft202012Validator.check_schema(OUTPUT_SCHEMA)
    assert INPUT_SCHEMA["type"] == OUTPUT_SCHEMA["type"] == "object"  # MCP requires an object at the root
    assert INPUT_SCHEMA["required"] == ["input"]


@pytest.mark.parametrize(
    ("agent_name", "expected"),
    [
        ("echo", "echo"),
        ("support.bot-2_x", "support.bot-2_x"),
        ("my agent/v1", "my_agent_v1"),
        ("ünïcode", "_n_code"),
        ("x" * 200, "x" * 128),
        ("", "agent"),
    ],
)
def test_tool_names_keep_to_what_mcp_allows(agent_name: str, expected: str) -> None:
    assert tool_name(agent_name) == expected


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"input": "hi"}, ToolCall("hi", None)),
        ({"input": "hi", "conversation": "conv_1"}, ToolCall("hi", "conv_1")),
        ({"input": "hi", "conversation": None}, ToolCall("hi", None)),
        ({"input": "x" * 10}, ToolCall("x" * 10, None)),
    ],
)
def test_good_arguments(arguments: dict[str, Any], expected: ToolCall) -> None:
    assert parse_arguments(arguments, Limits(max_text_chars=10)) == expected


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (None, "'input' is required"),
        ({}, "'input' is required"),
        ({"input": None}, "'input' is required"),
        ({"input": 1}, "'input' is required"),
        ({"input": ""}, "'input' is required"),
        ({"input": {"text": "hi"}}, "'input' is required"),
        ({"input": "hi", "conversation": 1}, "'conversation' must be"),
        ({"input": "hi", "conversation": ""}, "'conversation' must be"),
        ({"input": "hi", "conversation": ["conv_1"]}, "'conversation' must be"),
        ({"input": "hi", "b": 1, "a": 2}, "Unknown argument 'a', 'b'"),
    ],
)
def test_bad_arguments(arguments: dict[str, Any] | None, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        parse_arguments(arguments, Limits())


def test_input_longer_than_the_hosts_limit() -> None:
    with pytest.raises(LimitExceededError, match="limit of 10 characters"):
        parse_arguments({"input": "x" * 11}, Limits(max_text_chars=10))


class DescribedAgent(EchoAgent):
    description = "Answers questions about the weather."


async def test_one_tool_per_agent_default_first_with_descriptions() -> None:
    agents: dict[str, Any] = {
        "main": EchoAgent(),
        "weather": DescribedAgent(),
        "other agent": ScriptedAgent(["x"]),
    }
    async with channel_context(agents) as context:
        tools = AgentTools(context, descriptions={"main": "The main agent."})
        listed = await tools.list_tools(None, None)  # type: ignore[arg-type]
    assert [tool.name for tool in listed.tools] == ["main", "weather", "other_agent"]
    assert [tool.title for tool in listed.tools] == ["main", "weather", "other agent"]
    assert [tool.description for tool in listed.tools] == [
        "The main agent.",
        "Answers questions about the weather.",
        "Ask the agent 'other agent'. Its answer gives a conversation id to continue with.",
    ]
    assert tools.agent_of_tool == {"main": "main", "weather": "weather", "other_agent": "other agent"}
    assert tools.input_schema("weather") == INPUT_SCHEMA
    assert tools.input_schema("nothing") is None


async def test_agents_whose_tool_names_collide_are_refused() -> None:
    async with channel_context({"a b": EchoAgent(), "a/b": EchoAgent()}) as context:
        with pytest.raises(ConfigurationError, match="same MCP tool name 'a_b'"):
            AgentTools(context)
