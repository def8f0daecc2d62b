"""The options of a ``POST /responses`` body, each checked for its type and range.

Generation options reach the agent only through `ALLOWED_OPTIONS` (in
``RunContext.options``, under their wire names). What the Response object must
echo back (tools, tool_choice, text, reasoning, ...) is normalized to the SDK's
shapes here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hosting.core import Limits, ToolSpec
from hosting.core.channels import DeliveryTarget, OutputFormat

from ._errors import invalid

ALLOWED_OPTIONS: tuple[str, ...] = (
    "include",
    "max_output_tokens",
    "max_tool_calls",
    "parallel_tool_calls",
    "prompt_cache_key",
    "reasoning",
    "safety_identifier",
    "service_tier",
    "temperature",
    "text",
    "tool_choice",
    "top_logprobs",
    "top_p",
    "truncation",
    "user",
)
"""The request fields passed on to the agent as ``RunContext.options`` (when the client sent them)."""

_TOOL_CHOICES = frozenset({"none", "auto", "required"})
_EFFORTS = frozenset({"none", "minimal", "low", "medium", "high", "xhigh", "max"})
_SUMMARIES = frozenset({"auto", "concise", "detailed"})
_VERBOSITIES = frozenset({"low", "medium", "high"})
_SERVICE_TIERS = frozenset({"auto", "default", "flex", "scale", "priority"})
_TRUNCATIONS = frozenset({"auto", "disabled"})


def _type_error(param: str, expected: str) -> Exception:
    return invalid(f"Invalid type for '{param}': expected {expected}.", param, code="invalid_type")


def _value_error(param: str, expected: str) -> Exception:
    return invalid(f"Invalid value for '{param}': expected {expected}.", param, code="invalid_value")


def _bool(body: Mapping[str, Any], name: str, default: bool) -> bool:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise _type_error(name, "a boolean")
    return value


def _number(body: Mapping[str, Any], name: str, low: float, high: float) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _type_error(name, "a number")
    if not low <= value <= high:
        raise invalid(f"'{name}' must be between {low:g} and {high:g}.", name, code="invalid_value")
    return float(value)


def _integer(body: Mapping[str, Any], name: str, low: int, high: int | None = None) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON has one number type: 20.0 is the integer 20 (as JSON Schema says)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _type_error(name, "an integer")
    if value < low or (high is not None and value > high):
        bound = f"at least {low}" if high is None else f"between {low} and {high}"
        raise invalid(f"'{name}' must be {bound}.", name, code="invalid_value")
    return value


def _string(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _type_error(name, "a string")
    return value


def _choice(body: Mapping[str, Any], name: str, allowed: frozenset[str], *, within: str = "") -> str | None:
    value = body.get(name)
    if value is None:
        return None
    # isinstance first: a list or an object is unhashable, and `in` a frozenset would raise.
    if not isinstance(value, str) or value not in allowed:
        raise _value_error(f"{within}{name}", "one of " + ", ".join(sorted(allowed)))
    return str(value)


def _metadata(body: Mapping[str, Any], limits: Limits) -> dict[str, str] | None:
    value = body.get("metadata")
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _type_error("metadata", "an object of string values")
    if len(value) > limits.max_metadata_keys:
        raise invalid(
            f"'metadata' may hold at most {limits.max_metadata_keys} keys.", "metadata", code="invalid_value"
        )
    for key, entry in value.items():
        if len(key) > limits.max_metadata_key_chars:
            raise invalid(
                f"Metadata keys may have at most {limits.max_metadata_key_chars} characters.",
                "metadata",
                code="invalid_value",
            )
        if not isinstance(entry, str):
            raise _type_error(f"metadata.{key[:64]}", "a string")
        if len(entry) > limits.max_metadata_value_chars:
            raise invalid(
                f"Metadata values may have at most {limits.max_metadata_value_chars} characters.",
                f"metadata.{key[:64]}",
                code="invalid_value",
            )
    return dict(value)


def _tools(body: Mapping[str, Any]) -> tuple[tuple[ToolSpec, ...], list[dict[str, Any]]]:
    value = body.get("tools")
    if value is None:
        return (), []
    if not isinstance(value, list):
        raise _type_error("tools", "an array")
    specs: list[ToolSpec] = []
    echoed: list[dict[str, Any]] = []
    for index, tool in enumerate(value):
        param = f"tools[{index}]"
        if not isinstance(tool, dict):
            raise _type_error(param, "an object")
        if tool.get("type") != "function":
            raise invalid(
                f"Invalid value for '{param}.type': only function tools are supported "
                f"(got {str(tool.get('type'))[:64]!r}).",
                f"{param}.type",
                code="invalid_value",
            )
        name = tool.get("name")
        if not isinstance(name, str) or not name:
            raise invalid(
                f"Missing required parameter: '{param}.name'.",
                f"{param}.name",
                code="missing_required_parameter",
            )
        description = _string(tool, "description") if "description" in tool else None
        parameters = tool.get("parameters")
        if parameters is not None and not isinstance(parameters, dict):
            raise _type_error(f"{param}.parameters", "an object")
        strict = tool.get("strict")
        if strict is not None and not isinstance(strict, bool):
            raise _type_error(f"{param}.strict", "a boolean")
        specs.append(ToolSpec(name=name, description=description, parameters=parameters, strict=strict))
        echoed.append(
            {
                "type": "function",
                "name": name,
                "description": description,
                "parameters": parameters,
                "strict": strict,
            }
        )
    return tuple(specs), echoed


def _tool_choice(body: Mapping[str, Any]) -> str | dict[str, Any] | None:
    value = body.get("tool_choice")
    if value is None:
        return None
    if isinstance(value, str):
        if value not in _TOOL_CHOICES:
            raise _value_error("tool_choice", "none, auto, required or a tool")
        return value
    if isinstance(value, dict):
        kind = value.get("type")
        if kind == "function":
            name = value.get("name")
            if not isinstance(name, str) or not name:
                raise invalid(
                    "Missing required parameter: 'tool_choice.name'.",
                    "tool_choice.name",
                    code="missing_required_parameter",
                )
            return {"type": "function", "name": name}
        if kind == "allowed_tools":
            mode = value.get("mode")
            tools = value.get("tools")
            if mode not in ("auto", "required") or not isinstance(tools, list):
                raise _value_error("tool_choice", "allowed_tools with a mode (auto, required) and tools")
            if not all(isinstance(tool, dict) for tool in tools):
                raise _type_error("tool_choice.tools", "an array of objects")
            return {"type": "allowed_tools", "mode": mode, "tools": tools}
    raise _value_error("tool_choice", "none, auto, required, a function or allowed_tools")


def _text(body: Mapping[str, Any]) -> dict[str, Any] | None:
    value = body.get("text")
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _type_error("text", "an object")
    result: dict[str, Any] = {}
    fmt = value.get("format")
    if fmt is not None:
        if not isinstance(fmt, dict):
            raise _type_error("text.format", "an object")
        kind = fmt.get("type")
        if kind in ("text", "json_object"):
            result["format"] = {"type": kind}
        elif kind == "json_schema":
            name, schema = fmt.get("name"), fmt.get("schema")
            if not isinstance(name, str) or not isinstance(schema, dict):
                raise invalid(
                    "'text.format' of type json_schema needs a 'name' and a 'schema' object.",
                    "text.format",
                    code="invalid_value",
                )
            description, strict = fmt.get("description"), fmt.get("strict")
            if description is not None and not isinstance(description, str):
                raise _type_error("text.format.description", "a string")
            if strict is not None and not isinstance(strict, bool):
                raise _type_error("text.format.strict", "a boolean")
            result["format"] = {
                "type": "json_schema",
                "name": name,
                "schema": schema,
                "description": description,
                "strict": strict,
            }
        else:
            raise _value_error("text.format.type", "text, json_object or json_schema")
    verbosity = _choice(value, "verbosity", _VERBOSITIES, within="text.")
    if verbosity is not None:
        result["verbosity"] = verbosity
    return result or None  # an empty ``text`` asks for nothing: the default plain text


def output_format(text: Mapping[str, Any] | None) -> OutputFormat | None:
    """The agent's `OutputFormat` for a checked ``text`` option (None for plain text)."""
    fmt = (text or {}).get("format")
    if fmt is None or fmt["type"] == "text":
        return None
    if fmt["type"] == "json_object":
        return OutputFormat("json_object")
    return OutputFormat(
        "json_schema",
        name=fmt["name"],
        schema=fmt["schema"],
        strict=fmt["strict"],
        description=fmt["description"],
    )


def _reasoning(body: Mapping[str, Any]) -> dict[str, Any] | None:
    value = body.get("reasoning")
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _type_error("reasoning", "an object")
    return {
        "effort": _choice(value, "effort", _EFFORTS, within="reasoning."),
        "summary": _choice(value, "summary", _SUMMARIES, within="reasoning."),
        "generate_summary": _choice(value, "generate_summary", _SUMMARIES, within="reasoning."),
    }


def _include(body: Mapping[str, Any]) -> list[str] | None:
    value = body.get("include")
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(entry, str) for entry in value):
        raise _type_error("include", "an array of strings")
    return list(value)


def _conversation(body: Mapping[str, Any]) -> str | None:
    value = body.get("conversation")
    if value is None:
        return None
    if isinstance(value, dict):
        value = value.get("id")
    if not isinstance(value, str) or not value:
        raise _type_error("conversation", "a conversation id or an object with an 'id'")
    return value


# -- the whole body --------------------------------------------------------------------------------


_OPTION_PARSERS: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    "include": _include,
    "max_output_tokens": lambda body: _integer(body, "max_output_tokens", 1),
    "max_tool_calls": lambda body: _integer(body, "max_tool_calls", 1),
    "parallel_tool_calls": lambda body: _bool(body, "parallel_tool_calls", True),
    "prompt_cache_key": lambda body: _string(body, "prompt_cache_key"),
    "reasoning": _reasoning,
    "safety_identifier": lambda body: _string(body, "safety_identifier"),
    "service_tier": lambda body: _choice(body, "service_tier", _SERVICE_TIERS),
    "temperature": lambda body: _number(body, "temperature", 0.0, 2.0),
    "text": _text,
    "tool_choice": _tool_choice,
    "top_logprobs": lambda body: _integer(body, "top_logprobs", 0, 20),
    "top_p": lambda body: _number(body, "top_p", 0.0, 1.0),
    "truncation": lambda body: _choice(body, "truncation", _TRUNCATIONS),
    "user": lambda body: _string(body, "user"),
}


def _deliver_to(body: Mapping[str, Any]) -> DeliveryTarget:
    """``deliver_to``, an extension field (the openai SDK sends it with ``extra_body``): the channels
    a completed run's answer is pushed to, at the caller's linked address on each (a Telegram chat
    linked with ``/link``). A channel name, a list of names, or ``"linked"`` (every channel the
    caller linked); absent or null: nowhere."""
    value = body.get("deliver_to")
    if value is None:
        return None
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or not all(isinstance(name, str) for name in names):
        raise _type_error("deliver_to", "a channel name or a non-empty list of channel names")
    if len(names) > 16 or not all(0 < len(name) <= 64 for name in names):
        raise _value_error("deliver_to", "at most 16 channel names of 1 to 64 characters")
    return "linked" if names == ["linked"] else tuple(names)
