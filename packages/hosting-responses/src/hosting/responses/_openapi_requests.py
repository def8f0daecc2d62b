"""Request schemas of the OpenAPI document, bounded by the host's `Limits`.

Each schema says what `_request.py`, `_items.py` and `_conversations.py` accept:
the same types, ranges and closed sets, and the host's limits on items, text and
metadata. ``null`` is allowed wherever the parser treats it as absent.
"""

from __future__ import annotations

from typing import Any

from hosting.core import Limits

from ._options import ALLOWED_OPTIONS

Schema = dict[str, Any]

_ROLES = ["assistant", "developer", "system", "user"]


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def obj(properties: dict[str, Schema], *required: str, closed: bool = False) -> Schema:
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    if closed:
        schema["additionalProperties"] = False
    return schema


def const(value: str) -> Schema:
    return {"type": "string", "const": value}


def choice(*values: str) -> Schema:
    return {"type": "string", "enum": list(values)}


# -- request schemas -------------------------------------------------------------------------------


def request_schemas(limits: Limits) -> dict[str, Schema]:
    text: Schema = {"type": "string", "maxLength": limits.max_text_chars}
    optional_string = {"type": ["string", "null"]}
    text_part = obj(
        {"type": choice("input_text", "output_text", "text", "summary_text"), "text": text}, "type", "text"
    )
    image_part = {
        **obj(
            {
                "type": const("input_image"),
                "image_url": optional_string,
                "file_id": optional_string,
                "detail": {"enum": ["low", "high", "auto", "original", None, ""]},
            },
            "type",
        ),
        # One of the two must be a string.
        "anyOf": [
            {"required": ["image_url"], "properties": {"image_url": {"type": "string"}}},
            {"required": ["file_id"], "properties": {"file_id": {"type": "string"}}},
        ],
    }
    file_part = {
        **obj(
            {
                "type": const("input_file"),
                "file_id": optional_string,
                "file_url": optional_string,
                "file_data": optional_string,
                "filename": optional_string,
            },
            "type",
        ),
        "anyOf": [
            {"required": [name], "properties": {name: {"type": "string"}}}
            for name in ("file_id", "file_url", "file_data")
        ],
    }
    refusal_part = obj({"type": const("refusal"), "refusal": text}, "type", "refusal")
    message = obj(
        {
            "type": {"enum": ["message", None]},  # without a type, a role makes it a message
            "role": {"enum": _ROLES},
            "content": {"anyOf": [text, {"type": "array", "items": ref("InputContent")}]},
        },
        "role",
        "content",
    )
    function_call = obj(
        {"type": const("function_call"), "call_id": text, "name": text, "arguments": text},
        "type",
        "call_id",
        "name",
        "arguments",
    )
    function_output = obj(
        {
            "type": const("function_call_output"),
            "call_id": text,
            "output": {"anyOf": [text, {"type": "array", "items": text_part}]},
        },
        "type",
        "call_id",
        "output",
    )
    reasoning = obj(
        {
            "type": const("reasoning"),
            "summary": {"type": "array", "items": obj({"text": text}, "text")},
        },
        "type",
    )
    # A tool step the agent ran itself, replayed as it was answered (the error as the SDK's object,
    # or as text).
    tool_step = obj(
        {
            "type": const("mcp_call"),
            "server_label": text,
            "name": text,
            "arguments": text,
            "output": nullable(text),
            "error": {"anyOf": [text, {"type": "object"}, {"type": "null"}]},
        },
        "type",
        "server_label",
        "name",
        "arguments",
    )
    reference = obj({"type": const("item_reference"), "id": text}, "type", "id")
    return {
        "InputContent": {"oneOf": [text_part, refusal_part, image_part, file_part]},
        "InputItem": {"oneOf": [message, function_call, function_output, reasoning, tool_step, reference]},
        "NewItem": {"oneOf": [message, function_call, function_output, reasoning, tool_step]},
        "Metadata": {
            "type": "object",
            "maxProperties": limits.max_metadata_keys,
            "propertyNames": {"maxLength": limits.max_metadata_key_chars},
            "additionalProperties": {"type": "string", "maxLength": limits.max_metadata_value_chars},
        },
        "FunctionTool": obj(
            {
                "type": const("function"),
                "name": {"type": "string", "minLength": 1},
                "description": optional_string,
                "parameters": {"type": ["object", "null"]},
                "strict": {"type": ["boolean", "null"]},
            },
            "type",
            "name",
        ),
        "CreateResponse": _create_request(limits),
        "CreateConversation": obj(
            {
                "items": nullable({"type": "array", "maxItems": 20, "items": ref("NewItem")}),
                "metadata": nullable(ref("Metadata")),
            }
        ),
        "UpdateConversation": obj({"metadata": nullable(ref("Metadata"))}, "metadata"),
        "CreateConversationItems": obj(
            {"items": {"type": "array", "minItems": 1, "maxItems": 20, "items": ref("NewItem")}}, "items"
        ),
    }


def _create_request(limits: Limits) -> Schema:
    def number(low: float, high: float | None = None, *, integer: bool = False) -> Schema:
        schema: Schema = {"type": ["integer" if integer else "number", "null"], "minimum": low}
        if high is not None:
            schema["maximum"] = high
        return schema

    optional_string = {"type": ["string", "null"]}
    optional_bool = {"type": ["boolean", "null"]}
    summaries = {"enum": ["auto", "concise", "detailed", None]}
    tool_choice = {
        "anyOf": [
            {"type": "null"},
            choice("none", "auto", "required"),
            obj({"type": const("function"), "name": {"type": "string", "minLength": 1}}, "type", "name"),
            obj(
                {
                    "type": const("allowed_tools"),
                    "mode": choice("auto", "required"),
                    "tools": {"type": "array", "items": {"type": "object"}},
                },
                "type",
                "mode",
                "tools",
            ),
        ]
    }
    text_format = {
        "oneOf": [
            obj({"type": choice("text", "json_object")}, "type"),
            obj(
                {
                    "type": const("json_schema"),
                    "name": {"type": "string"},
                    "schema": {"type": "object"},
                    "description": optional_string,
                    "strict": optional_bool,
                },
                "type",
                "name",
                "schema",
            ),
        ]
    }
    properties: dict[str, Schema] = {
        "input": {
            "anyOf": [
                {"type": "string", "maxLength": limits.max_text_chars},
                {"type": "array", "maxItems": limits.max_input_items, "items": ref("InputItem")},
            ]
        },
        "model": optional_string,
        "instructions": {"type": ["string", "null"], "maxLength": limits.max_text_chars},
        "previous_response_id": optional_string,
        "conversation": {
            "anyOf": [
                {"type": "null"},
                {"type": "string", "minLength": 1},
                obj({"id": {"type": "string", "minLength": 1}}, "id"),
            ]
        },
        "tools": nullable({"type": "array", "items": ref("FunctionTool")}),
        "metadata": nullable(ref("Metadata")),
        "stream": optional_bool,
        "store": optional_bool,
        "background": optional_bool,
        "include": nullable({"type": "array", "items": {"type": "string"}}),
        "max_output_tokens": number(1, integer=True),
        "max_tool_calls": number(1, integer=True),
        "parallel_tool_calls": optional_bool,
        "prompt_cache_key": optional_string,
        "reasoning": nullable(
            obj(
                {
                    "effort": {"enum": ["none", "minimal", "low", "medium", "high", "xhigh", "max", None]},
                    "summary": summaries,
                    "generate_summary": summaries,
                }
            )
        ),
        "safety_identifier": optional_string,
        "service_tier": {"enum": ["auto", "default", "flex", "scale", "priority", None]},
        "temperature": number(0, 2),
        "text": nullable(
            obj({"format": nullable(text_format), "verbosity": {"enum": ["low", "medium", "high", None]}})
        ),
        "tool_choice": tool_choice,
        "top_logprobs": number(0, 20, integer=True),
        "top_p": number(0, 1),
        "truncation": {"enum": ["auto", "disabled", None]},
        "user": optional_string,
    }
    missing = set(ALLOWED_OPTIONS) - set(properties)
    if missing:  # pragma: no cover - a new option must be documented here first
        raise RuntimeError(f"options missing from the OpenAPI document: {sorted(missing)}")
    given = {"type": ["string", "object"]}  # present and not null: the parser reads null as absent
    return {
        **obj(properties, "input"),
        # Rules across fields, each a 400 when broken.
        "allOf": [
            {  # an item_reference resolves against a chain or a conversation
                "if": {
                    "properties": {
                        "input": {
                            "type": "array",
                            "contains": obj({"type": const("item_reference")}, "type"),
                        }
                    },
                    "required": ["input"],
                },
                "then": {
                    "anyOf": [
                        obj({"previous_response_id": {"type": "string"}}, "previous_response_id"),
                        obj({"conversation": given}, "conversation"),
                    ]
                },
            },
            {
                "not": obj(
                    {"previous_response_id": {"type": "string"}, "conversation": given},
                    "previous_response_id",
                    "conversation",
                )
            },
            {"not": obj({"background": {"const": True}, "store": {"const": False}}, "background", "store")},
            {"not": obj({"conversation": given, "store": {"const": False}}, "conversation", "store")},
        ],
        "description": "Fields not listed here are accepted and ignored (the SDK may send newer ones).",
        "examples": [
            {"model": "assistant", "input": "Hello!"},
            {
                "model": "assistant",
                "input": [{"role": "user", "content": [{"type": "input_text", "text": "Hi"}]}],
                "instructions": "Be brief.",
                "metadata": {"ticket": "42"},
                "temperature": 0.2,
                "store": True,
            },
        ],
    }
