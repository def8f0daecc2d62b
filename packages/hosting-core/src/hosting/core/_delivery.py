"""Delivery: items pushed to channels outside the request that produced them.

A channel that can send on its own (a chat app) contributes a push function;
`Deliveries` finds, for a user, the address each target channel knows them by
(the channel a request came in on, or every channel they linked) and reports
where each push went.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from ._channel import ChannelIdentity, Delivery, DeliveryReport, DeliveryTarget, PushFunction
from ._isolation import IsolationKeys
from ._store._base import Store
from ._types import Item

logger = logging.getLogger("hosting.core")


class Deliveries:
    """The host's push functions by channel name, and the store that knows users' addresses."""

    def __init__(self, store: Store, pushes: Mapping[str, PushFunction]) -> None:
        self.store = store
        self.pushes = dict(pushes)

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
            names = list(target)
        pushed: list[str] = []
        skipped: list[str] = []
        failed: dict[str, str] = {}
        for name in names:
            push = self.pushes.get(name)
            address = links.get(name)
            if push is None or address is None:
                skipped.append(name)
                continue
            try:
                await push(Delivery(name, address, tuple(items), keys))
            except Exception as error:  # a push outage is reported, never dropped
                logger.warning("push to channel %r failed: %s", name, type(error).__name__)
                failed[name] = f"{type(error).__name__}: {error}"
            else:
                pushed.append(name)
        return DeliveryReport(pushed=tuple(pushed), skipped=tuple(skipped), failed=failed)
