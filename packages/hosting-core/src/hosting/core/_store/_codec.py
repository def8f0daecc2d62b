"""Records to JSON text and back, for backends that keep documents (SQLite, and later others).

Columns a backend queries on (owner, status, timestamps, links) are kept apart;
everything else of a response goes into one JSON document, so adding a field
to `ResponseRecord` needs no schema migration.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, cast

from .._json import encode_json
from .._records import ResponseRecord, ResponseStatus, RunError
from .._types import Item, item_from_dict, item_to_dict, usage_from_dict, usage_to_dict


def dumps(value: Any) -> str:
    """Compact JSON; non-ASCII text is kept as it is (SQLite stores UTF-8)."""
    return encode_json(value).decode()


def loads(text: str) -> Any:
    return json.loads(text)


def items_to_json(items: Sequence[Item]) -> str:
    return dumps([item_to_dict(item) for item in items])


def items_from_json(text: str) -> tuple[Item, ...]:
    return tuple(item_from_dict(data) for data in loads(text))


def item_to_json(item: Item) -> str:
    return dumps(item_to_dict(item))


def item_from_json(text: str) -> Item:
    return item_from_dict(loads(text))


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


def response_row(record: ResponseRecord) -> dict[str, Any]:
    """The named parameters of a row of the ``responses`` table."""
    return {
        "id": record.id,
        "owner": record.owner,
        "created_at": record.created_at,
        "status": record.status,
        "previous_response_id": record.previous_response_id,
        "conversation_id": record.conversation_id,
        "completed_at": record.completed_at,
        "finished": 1 if record.finished else 0,
        "input_items": items_to_json(record.input_items),
        "output_items": items_to_json(record.output_items),
        "details": response_details(record),
        "runner": record.runner,
    }


def response_from_row(row: Mapping[str, Any]) -> ResponseRecord:
    """The inverse of `response_row`, from a row read with named columns."""
    details: dict[str, Any] = loads(row["details"])
    error = details.get("error")
    usage = details.get("usage")
    return ResponseRecord(
        id=row["id"],
        owner=row["owner"],
        created_at=row["created_at"],
        status=cast(ResponseStatus, row["status"]),
        channel=details.get("channel", ""),
        agent=details.get("agent"),
        input_items=items_from_json(row["input_items"]),
        output_items=items_from_json(row["output_items"]),
        previous_response_id=row["previous_response_id"],
        conversation_id=row["conversation_id"],
        usage=usage_from_dict(usage) if usage is not None else None,
        error=RunError(error["code"], error["message"]) if error is not None else None,
        incomplete_reason=details.get("incomplete_reason"),
        runner=row["runner"],
        completed_at=row["completed_at"],
        background=bool(details.get("background", False)),
        attributes=details.get("attributes") or {},
    )
