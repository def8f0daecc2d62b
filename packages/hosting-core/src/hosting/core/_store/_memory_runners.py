"""The memory store's runners, their leases, orphaned runs and conversation turns."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Sequence

from .._records import ResponseRecord


class MemoryRunners:
    """Runner leases and conversation turns; mixed into `MemoryStore`, which owns the responses."""

    _responses: OrderedDict[str, ResponseRecord]

    def __init__(self) -> None:
        self._runners: dict[str, float] = {}
        # conversation id -> (response id, runner) of the turn that holds it
        self._turns: dict[str, tuple[str, str]] = {}

    def _put_response(self, record: ResponseRecord) -> None:
        raise NotImplementedError  # the store keeps its own bookkeeping of responses

    def _alive(self, runner: str | None) -> bool:
        return runner is not None and self._runners.get(runner, 0.0) > time.time()

    async def heartbeat(self, runner: str, *, lease: float, live: Sequence[str] = ()) -> tuple[str, ...]:
        self._runners[runner] = time.time() + lease
        finished: list[str] = []
        for response_id in live:
            record = self._responses.get(response_id)
            if record is not None and record.finished:
                finished.append(response_id)
        return tuple(finished)

    async def claim_orphaned_runs(self, runner: str) -> tuple[ResponseRecord, ...]:
        claimed: list[ResponseRecord] = []
        for record in list(self._responses.values()):
            if record.finished or record.runner == runner or self._alive(record.runner):
                continue
            mine = record.evolve(runner=runner)
            self._put_response(mine)
            claimed.append(mine)
        return tuple(claimed)

    async def claim_conversation(
        self, owner: str, conversation_id: str, response_id: str, *, runner: str
    ) -> str | None:
        held = self._turns.get(conversation_id)
        if held is not None and held[0] != response_id:
            holder = self._responses.get(held[0])
            if not (holder is not None and holder.finished) and self._alive(held[1]):
                return held[0]
        self._turns[conversation_id] = (response_id, runner)
        return None

    async def release_conversation(self, owner: str, conversation_id: str, response_id: str) -> None:
        held = self._turns.get(conversation_id)
        if held is not None and held[0] == response_id:
            del self._turns[conversation_id]
