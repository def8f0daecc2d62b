"""Records to the columns of the PostgreSQL schema and back.

Columns the store queries on (owner, status, timestamps, links) are kept apart;
everything else of a response goes into one ``json`` document, so adding a field
to `ResponseRecord` needs no schema migration. The ``json`` type (not ``jsonb``)
keeps the text as written, so what comes back is exactly what went in; psycopg
decodes it with the standard library, which keeps big integers exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from hosting.core import Item
from hosting.core.channels import encode_json
from hosting.core.stores import (
    ResponseRecord,
    ResponseStatus,
    RunError,
    item_from_dict,
    item_to_dict,
    usage_from_dict,
    usage_to_dict,
)

RESPONSE_COLUMNS = (
    "id, owner, created_at, status, previous_response_id, conversation_id, completed_at,"
    " input_items, output_items, details, runner"
)
"""The columns `response_from_row` reads, in its order."""


def dumps(value: Any) -> str:
    """Compact JSON text (non-ASCII kept as UTF-8), as the ``json`` columns store it."""
    return encode_json(value).decode()


def items_to_json(items: Sequence[Item]) -> str:
    return dumps([item_to_dict(item) for item in items])


def item_to_json(item: Item) -> str:
    return dumps(item_to_dict(item))


def items_from_data(data: Sequence[Any]) -> tuple[Item, ...]:
    return tuple(item_from_dict(entry) for entry in data)


def response_details(record: ResponseRecord) -> str:
    """The fields of a response that no query looks at, as one JSON document."""
    return dumps(
        {
            "channel": record.channel,
            "agent": record.agent,
            "usage": usage_to_dict(record.usage) if record.usage is not None else None,
            "error": {"code": record.error.code, "message": record.error.message} if record.error else None,
            "incomplete_reason": record.incomplete_reason,
            "background": record.background,
            "attributes": dict(record.attributes),
        }
    )


def response_parameters(record: ResponseRecord) -> dict[str, Any]:
    """The named parameters of a row of the ``responses`` table."""
    return {
        "id": record.id,
        "owner": record.owner,
        "created_at": record.created_at,
        "status": record.status,
        "finished": record.finished,
        "previous_response_id": record.previous_response_id,
        "conversation_id": record.conversation_id,
        "completed_at": record.completed_at,
        "input_items": items_to_json(record.input_items),
        "output_items": items_to_json(record.output_items),
        "details": response_details(record),
        "runner": record.runner,
    }


def response_from_row(row: Sequence[Any]) -> ResponseRecord:
    """A record from a row of `RESPONSE_COLUMNS` (``json`` columns decoded by psycopg)."""
    (
        rid,
        owner,
        created_at,
        status,
        previous,
        conversation_id,
        completed_at,
        inputs,
        outputs,
        details,
        runner,
    ) = row
    error = details.get("error")
    usage = details.get("usage")
    return ResponseRecord(
        id=rid,
        owner=owner,
        created_at=created_at,
        status=cast(ResponseStatus, status),
        channel=details.get("channel", ""),
        agent=details.get("agent"),
        input_items=items_from_data(inputs),
        output_items=items_from_data(outputs),
        previous_response_id=previous,
        conversation_id=conversation_id,
        usage=usage_from_dict(usage) if usage is not None else None,
        error=RunError(error["code"], error["message"]) if error is not None else None,
        incomplete_reason=details.get("incomplete_reason"),
        runner=runner,
        completed_at=completed_at,
        background=bool(details.get("background", False)),
        attributes=details.get("attributes") or {},
    )
