"""Records to the columns of the PostgreSQL schema and back.

Columns the store queries on (owner, status, timestamps, links) are kept apart;
everything else of a response goes into one ``json`` document, so adding a field
to `ResponseRecord` needs no schema migration. The ``json`` type (not ``jsonb``)
keeps the text as written, so what comes back is exactly what went in; psycopg
decodes it with the standard library, which keeps big integers exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hosting.core import Item
from hosting.core.channels import encode_json
from hosting.core.stores import (
    ResponseRecord,
    item_from_dict,
    item_to_dict,
    response_details,
    response_from_details,
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
        "details": dumps(response_details(record)),
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
    return response_from_details(
        details,
        id=rid,
        owner=owner,
        created_at=created_at,
        status=status,
        previous_response_id=previous,
        conversation_id=conversation_id,
        completed_at=completed_at,
        input_items=items_from_data(inputs),
        output_items=items_from_data(outputs),
        runner=runner,
    )
