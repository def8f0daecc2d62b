"""Runs started under an ``Idempotency-Key``: a retry gets the run its key first started.

The store is the judge of who claimed a key first (`Store.claim_idempotency_key`), so a retry
sent to another process attaches to the first run through the store. A retry that arrives in
this process while the first request is still starting its run waits for that start, here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from ._channel import ChannelRequest
from ._exceptions import ConflictError
from ._run import Run
from ._store._base import Store

logger = logging.getLogger("hosting.core")


class IdempotentStarts:
    """Claims idempotency keys, and hands a retry the run of the first request.

    Args:
        store: the judge of who claimed a key first.
        attach: finds the run of a stored response (`RunEngine.attach`).
    """

    def __init__(self, store: Store, attach: Callable[[str, str], Awaitable[Run]]) -> None:
        self.store = store
        self.attach = attach
        # Runs being started under a key, for a concurrent retry in this process to wait for.
        self._starting: dict[str, asyncio.Future[Run]] = {}

    async def claim(self, owner: str, request: ChannelRequest, response_id: str) -> Run | None:
        """None when `response_id` is the first under the request's key (start it, then call
        `started` or `failed`); else the run the key started first."""
        key = request.idempotency_key or ""
        fingerprint = request.fingerprint or ""
        # Registered before the claim, so a concurrent retry in this process can wait for the run.
        self._starting[response_id] = asyncio.get_running_loop().create_future()
        claim = await self.store.claim_idempotency_key(owner, key, fingerprint, response_id)
        if claim.created:
            return None
        self._starting.pop(response_id, None)
        if claim.fingerprint != fingerprint:
            raise ConflictError(
                "This Idempotency-Key was already used with a different request body.",
                param="Idempotency-Key",
                code="idempotency_key_reused",
            )
        starting = self._starting.get(claim.response_id)
        if starting is not None:
            return await asyncio.shield(starting)
        return await self.attach(owner, claim.response_id)

    def started(self, response_id: str, run: Run) -> None:
        """The first run under a key has started: retries waiting for it get it."""
        starting = self._starting.pop(response_id, None)
        if starting is not None and not starting.done():
            starting.set_result(run)

    async def failed(
        self, owner: str, request: ChannelRequest, response_id: str, error: BaseException
    ) -> None:
        """The first run under a key could not start: retries waiting for it get the same error,
        and the key is released, so a later retry starts afresh (nothing ran, nothing is kept)."""
        starting = self._starting.pop(response_id, None)
        if starting is not None and not starting.done():
            starting.set_exception(error if isinstance(error, Exception) else RuntimeError("start aborted"))
            starting.exception()  # mark retrieved: the retry that waits on it re-raises on its own
        try:
            await self.store.release_idempotency_key(owner, request.idempotency_key or "", response_id)
        except Exception:  # the store that failed the start may fail this too: the key then expires
            logger.exception("could not release the idempotency key of run %s", response_id)
