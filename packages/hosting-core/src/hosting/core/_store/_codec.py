"""Records to JSON text and back, for backends that keep documents (SQLite, and later others).

Columns a backend queries on (owner, status, timestamps, links) are kept apart;
everything else of a response goes into one JSON document, so adding a field
to `ResponseRecord` needs no schema migration.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from .._json import encode_json
from .._records import ResponseRecord, response_details, response_from_details
from .._types import Item, item_from_dict, item_to_dict


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
        "details": dumps(response_details(record)),
        "runner": record.runner,
    }


def response_from_row(row: Mapping[str, Any]) -> ResponseRecord:
    """The inverse of `response_row`, from a row read with named columns."""
    return response_from_details(
        loads(row["details"]),
        id=row["id"],
        owner=row["owner"],
        created_at=row["created_at"],
        status=row["status"],
        previous_response_id=row["previous_response_id"],
        conversation_id=row["conversation_id"],
        completed_at=row["completed_at"],
        input_items=items_from_json(row["input_items"]),
        output_items=items_from_json(row["output_items"]),
        runner=row["runner"],
    )
