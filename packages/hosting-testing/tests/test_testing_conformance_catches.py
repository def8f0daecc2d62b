"""The conformance suite fails a backend that breaks the contract (so passing it means something)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from hosting.core import Item, MemoryStore
from hosting.core.stores import IdempotencyClaim, ItemPage, Order, ResponseRecord
from hosting.testing import StoreConformance


class LeakyStore(MemoryStore):
    """Finds responses by id alone, as a store that trusted ids would."""

    async def get_response(self, owner: str, response_id: str) -> ResponseRecord | None:
        return self._responses.get(response_id)


class InterleavingStore(MemoryStore):
    """Appends one item at a time, yielding to the loop in between."""

    async def append_conversation_items(
        self, owner: str, conversation_id: str, items: Sequence[Item]
    ) -> bool:
        for item in items:
            await asyncio.sleep(0)
            if not await super().append_conversation_items(owner, conversation_id, [item]):
                return False
        return True


class ForgetfulStore(MemoryStore):
    """Deletes a response but leaves its run events behind."""

    async def delete_response(self, owner: str, response_id: str) -> bool:
        if await self.get_response(owner, response_id) is None:
            return False
        del self._responses[response_id]
        return True


class RacyClaimStore(MemoryStore):
    """Checks, yields, then writes: two concurrent claims can both win."""

    async def claim_idempotency_key(
        self, owner: str, key: str, fingerprint: str, response_id: str
    ) -> IdempotencyClaim:
        held = self._idempotency.get((owner, key))
        await asyncio.sleep(0)
        if held is not None:
            return IdempotencyClaim(held[0].response_id, held[0].fingerprint, created=False)
        claim = IdempotencyClaim(response_id, fingerprint, created=True)
        self._idempotency[(owner, key)] = (claim, 0.0)
        return claim


class GreedyReleaseStore(MemoryStore):
    """Releases a key whoever holds it."""

    async def release_idempotency_key(self, owner: str, key: str, response_id: str) -> None:
        self._idempotency.pop((owner, key), None)


class NoTtlStore(MemoryStore):
    """Ignores its time-to-live."""

    async def purge_expired(self) -> int:
        return 0


class StaleHistoryStore(MemoryStore):
    """Keeps every history it assembled, and never lets one go."""

    def __init__(self) -> None:
        super().__init__(context_cache_items=0)
        self._kept: dict[tuple[str, str], tuple[Item, ...] | None] = {}

    async def get_history(self, owner: str, response_id: str) -> tuple[Item, ...] | None:
        if (owner, response_id) not in self._kept:
            self._kept[(owner, response_id)] = await super().get_history(owner, response_id)
        return self._kept[(owner, response_id)]


class StaleListingStore(MemoryStore):
    """Keeps the first whole listing of each conversation it read."""

    def __init__(self) -> None:
        super().__init__(context_cache_items=0)
        self._kept: dict[tuple[str, str], ItemPage | None] = {}

    async def list_conversation_items(
        self,
        owner: str,
        conversation_id: str,
        *,
        after: str | None = None,
        limit: int | None = None,
        order: Order = "asc",
    ) -> ItemPage | None:
        if after is not None or limit is not None or order != "asc":
            return await super().list_conversation_items(
                owner, conversation_id, after=after, limit=limit, order=order
            )
        if (owner, conversation_id) not in self._kept:
            self._kept[(owner, conversation_id)] = await super().list_conversation_items(
                owner, conversation_id
            )
        return self._kept[(owner, conversation_id)]


suite = StoreConformance()


async def test_a_store_that_trusts_ids_fails_the_isolation_test() -> None:
    with pytest.raises(AssertionError):
        await suite.test_another_owner_cannot_touch_a_response(LeakyStore())
    await suite.test_another_owner_cannot_touch_a_response(MemoryStore())


async def test_a_store_that_interleaves_appends_fails_the_concurrency_test() -> None:
    with pytest.raises(AssertionError):
        await suite.test_concurrent_appends_are_each_recorded_once_and_never_interleaved(InterleavingStore())
    await suite.test_concurrent_appends_are_each_recorded_once_and_never_interleaved(MemoryStore())


async def test_a_store_that_does_not_cascade_fails_the_deletion_test() -> None:
    with pytest.raises(AssertionError):
        await suite.test_deleting_a_response_cascades_and_spares_its_children(ForgetfulStore())


async def test_a_store_with_racy_claims_fails_the_idempotency_test() -> None:
    with pytest.raises(AssertionError):
        await suite.test_concurrent_claims_of_one_key_have_one_winner(RacyClaimStore())


async def test_a_store_that_releases_another_responses_key_fails_the_idempotency_test() -> None:
    with pytest.raises(AssertionError):
        await suite.test_a_released_key_is_free_again_unless_another_response_holds_it(GreedyReleaseStore())
    await suite.test_a_released_key_is_free_again_unless_another_response_holds_it(MemoryStore())


async def test_a_store_that_ignores_its_ttl_fails_the_retention_test() -> None:
    with pytest.raises(AssertionError):
        await suite.test_ttl_removes_finished_responses_and_idle_conversations(NoTtlStore(ttl=60.0))
    await suite.test_ttl_removes_finished_responses_and_idle_conversations(MemoryStore(ttl=60.0))


async def test_a_store_that_serves_stale_histories_fails_the_context_tests() -> None:
    for test in (
        suite.test_a_history_read_before_an_ancestor_is_deleted,
        suite.test_a_history_read_while_its_runs_are_in_progress,
    ):
        with pytest.raises(AssertionError):
            await test(StaleHistoryStore())
        await test(MemoryStore())
        await test(MemoryStore(context_cache_items=0))


async def test_a_store_that_serves_stale_listings_fails_the_context_tests() -> None:
    with pytest.raises(AssertionError):
        await suite.test_a_listing_read_before_every_kind_of_change(StaleListingStore())
    with pytest.raises(AssertionError):
        await suite.test_a_listing_read_between_concurrent_turns(StaleListingStore())
    await suite.test_a_listing_read_before_every_kind_of_change(MemoryStore())
