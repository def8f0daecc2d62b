"""Delivery: items pushed to channels outside the request that produced them.

A channel that can send on its own (a chat app) contributes a push function;
`Deliveries` finds, for a user, the address each target channel knows them by
(the channel a request came in on, or every channel they linked) and reports
where each push went. Nothing is pushed to an address the user has not linked
(or, for ``"origin"``, the address the request came from). A push that raises is
tried again after a growing pause; one that still fails is kept as a
`DeliveryFailure` the operator can list, and reported as failed.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Mapping, Sequence

from ._channel import ChannelIdentity, Delivery, DeliveryReport, DeliveryTarget, PushFunction
from ._isolation import IsolationKeys
from ._records import DeliveryFailure, now
from ._store._base import Store
from ._types import Item

logger = logging.getLogger("hosting.core")


def report_to_dict(report: DeliveryReport) -> dict[str, object]:
    """A `DeliveryReport` as JSON-ready data (how it is kept with a response)."""
    return {"pushed": list(report.pushed), "skipped": list(report.skipped), "failed": dict(report.failed)}


class Deliveries:
    """The host's push functions by channel name, and the store that knows users' addresses.

    Args:
        store: where identity links are read and delivery failures kept.
        pushes: push functions by channel name (the host adds each channel's).
        attempts: how many times a push is tried before it gives up.
        backoff: seconds before the second try; each later pause is twice the one before.
    """

    def __init__(
        self, store: Store, pushes: Mapping[str, PushFunction], *, attempts: int = 3, backoff: float = 0.5
    ) -> None:
        if attempts < 1 or backoff < 0:
            raise ValueError("attempts must be at least 1 and backoff not negative")
        self.store = store
        self.pushes = dict(pushes)
        self.attempts = attempts
        self.backoff = backoff

    async def deliver(
        self,
        items: Sequence[Item],
        *,
        keys: IsolationKeys,
        target: DeliveryTarget = "origin",
        origin: ChannelIdentity | None = None,
    ) -> DeliveryReport:
        """Push `items` to the user of `keys` on the channels `target` names (see `DeliveryTarget`)."""
        if target is None:
            return DeliveryReport()
        links = await self.store.get_identity_links(keys.user)
        if target == "origin":
            names = [origin.channel] if origin is not None else []
            if origin is not None:
                links = {**links, origin.channel: origin.address}
        elif target == "linked":
            names = list(links)
        else:
            names = list(dict.fromkeys(target))
        pushed: list[str] = []
        skipped: list[str] = []
        failed: dict[str, str] = {}
        for name in names:
            push = self.pushes.get(name)
            address = links.get(name)
            if push is None or address is None:
                skipped.append(name)
                continue
            error = await self._push(push, Delivery(name, address, tuple(items), keys))
            if error is None:
                pushed.append(name)
            else:
                failed[name] = error
        return DeliveryReport(pushed=tuple(pushed), skipped=tuple(skipped), failed=failed)

    async def _push(self, push: PushFunction, delivery: Delivery) -> str | None:
        """Push with retries; the last error (kept as a `DeliveryFailure`), or None once it went."""
        pause = self.backoff
        error = ""
        for attempt in range(1, self.attempts + 1):
            try:
                await push(delivery)
            except Exception as problem:  # a push outage is retried and reported, never dropped
                error = f"{type(problem).__name__}: {problem}"
                logger.warning(
                    "push to channel %r failed (attempt %d of %d): %s",
                    delivery.channel,
                    attempt,
                    self.attempts,
                    type(problem).__name__,
                )
            else:
                return None
            if attempt < self.attempts:
                await asyncio.sleep(pause)
                pause *= 2
        failure = DeliveryFailure(
            id=f"dlv_{secrets.token_hex(12)}",
            owner=delivery.isolation.user,
            channel=delivery.channel,
            address=delivery.address,
            items=delivery.items,
            error=error,
            attempts=self.attempts,
            failed_at=now(),
        )
        try:
            await self.store.add_delivery_failure(failure)
        except Exception:
            logger.exception("could not keep the failed delivery to channel %r", delivery.channel)
        return error
