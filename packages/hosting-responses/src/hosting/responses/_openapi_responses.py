"""Response schemas of the OpenAPI document: the shapes `_render.py` and `_items.py` produce.

Required fields are the ones the renderers always write; the error envelope is closed
(exactly ``message``, ``type``, ``param``, ``code``), so an error body cannot carry
anything else, such as a stack trace.
"""

from __future__ import annotations

from ._openapi_requests import Schema, choice, const, nullable, obj, ref

_STATUSES = ["queued", "in_progress", "completed", "failed", "incomplete", "cancelled"]
_ITEM_STATUSES = ["in_progress", "completed", "incomplete", "failed"]

# -- response schemas ------------------------------------------------------------------------------


def response_schemas() -> dict[str, Schema]:
    string = {"type": "string"}
    optional_string = {"type": ["string", "null"]}
    item_status = {"enum": _ITEM_STATUSES}
    output_text = obj(
        {
            "type": const("output_text"),
            "text": string,
            "annotations": {"type": "array"},
            "logprobs": {"type": "array"},
        },
        "type",
        "text",
        "annotations",
    )
    input_content = {
        "oneOf": [
            obj({"type": const("input_text"), "text": string}, "type", "text"),
            obj(
                {
                    "type": const("input_image"),
                    "detail": string,
                    "file_id": optional_string,
                    "image_url": optional_string,
                },
                "type",
                "detail",
            ),
            obj(
                {
                    "type": const("input_file"),
                    **{name: optional_string for name in ("file_id", "file_url", "file_data", "filename")},
                },
                "type",
            ),
        ]
    }

    def item(kind: str, properties: dict[str, Schema], *required: str) -> Schema:
        fields = {"id": string, "type": const(kind), "status": item_status, **properties}
        return obj(fields, "id", "type", "status", *required)

    assistant = item(
        "message",
        {"role": const("assistant"), "content": {"type": "array", "items": output_text}},
        "role",
        "content",
    )
    input_message = item(
        "message",
        {"role": choice("user", "system", "developer"), "content": {"type": "array", "items": input_content}},
        "role",
        "content",
    )
    function_call = item(
        "function_call",
        {"call_id": string, "name": string, "arguments": string},
        "call_id",
        "name",
        "arguments",
    )
    function_output = item("function_call_output", {"call_id": string, "output": string}, "call_id", "output")
    reasoning = item(
        "reasoning",
        {"summary": {"type": "array", "items": obj({"type": const("summary_text"), "text": string})}},
        "summary",
    )
    # A tool the agent ran itself, its outcome inline: never a call the client must run.
    tool_step = item(
        "mcp_call",
        {
            "server_label": string,
            "name": string,
            "arguments": string,
            "output": optional_string,
            "error": nullable(
                obj({"type": const("mcp_tool_execution_error"), "content": {}}, "type", "content")
            ),
            "approval_request_id": optional_string,
        },
        "server_label",
        "name",
        "arguments",
    )
    usage = obj(
        {
            "input_tokens": {"type": "integer"},
            "input_tokens_details": {"type": "object"},
            "output_tokens": {"type": "integer"},
            "output_tokens_details": {"type": "object"},
            "total_tokens": {"type": "integer"},
        },
        "input_tokens",
        "output_tokens",
        "total_tokens",
    )
    response_fields: dict[str, Schema] = {
        "id": string,
        "object": const("response"),
        "created_at": {"type": "number"},
        "status": {"enum": _STATUSES},
        "background": {"type": ["boolean", "null"]},
        "completed_at": {"type": ["number", "null"]},
        "conversation": nullable(obj({"id": string}, "id")),
        "error": nullable(obj({"code": string, "message": string, "type": string}, "code", "message")),
        "incomplete_details": nullable(obj({"reason": optional_string, "cause": optional_string})),
        "instructions": optional_string,
        "metadata": {"type": "object", "additionalProperties": string},
        "model": string,
        "output": {"type": "array", "items": ref("OutputItem")},
        "parallel_tool_calls": {"type": "boolean"},
        "previous_response_id": optional_string,
        "store": {"type": "boolean"},
        "text": {"type": "object"},
        "tool_choice": {"type": ["string", "object"]},
        "tools": {"type": "array", "items": {"type": "object"}},
        "truncation": {"enum": ["auto", "disabled"]},
        "usage": nullable(usage),
        "user": optional_string,
    }
    return {
        "OutputItem": {"oneOf": [assistant, function_call, function_output, reasoning, tool_step]},
        "Item": {"oneOf": [assistant, input_message, function_call, function_output, reasoning, tool_step]},
        "Response": obj(response_fields, *response_fields),
        "DeletedResponse": obj(
            {"id": string, "object": const("response"), "deleted": {"const": True}}, "id", "object", "deleted"
        ),
        "ItemList": obj(
            {
                "object": const("list"),
                "data": {"type": "array", "items": ref("Item")},
                "first_id": optional_string,
                "last_id": optional_string,
                "has_more": {"type": "boolean"},
            },
            "object",
            "data",
            "first_id",
            "last_id",
            "has_more",
        ),
        "Model": obj(
            {"id": string, "object": const("model"), "created": {"type": "integer"}, "owned_by": string},
            "id",
            "object",
            "created",
            "owned_by",
        ),
        "ModelList": obj(
            {"object": const("list"), "data": {"type": "array", "items": ref("Model")}}, "object", "data"
        ),
        "Conversation": obj(
            {
                "id": string,
                "object": const("conversation"),
                "created_at": {"type": "integer"},
                "metadata": {"type": "object", "additionalProperties": string},
            },
            "id",
            "object",
            "created_at",
            "metadata",
        ),
        "ConversationList": obj(
            {
                "object": const("list"),
                "data": {
                    "type": "array",
                    "items": obj(
                        {
                            "id": string,
                            "object": const("conversation"),
                            "created_at": {"type": "integer"},
                            "metadata": {"type": "object", "additionalProperties": string},
                            "title": optional_string,
                        },
                        "id",
                        "object",
                        "created_at",
                        "metadata",
                        "title",
                    ),
                },
                "first_id": optional_string,
                "last_id": optional_string,
                "has_more": {"type": "boolean"},
            },
            "object",
            "data",
            "first_id",
            "last_id",
            "has_more",
        ),
        "DeletedConversation": obj(
            {"id": string, "object": const("conversation.deleted"), "deleted": {"const": True}},
            "id",
            "object",
            "deleted",
        ),
        "ServerSentEvent": {
            "description": "One event of a stream (each `event:` equal to its data's `type`), the last one "
            "`data: [DONE]`; keep-alives are SSE comments, not events.",
            **obj(
                {
                    "event": string,
                    "data": {
                        "anyOf": [
                            {"const": "[DONE]"},
                            {
                                "type": "string",
                                "contentMediaType": "application/json",
                                "contentSchema": ref("StreamEvent"),
                            },
                        ]
                    },
                },
                "data",
            ),
        },
        "StreamEvent": obj(
            {
                "type": {"type": "string", "pattern": "^response\\."},
                "sequence_number": {"type": "integer", "minimum": 0},
                "response": ref("Response"),
                "item": ref("OutputItem"),
            },
            "type",
            "sequence_number",
        ),
        "Error": obj(
            {
                "error": obj(
                    {
                        "message": {"type": "string", "minLength": 1},
                        "type": string,
                        "param": optional_string,
                        "code": optional_string,
                    },
                    "message",
                    "type",
                    "param",
                    "code",
                    closed=True,
                )
            },
            "error",
            closed=True,
        ),
    }
