"""The Response object, rendered from a core response record.

Every field of the SDK's `Response` type is present (null when unknown). Statuses
and reasons the SDK's types do not know are mapped onto ones they do (see
`error_body` and `incomplete_body`), keeping the original where the types leave
room for it.
"""

from __future__ import annotations

from typing import Any

from hosting.core import Usage
from hosting.core.stores import ResponseRecord, RunError

from ._items import render_output_item

# The SDK's `ResponseError.code` and `IncompleteDetails.reason` are closed sets.
ERROR_CODES = frozenset(
    {
        "server_error", "rate_limit_exceeded", "invalid_prompt", "data_residency_mismatch", "bio_policy",
        "misalignment_policy_violation", "vector_store_timeout", "invalid_image", "invalid_image_format",
        "invalid_base64_image", "invalid_image_url", "image_too_large", "image_too_small", "image_parse_error",
        "image_content_policy_violation", "invalid_image_mode", "image_file_too_large",
        "unsupported_image_media_type", "empty_image_file", "failed_to_download_image", "image_file_not_found",
    }
)  # fmt: skip
INCOMPLETE_REASONS = frozenset({"max_output_tokens", "max_messages", "content_filter", "steered"})

# The fields of the SDK's `Response` that echo the request (instructions, options, tools), as
# shown when the request did not give them; a request's `ResponseRecord.attributes` hold the
# ones it gave, normalized to the SDK's shapes by the parser. `metadata`, `text` and `tools`
# default to new objects in each body (see `response_body`).
_ECHOED: dict[str, Any] = {
    "instructions": None,
    "max_output_tokens": None,
    "max_tool_calls": None,
    "metadata": None,
    "parallel_tool_calls": True,
    "prompt_cache_key": None,
    "reasoning": None,
    "safety_identifier": None,
    "service_tier": None,
    "store": True,
    "temperature": 1.0,
    "text": None,
    "tool_choice": "auto",
    "tools": None,
    "top_logprobs": 0,
    "top_p": 1.0,
    "presence_penalty": 0.0,
    "frequency_penalty": 0.0,
    "truncation": "disabled",
    "user": None,
}

# Every field of the SDK's `Response`, as a body starts out (`response_body` fills in the rest):
# the echoed fields at their defaults, and the ones this channel has nothing to say about as
# null. Copying it is cheaper than building the body's forty keys one by one.
_FIELDS: dict[str, Any] = {
    "id": None,
    "object": "response",
    "created_at": None,
    "status": None,
    "background": False,
    "completed_at": None,
    "conversation": None,
    "error": None,
    "incomplete_details": None,
    "model": "",
    "output": None,
    "previous_response_id": None,
    "usage": None,
    **_ECHOED,
    "access_programs": None,
    "image": None,
    "input_transformations": None,
    "moderation": None,
    "prompt": None,
    "prompt_cache_diagnostics": None,
    "prompt_cache_options": None,
    "prompt_cache_retention": None,
    "tool_usage": None,
}


def usage_body(usage: Usage | None) -> dict[str, Any] | None:
    if usage is None:
        return None
    return {
        "input_tokens": usage.input_tokens,
        "input_tokens_details": {"cached_tokens": usage.cached_tokens, "cache_write_tokens": 0},
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.total_tokens,
    }


def error_body(error: RunError | None) -> dict[str, Any] | None:
    """A run's error; a code outside the SDK's set becomes ``server_error``, the original kept in ``type``."""
    if error is None:
        return None
    code = error.code if error.code in ERROR_CODES else "server_error"
    return {"code": code, "message": error.message, "param": None, "type": error.code}


def incomplete_body(status: str, reason: str | None) -> dict[str, Any] | None:
    """Why a run is incomplete. A reason outside the SDK's set (``run_timeout``, ``shutdown``) is
    reported as ``reason: null`` with the original under ``cause``."""
    if status != "incomplete":
        return None
    if reason in INCOMPLETE_REASONS:
        return {"reason": reason}
    return {"reason": None, "cause": reason}


def response_body(
    record: ResponseRecord,
    *,
    status: str | None = None,
    output: list[dict[str, Any]] | None = None,
    usage: Usage | None = None,
    error: RunError | None = None,
    incomplete_reason: str | None = None,
    completed_at: float | None = None,
) -> dict[str, Any]:
    """The Response object for `record`, with every field of the SDK's type (null when unknown).

    The keyword arguments override the record's outcome (the stream renders the final
    response from the created record and the run's last event).
    """
    status = status or record.status
    body = _FIELDS.copy()
    body["id"] = record.id
    # Whole seconds, as the API and the Open Responses schema have them (clients validate it).
    body["created_at"] = int(record.created_at)
    body["status"] = status
    body["background"] = record.background
    if completed_at is not None:
        body["completed_at"] = int(completed_at)
    if record.conversation_id:
        body["conversation"] = {"id": record.conversation_id}
    if error is not None:
        body["error"] = error_body(error)
    if status == "incomplete":
        body["incomplete_details"] = incomplete_body(status, incomplete_reason)
    body["model"] = record.agent or ""
    body["output"] = output if output is not None else []
    body["previous_response_id"] = record.previous_response_id
    if usage is not None:
        body["usage"] = usage_body(usage)
    body["metadata"] = {}
    body["tools"] = []
    for name, value in record.attributes.items():
        # What the request gave; other keys (another channel's details, the delivery report)
        # are not part of the Response object.
        if value is not None and name in _ECHOED:
            body[name] = value
    if not body["text"]:  # also an empty one, which older versions stored for ``text: {}``
        body["text"] = {"format": {"type": "text"}}
    return body


def render_response(record: ResponseRecord) -> dict[str, Any]:
    """The Response object of a stored (or just finished) record."""
    return response_body(
        record,
        output=[render_output_item(item) for item in record.output_items],
        usage=record.usage,
        error=record.error,
        incomplete_reason=record.incomplete_reason,
        completed_at=record.completed_at,
    )
