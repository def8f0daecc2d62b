"""The output builder: an agent's loose updates grouped into output items and events.

An agent yields text and reasoning deltas, whole items, usage and breaks in any
order. The builder keeps the output items of the run as they form (an open text
or reasoning item grows by deltas until another kind of update closes it) and,
for a run that records events (see `RunMode`), emits the numbered events a
follower renders. Items get their ids here, from the host's id factory.
"""

from __future__ import annotations

from ._events import OutputItemAdded, OutputItemDone, OutputTextDelta, ReasoningTextDelta
from ._ids import IdFactory
from ._records import RunError
from ._replay import whole_item_events
from ._run import Run
from ._types import (
    ErrorUpdate,
    FunctionCall,
    FunctionResult,
    Item,
    ItemBreak,
    Message,
    Reasoning,
    ReasoningDelta,
    TextDelta,
    TextPart,
    ToolStep,
    Update,
    Usage,
    with_id,
)


class Reported(Exception):
    """An agent yielded an `ErrorUpdate`: the run stops and fails with its message."""

    def __init__(self, update: ErrorUpdate) -> None:
        super().__init__(update.message)
        self.update = update


class OutputBuilder:
    """Groups an agent's updates into output items and, when the run records them, emits their events."""

    __slots__ = (
        "_open_id",
        "_open_kind",
        "_open_text",
        "ids",
        "output",
        "recording",
        "reported",
        "run",
        "usage",
    )

    def __init__(self, run: Run, ids: IdFactory) -> None:
        self.run = run
        self.ids = ids
        self.output: list[Item] = []
        self.usage: Usage | None = None
        # The error of an `ErrorUpdate` the agent yielded (which ends the run).
        self.reported: RunError | None = None
        self._open_kind: type[TextDelta] | type[ReasoningDelta] | None = None
        self._open_id = ""
        self._open_text: list[str] = []
        self.recording = run.mode.records_events

    def _new_id(self, kind: str) -> str:
        """An id for an item of this run (the run's id is its partition hint)."""
        created = self.run.created
        return self.ids.new_id(kind, owner=created.owner, hint=created.id)

    def add(self, update: Update | str) -> None:
        kind: type[TextDelta] | type[ReasoningDelta]
        if type(update) is str:  # the common case, checked first: plain text from the agent
            text, kind = update, TextDelta
        elif isinstance(update, TextDelta | ReasoningDelta | str):
            text, kind = (update, TextDelta) if isinstance(update, str) else (update.text, type(update))
        else:
            self._add_other(update)
            return
        if not text:
            return
        if self._open_kind is not kind:
            self.close_open_item()
            self._open(kind)
        self._open_text.append(text)
        if self.recording:
            delta = OutputTextDelta if kind is TextDelta else ReasoningTextDelta
            self.run.emit(delta(len(self.output), self._open_id, text))

    def _add_other(self, update: Update) -> None:
        if isinstance(update, ErrorUpdate):
            raise Reported(update)
        if isinstance(update, Usage):
            self.usage = update if self.usage is None else self.usage + update
        elif isinstance(update, ItemBreak):
            self.close_open_item()
        elif isinstance(update, Message | FunctionCall | FunctionResult | Reasoning | ToolStep):
            self.close_open_item()
            self._add_whole(update)
        else:
            raise TypeError(f"an agent yielded {type(update).__name__}, which is not an update")

    def _open(self, kind: type[TextDelta] | type[ReasoningDelta]) -> None:
        self._open_kind = kind
        self._open_text = []
        self._open_id = self._new_id("message" if kind is TextDelta else "reasoning")
        if self.recording:
            started: Item = (
                Message("assistant", (), id=self._open_id)
                if kind is TextDelta
                else Reasoning("", id=self._open_id)
            )
            self.run.emit(OutputItemAdded(len(self.output), started))

    def close_open_item(self) -> None:
        if self._open_kind is None:
            return
        text = "".join(self._open_text)
        item: Item = (
            Message("assistant", (TextPart(text),), self._open_id)
            if self._open_kind is TextDelta
            else Reasoning(text, id=self._open_id)
        )
        if self.recording:
            self.run.emit(OutputItemDone(len(self.output), item))
        self.output.append(item)
        self._open_kind = None
        self._open_text = []

    def _add_whole(self, item: Item) -> None:
        if isinstance(item, FunctionCall):
            item_id = item.id or self._new_id("function_call")
            # The id's last digits: its first ones are a partition and the time, alike in a burst.
            call_id = item.call_id or f"call_{item_id.partition('_')[2][-24:]}"
            item = FunctionCall(call_id, item.name, item.arguments, id=item_id)
        elif item.id is None:  # by isinstance, not type(): a subclass of an item type is one too
            kind = next(name for cls, name in _ID_KINDS.items() if isinstance(item, cls))
            item = with_id(item, self._new_id(kind))
        if self.recording:  # the same events a replay rebuilds for this item from the stored record
            for event in whole_item_events(len(self.output), item):
                self.run.emit(event)
        self.output.append(item)


_ID_KINDS: dict[type[Item], str] = {
    Message: "message",
    FunctionResult: "function_result",
    Reasoning: "reasoning",
    ToolStep: "tool_step",
}
