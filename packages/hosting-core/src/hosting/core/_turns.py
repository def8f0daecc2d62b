"""Conversation turns, one at a time: a turn sees the output of the turn before it.

Two requests that continue one conversation at once would both read the same
history and run on it. By default the second waits until the first is recorded
(``"queue"``); a host can refuse it instead with 409 (``"reject"``). The store is
the judge (`Store.claim_conversation`), so the rule holds across processes and
replicas; waiters in this process are woken when a turn here ends, and poll for
turns held elsewhere. A turn the store would not give up (a full disk, a lost
database) is given up again at each heartbeat (`Recovery`) until it takes, so a
store's hiccup does not leave a conversation held by a run that ended.
"""

from __future__ import annotations

import asyncio
from typing import Literal, TypeAlias

from ._exceptions import ConflictError
from ._store._base import Store

ConcurrentTurns: TypeAlias = Literal["queue", "reject"]
"""What a turn does while another turn of its conversation runs: wait for it, or be refused (409)."""


class Turns:
    """Takes and gives up conversation turns for the runs of one runner.

    Args:
        store: the judge of who holds a conversation.
        runner: this process's runner id.
        policy: see `ConcurrentTurns`.
        poll_interval: seconds between looks at a turn held by another process.
    """

    def __init__(
        self, store: Store, runner: str, *, policy: ConcurrentTurns = "queue", poll_interval: float = 0.05
    ) -> None:
        if policy not in ("queue", "reject"):
            raise ValueError(f"concurrent_turns must be 'queue' or 'reject', got {policy!r}")
        self.store = store
        self.runner = runner
        self.policy = policy
        self.poll_interval = poll_interval
        self._ended: dict[str, asyncio.Event] = {}
        # Turns of runs that ended whose release the store refused: (owner, conversation, run).
        self._unreleased: set[tuple[str, str, str]] = set()

    async def take(self, owner: str, conversation_id: str, response_id: str) -> None:
        """Hold the conversation for `response_id`, waiting for the turn before it (or refusing)."""
        while True:
            holder = await self.store.claim_conversation(
                owner, conversation_id, response_id, runner=self.runner
            )
            if holder is None:
                return
            if self.policy == "reject":
                raise ConflictError(
                    f"Another response ({holder}) is still running in this conversation; retry when it ends.",
                    param="conversation",
                    code="conversation_busy",
                )
            ended = self._ended.setdefault(conversation_id, asyncio.Event())
            try:
                await asyncio.wait_for(ended.wait(), self.poll_interval)
            except TimeoutError:
                pass

    async def give_up(self, owner: str, conversation_id: str, response_id: str) -> None:
        """Free the conversation after `response_id`'s turn, and wake the turns waiting here.

        When the store refuses, the turn is kept to be given up again (`release_pending`), and
        the error raised."""
        try:
            await self.store.release_conversation(owner, conversation_id, response_id)
        except Exception:
            self._unreleased.add((owner, conversation_id, response_id))
            raise
        finally:
            ended = self._ended.pop(conversation_id, None)
            if ended is not None:
                ended.set()

    async def release_pending(self) -> None:
        """Give up again the turns the store refused to; those it still refuses stay pending."""
        for owner, conversation_id, response_id in list(self._unreleased):
            await self.store.release_conversation(owner, conversation_id, response_id)
            self._unreleased.discard((owner, conversation_id, response_id))
            ended = self._ended.pop(conversation_id, None)
            if ended is not None:
                ended.set()
