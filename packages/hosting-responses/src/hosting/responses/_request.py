"""``POST /responses`` bodies -> channel-neutral `ChannelRequest`s.

Every field is checked for its type and range here, so a bad request is a 400
naming its ``param`` before anything runs. Generation options reach the agent
only through `ALLOWED_OPTIONS` (in ``RunContext.options``, under their wire
names); fields the agent gets elsewhere (``input``, ``instructions``, ``tools``,
``metadata``) have their own slots. Fields this channel does not know are
accepted and ignored, as the SDK may send newer ones.

What the Response object must echo back (instructions, tools, tool_choice, text,
reasoning, ...) is normalized to the SDK's shapes and kept in
``ChannelRequest.attributes``, which the engine stores with the response, so a
later ``GET`` renders exactly what the create call answered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from hosting.core import Item, Limits
from hosting.core.channels import OUTPUT_FORMAT_OPTION, ChannelRequest

from ._errors import invalid
from ._items import ItemReference, parse_input
from ._options import (
    _OPTION_PARSERS,
    _bool,
    _conversation,
    _deliver_to,
    _metadata,
    _string,
    _tools,
    output_format,
)

_OPTION_NAMES = frozenset(_OPTION_PARSERS)


@dataclass(slots=True)
class CreateRequest:
    """A parsed ``POST /responses``: the request, and its input before references are resolved."""

    request: ChannelRequest
    input: list[Item | ItemReference] = field(default_factory=list)
    references: list[ItemReference] = field(default_factory=list)
    """The input's ``item_reference`` entries, in order (while any is left, `request` has no input)."""


# -- field checks ----------------------------------------------------------------------------------


def parse_create(body: Any, *, channel: str, limits: Limits) -> CreateRequest:
    """Check a ``POST /responses`` body and turn it into a `CreateRequest`."""
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object.", None, code="invalid_body")
    if "input" not in body:
        raise invalid("Missing required parameter: 'input'.", "input", code="missing_required_parameter")
    items = parse_input(body["input"], limits=limits)

    model = _string(body, "model")
    instructions = _string(body, "instructions")
    if instructions is not None and len(instructions) > limits.max_text_chars:
        raise invalid(
            f"'instructions' is longer than the limit of {limits.max_text_chars} characters.",
            "instructions",
            code="string_above_max_length",
        )
    previous_response_id = _string(body, "previous_response_id")
    conversation_id = _conversation(body)
    if previous_response_id is not None and conversation_id is not None:
        raise invalid(
            "'previous_response_id' and 'conversation' cannot be used together.",
            "previous_response_id",
            code="mutually_exclusive_parameters",
        )
    tools, echoed_tools = _tools(body)
    metadata = _metadata(body, limits)
    stream = _bool(body, "stream", False)
    store = _bool(body, "store", True)
    background = _bool(body, "background", False)
    deliver_to = _deliver_to(body)

    # Only the options the body has are checked (most bodies have none or few). Those not given
    # are not kept: the Response object renders a missing one as its default.
    given: dict[str, Any] = {}
    options: dict[str, Any] = {}
    if not _OPTION_NAMES.isdisjoint(body):
        for name, check in _OPTION_PARSERS.items():  # in a fixed order: the first bad one is reported
            if name in body:
                value = check(body)
                if value is not None:
                    given[name] = options[name] = value
        # The requested format, typed, as the agent reads it (`RunContext.output_format`).
        wanted = output_format(options.get("text"))
        if wanted is not None:
            options[OUTPUT_FORMAT_OPTION] = wanted
        given.pop("include", None)  # an option for the agent, not part of the Response object
    # What the Response object echoes of the request (`response_body` renders the rest as its
    # defaults).
    attributes: dict[str, Any] = given
    attributes["store"] = store
    if instructions is not None:
        attributes["instructions"] = instructions
    if echoed_tools:
        attributes["tools"] = echoed_tools
    if metadata is not None:
        attributes["metadata"] = metadata
    references = [entry for entry in items if isinstance(entry, ItemReference)]
    # In field order: a class called with keywords packs them into a dictionary first.
    request = ChannelRequest(
        channel,
        # Complete unless an item_reference waits to be resolved (the channel does that, then).
        () if references else tuple(items),  # type: ignore[arg-type]
        "respond",
        model,
        instructions,
        options,
        tools,
        previous_response_id,
        conversation_id,
        None,  # session_key: none on this channel
        stream,
        store,
        background,
        metadata or {},
        None,  # idempotency_key and fingerprint: the channel adds them, from the request's headers
        None,
        None,  # identity: the caller is known by their isolation keys only
        attributes,
        deliver_to,
    )
    return CreateRequest(request, items, references)


def page_limit(raw: str | None) -> int:
    """The ``limit`` query parameter of a list route: 1 to 100, 20 when absent (an empty value is
    not absent: the document declares an integer)."""
    if raw is None:
        return 20
    try:
        value = int(raw)
    except ValueError:
        raise invalid(
            "Invalid type for 'limit': expected an integer.", "limit", code="invalid_type"
        ) from None
    if not 1 <= value <= 100:
        raise invalid("'limit' must be between 1 and 100.", "limit", code="invalid_value")
    return value


def page_order(raw: str | None) -> Literal["asc", "desc"]:
    """The ``order`` query parameter of a list route: ``asc`` or ``desc`` (the default when absent)."""
    if raw is None or raw == "desc":
        return "desc"
    if raw == "asc":
        return "asc"
    raise invalid("Invalid value for 'order': expected asc or desc.", "order", code="invalid_value")
