"""A finished run's events rebuilt from its final record, for runs that kept no event log.

A run whose id nobody could know before it ended (not streamed, not in the background, no
idempotency key) is stored without its event log: nobody has seen its sequence numbers, so
the log would hold nothing the final record cannot give back. When such a response is
followed later (a stream replay, a resume), its events are rebuilt here, deterministically:
the run starts, each output item comes whole (as `whole_item_events` emits it, the same
function the engine uses for an item an agent yields whole), and the run finishes with the
record's outcome. Rebuilding twice gives the same events, so resuming at a number is exact.
"""

from __future__ import annotations

from collections.abc import Sequence

from ._events import (
    FunctionArgumentsDelta,
    OutputItemAdded,
    OutputItemDone,
    OutputTextDelta,
    ReasoningTextDelta,
    RunEvent,
    RunFinished,
    RunStarted,
)
from ._records import ResponseRecord
from ._types import FunctionCall, Item, Message, Reasoning, TextPart, ToolStep


def whole_item_events(index: int, item: Item) -> list[RunEvent]:
    """The events of one complete output item at `index`: added, one delta, done.

    The item is added as an empty shell (its ids set), grows by one delta holding its whole
    text or arguments (none when they are empty), and is done in its final form. `item` must
    carry its id (and a function call its call id): the engine sets them before calling this.
    """
    item_id = item.id
    if item_id is None:
        raise ValueError(f"a {type(item).__name__} output item needs its id to be emitted")
    events: list[RunEvent] = []
    if isinstance(item, Message):
        events.append(OutputItemAdded(index, Message(item.role, (), id=item_id)))
        text = item.text
        if text:
            events.append(OutputTextDelta(index, item_id, text))
    elif isinstance(item, FunctionCall):
        events.append(OutputItemAdded(index, FunctionCall(item.call_id, item.name, "", id=item_id)))
        if item.arguments:
            events.append(FunctionArgumentsDelta(index, item_id, item.arguments))
    elif isinstance(item, ToolStep):
        # Begins as the call, without its outcome; the arguments come as a delta, as a call's do.
        events.append(
            OutputItemAdded(index, ToolStep(item.name, "", id=item_id, server_label=item.server_label))
        )
        if item.arguments:
            events.append(FunctionArgumentsDelta(index, item_id, item.arguments))
    elif isinstance(item, Reasoning):
        events.append(OutputItemAdded(index, Reasoning("", id=item_id)))
        if item.text:
            events.append(ReasoningTextDelta(index, item_id, item.text))
    else:
        events.append(OutputItemAdded(index, item))  # a function result has no partial form
    events.append(OutputItemDone(index, item))
    return events


def replay_events(record: ResponseRecord) -> list[RunEvent]:
    """The events of a finished run rebuilt from its final record (see the module docstring)."""
    events: list[RunEvent] = [RunStarted("in_progress")]
    for index, item in enumerate(record.output_items):
        events.extend(whole_item_events(index, item))
    events.append(
        RunFinished(
            status=record.status,
            completed_at=record.completed_at or 0.0,
            usage=record.usage,
            error=record.error,
            incomplete_reason=record.incomplete_reason,
        )
    )
    return events


def output_from_events(events: Sequence[RunEvent]) -> tuple[Item, ...]:
    """The output a follower of `events` has seen, as items: what a run that ended abruptly keeps.

    A finished item is kept as it was done; one still growing keeps the text its deltas
    brought (a message or a reasoning summary). A function call cut short is dropped: its
    arguments are not whole, so nobody could run it; so is a tool step cut short (it has no outcome).
    """
    shells: dict[int, Item] = {}
    texts: dict[int, list[str]] = {}
    done: dict[int, Item] = {}
    for event in events:
        if isinstance(event, OutputItemAdded):
            shells[event.output_index] = event.item
            texts[event.output_index] = []
        elif isinstance(event, OutputTextDelta | ReasoningTextDelta):
            texts.setdefault(event.output_index, []).append(event.delta)
        elif isinstance(event, OutputItemDone):
            done[event.output_index] = event.item
    output: list[Item] = []
    for index in sorted(shells.keys() | done.keys()):
        if index in done:
            output.append(done[index])
            continue
        shell, text = shells[index], "".join(texts.get(index, ()))
        if isinstance(shell, Message) and text:
            output.append(Message(shell.role, (TextPart(text),), id=shell.id))
        elif isinstance(shell, Reasoning) and text:
            output.append(Reasoning(text, id=shell.id))
    return tuple(output)
