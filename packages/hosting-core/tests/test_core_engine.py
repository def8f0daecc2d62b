"""The run engine: item grouping, statuses, hooks, sessions, cancellation, idempotency, shutdown."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import pytest

from hosting.core import (
    ConflictError,
    ErrorUpdate,
    FunctionCall,
    FunctionResult,
    Host,
    InvalidRequestError,
    ItemBreak,
    MemoryStore,
    Message,
    NotFoundError,
    Reasoning,
    ReasoningDelta,
    RejectedError,
    RunContext,
    ServerError,
    TextDelta,
    Update,
    Usage,
    agent,
    user_message,
)
from hosting.core.channels import (
    ChannelRequest,
    FunctionArgumentsDelta,
    OutputItemAdded,
    OutputItemDone,
    OutputTextDelta,
    ReasoningTextDelta,
    Run,
    RunEvent,
    RunFinished,
    RunStarted,
)
from hosting.core.stores import ResponseRecord, event_from_dict

from .conftest import InvokeChannel, MakeHost


def ask(text: str, **fields: object) -> ChannelRequest:
    return ChannelRequest(channel="invoke", input=(user_message(text),), **fields)  # type: ignore[arg-type]


async def test_text_deltas_become_one_message_with_usage_added_up(make_host: MakeHost) -> None:
    @agent
    async def talker(context: RunContext) -> AsyncIterator[Update | str]:
        yield "Hel"
        yield TextDelta("lo")
        yield Usage(input_tokens=3, output_tokens=1)
        yield Usage(input_tokens=0, output_tokens=2)

    host = make_host(talker)
    await host.startup()
    run = await host.engine.start(ask("hi"))
    result = await run.wait()
    assert result.status == "completed"
    assert result.text == "Hello"
    assert result.usage == Usage(input_tokens=3, output_tokens=3)
    kinds = [type(event) for event in run.events]
    assert kinds == [
        RunStarted,
        OutputItemAdded,
        OutputTextDelta,
        OutputTextDelta,
        OutputItemDone,
        RunFinished,
    ]
    done = run.events[4]
    assert isinstance(done, OutputItemDone) and isinstance(done.item, Message)
    assert done.item.id is not None and done.item.id.startswith("msg_")
    await host.shutdown()


async def test_reasoning_function_calls_and_breaks_make_separate_items(make_host: MakeHost) -> None:
    @agent
    async def thinker(context: RunContext) -> AsyncIterator[Update | str]:
        yield ReasoningDelta("think ")
        yield ReasoningDelta("hard")
        yield "first"
        yield ItemBreak()
        yield "second"
        yield FunctionCall(call_id="", name="lookup", arguments='{"q": 1}')
        yield FunctionResult(call_id="c1", output="42")
        yield Reasoning("whole")

    host = make_host(thinker)
    run = await host.engine.start(ask("hi"))
    result = await run.wait()
    output = result.output
    assert [type(item) for item in output] == [
        Reasoning,
        Message,
        Message,
        FunctionCall,
        FunctionResult,
        Reasoning,
    ]
    assert isinstance(output[0], Reasoning) and output[0].text == "think hard"
    assert isinstance(output[1], Message) and output[1].text == "first"
    assert isinstance(output[2], Message) and output[2].text == "second"
    call = output[3]
    assert (
        isinstance(call, FunctionCall) and call.call_id.startswith("call_") and call.arguments == '{"q": 1}'
    )
    assert len({item.id for item in output}) == len(output)
    assert any(isinstance(event, ReasoningTextDelta) for event in run.events)
    arguments = [event for event in run.events if isinstance(event, FunctionArgumentsDelta)]
    assert [event.delta for event in arguments] == ['{"q": 1}']
    indexes = [event.output_index for event in run.events if isinstance(event, OutputItemDone)]
    assert indexes == [0, 1, 2, 3, 4, 5]
    await host.shutdown()


async def test_agent_exception_fails_with_a_generic_error_and_keeps_partial_output(
    make_host: MakeHost,
) -> None:
    @agent
    async def broken(context: RunContext) -> AsyncIterator[str]:
        yield "partial"
        raise RuntimeError("secret internals: db password")

    host = make_host(broken)
    result = await host.engine.run(ask("hi"))
    assert result.status == "failed"
    assert result.error is not None
    assert "secret" not in result.error.message
    assert result.error.code == "server_error"
    assert result.text == "partial"
    await host.shutdown()


async def test_error_update_fails_with_its_own_message(make_host: MakeHost) -> None:
    @agent
    async def refuses(context: RunContext) -> AsyncIterator[Update]:
        yield ErrorUpdate("quota exhausted", code="quota")
        yield TextDelta("never")

    host = make_host(refuses)
    result = await host.engine.run(ask("hi"))
    assert result.status == "failed"
    assert result.error is not None and (result.error.code, result.error.message) == (
        "quota",
        "quota exhausted",
    )
    assert result.text == ""
    await host.shutdown()


async def test_coroutine_agent_result_is_the_answer(make_host: MakeHost) -> None:
    async def hello(context: RunContext) -> str:
        return f"hello {context.input_text}"

    host = make_host(hello)
    result = await host.engine.run(ask("bob"))
    assert result.text == "hello bob"
    assert list(host.engine.agents) == ["hello"]
    await host.shutdown()


async def test_previous_response_chain_and_branches_do_not_see_each_other(make_host: MakeHost) -> None:
    seen: list[list[str]] = []

    @agent
    async def recorder(context: RunContext) -> AsyncIterator[str]:
        seen.append([item.text for item in context.messages if isinstance(item, Message)])
        yield f"re:{context.input_text}"

    host = make_host(recorder)
    first = await host.engine.run(ask("one"))
    second = await host.engine.run(ask("two", previous_response_id=first.response_id))
    await host.engine.run(ask("three", previous_response_id=second.response_id))
    await host.engine.run(ask("branch", previous_response_id=first.response_id))
    assert seen[2] == ["one", "re:one", "two", "re:two", "three"]
    assert seen[3] == ["one", "re:one", "branch"]
    await host.shutdown()


async def test_session_state_follows_conversations_and_chains(make_host: MakeHost) -> None:
    @agent
    async def counter(context: RunContext) -> AsyncIterator[str]:
        context.session_state["count"] = context.session_state.get("count", 0) + 1
        yield str(context.session_state["count"])

    host = make_host(counter)
    first = await host.engine.run(ask("a"))
    second = await host.engine.run(ask("b", previous_response_id=first.response_id))
    branch = await host.engine.run(ask("c", previous_response_id=first.response_id))
    assert (first.text, second.text, branch.text) == ("1", "2", "2")
    conversation = await host.engine.conversation_for_session("anonymous", "chat-1")
    texts = [(await host.engine.run(ask("x", conversation_id=conversation))).text for _ in range(3)]
    assert texts == ["1", "2", "3"]
    await host.shutdown()


async def test_failed_run_leaves_no_half_written_turn_in_the_conversation(make_host: MakeHost) -> None:
    calls = 0

    @agent
    async def flaky(context: RunContext) -> AsyncIterator[str]:
        nonlocal calls
        calls += 1
        yield f"seen {len(context.history)}"
        if calls == 2:
            raise RuntimeError("boom")

    store = MemoryStore()
    host = make_host(flaky, store)
    conversation = await host.engine.conversation_for_session("anonymous", "s")
    assert (await host.engine.run(ask("1", conversation_id=conversation))).text == "seen 0"
    assert (await host.engine.run(ask("2", conversation_id=conversation))).status == "failed"
    third = await host.engine.run(ask("3", conversation_id=conversation))
    assert third.text == "seen 2"  # the failed turn's input and output are not in the history
    page = await store.list_conversation_items("anonymous", conversation)
    assert page is not None and len(page.items) == 4
    await host.shutdown()


async def test_store_false_writes_nothing(make_host: MakeHost) -> None:
    store = MemoryStore()
    host = make_host(echo_agent(), store)
    result = await host.engine.run(ask("secret", store=False))
    assert result.status == "completed"
    assert await store.get_response("anonymous", result.response_id) is None
    with pytest.raises(NotFoundError):
        await host.engine.attach("anonymous", result.response_id)
    await host.shutdown()


def echo_agent() -> object:
    @agent
    async def echo(context: RunContext) -> AsyncIterator[str]:
        yield context.input_text

    return echo


async def test_bad_combinations_and_unknown_ids_are_request_errors(make_host: MakeHost) -> None:
    host = make_host(echo_agent())
    with pytest.raises(InvalidRequestError) as background:
        await host.engine.start(ask("x", background=True, store=False))
    assert background.value.param == "background"
    with pytest.raises(InvalidRequestError):
        await host.engine.start(ask("x", conversation_id="conv_1", previous_response_id="resp_1"))
    with pytest.raises(NotFoundError) as missing:
        await host.engine.start(ask("x", previous_response_id="resp_unknown"))
    assert missing.value.param == "previous_response_id"
    with pytest.raises(NotFoundError):
        await host.engine.start(ask("x", previous_response_id="not an id; drop table"))
    with pytest.raises(NotFoundError) as conversation:
        await host.engine.start(ask("x", conversation_id="conv_missing"))
    assert conversation.value.param == "conversation"
    await host.shutdown()


async def test_model_selects_among_several_agents() -> None:
    @agent
    async def first(context: RunContext) -> AsyncIterator[str]:
        yield "first"

    @agent
    async def second(context: RunContext) -> AsyncIterator[str]:
        yield "second"

    host = Host({"a": first, "b": second}, channels=[InvokeChannel()], store=MemoryStore())
    assert (await host.engine.run(ask("x"))).text == "first"
    result = await host.engine.run(ask("x", agent="b"))
    assert (result.text, result.record.agent) == ("second", "b")
    with pytest.raises(InvalidRequestError) as unknown:
        await host.engine.run(ask("x", agent="c"))
    assert unknown.value.param == "model"
    await host.shutdown()


async def test_run_hooks_sync_async_and_rejection(make_host: MakeHost) -> None:
    seen: list[str] = []

    @agent
    async def recorder(context: RunContext) -> AsyncIterator[str]:
        seen.append(context.instructions or "")
        yield "ok"

    def sync_hook(request: ChannelRequest) -> ChannelRequest:
        return ChannelRequest(channel=request.channel, input=request.input, instructions="sync")

    async def async_hook(request: ChannelRequest) -> ChannelRequest | None:
        if request.input and isinstance(request.input[0], Message) and request.input[0].text == "forbidden":
            raise RejectedError("This request is not allowed.", status_code=403)
        return None

    host = make_host(recorder, run_hooks=[sync_hook, async_hook])
    assert (await host.engine.run(ask("x"))).text == "ok"
    assert seen == ["sync"]
    with pytest.raises(RejectedError) as rejected:
        await host.engine.run(ask("forbidden"))
    assert rejected.value.status_code == 403
    assert seen == ["sync"]  # the agent never ran
    await host.shutdown()


async def test_update_hooks_transform_and_drop(make_host: MakeHost) -> None:
    @agent
    async def talker(context: RunContext) -> AsyncIterator[str]:
        yield "keep "
        yield "drop "
        yield "shout"

    def drop(update: Update, context: RunContext) -> Update | None:
        return None if isinstance(update, TextDelta) and update.text == "drop " else update

    async def upper(update: Update, context: RunContext) -> Update | None:
        return TextDelta(update.text.upper()) if isinstance(update, TextDelta) else update

    host = make_host(talker, update_hooks=[drop, upper])
    assert (await host.engine.run(ask("x"))).text == "KEEP SHOUT"
    await host.shutdown()


async def test_cancel_stops_the_agent_and_keeps_partial_output(make_host: MakeHost) -> None:
    cancelled = asyncio.Event()

    @agent
    async def slow(context: RunContext) -> AsyncIterator[str]:
        yield "partial"
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        yield "never"

    store = MemoryStore()
    host = make_host(slow, store)
    run = await host.engine.start(ask("x", background=True))
    assert run.created.status == "queued"
    async for event in run.follow():
        if isinstance(event, OutputTextDelta):
            break
    record = await asyncio.wait_for(host.engine.cancel("anonymous", run.id), timeout=5)
    assert record.status == "cancelled"
    assert cancelled.is_set()
    stored = await store.get_response("anonymous", run.id)
    assert stored is not None and stored.status == "cancelled"
    assert isinstance(stored.output_items[0], Message) and stored.output_items[0].text == "partial"
    again = await host.engine.cancel("anonymous", run.id)
    assert again == stored  # cancelling a finished response returns it unchanged
    await host.shutdown()


async def test_run_timeout_ends_incomplete(make_host: MakeHost) -> None:
    @agent
    async def slow(context: RunContext) -> AsyncIterator[str]:
        yield "start"
        await asyncio.sleep(30)

    host = make_host(slow, run_timeout=0.05)
    result = await asyncio.wait_for(host.engine.run(ask("x")), timeout=5)
    assert (result.status, result.record.incomplete_reason, result.text) == (
        "incomplete",
        "run_timeout",
        "start",
    )
    await host.shutdown()


async def test_an_agent_error_stays_the_runs_error_when_the_timeout_ends_its_clean_up(
    make_host: MakeHost,
) -> None:
    @agent
    async def fails_then_lingers(context: RunContext) -> AsyncIterator[str | ErrorUpdate]:
        try:
            yield "start"
            yield ErrorUpdate("quota exhausted", code="quota")
        finally:
            await asyncio.sleep(30)  # its clean-up outlives the run's time limit

    host = make_host(fails_then_lingers, run_timeout=0.05)
    result = await asyncio.wait_for(host.engine.run(ask("x")), timeout=5)
    assert (result.status, result.record.incomplete_reason) == ("incomplete", "run_timeout")
    assert result.error is not None and (result.error.code, result.error.message) == (
        "quota",
        "quota exhausted",
    )
    await host.shutdown()


async def test_disconnect_cancels_unstored_runs_but_not_stored_ones(make_host: MakeHost) -> None:
    release = asyncio.Event()

    @agent
    async def waits(context: RunContext) -> AsyncIterator[str]:
        yield "a"
        await release.wait()
        yield "b"

    host = make_host(waits)
    unstored = await host.engine.start(ask("x", store=False))
    stored = await host.engine.start(ask("x"))
    for run in (unstored, stored):
        follower = run.follow()
        await anext(follower)
        await follower.aclose()  # the client went away
    release.set()
    assert (await asyncio.wait_for(unstored.wait(), 5)).status == "cancelled"
    result = await asyncio.wait_for(stored.wait(), 5)
    assert (result.status, result.text) == ("completed", "ab")
    await host.shutdown()


async def test_resume_replays_a_finished_run_identically_from_the_store(make_host: MakeHost) -> None:
    host = make_host(echo_agent())
    live = await host.engine.start(ask("replay me"))
    events = [event async for event in live.follow()]
    replay = await host.engine.attach("anonymous", live.id)
    assert replay.done
    assert [event async for event in replay.follow()] == events
    assert replay.created.status == live.created.status
    assert replay.created.created_at == live.created.created_at
    assert [event async for event in replay.follow(3)] == events[3:]
    await host.shutdown()


async def test_idempotency_key_runs_the_agent_once_and_conflicts_on_another_body(make_host: MakeHost) -> None:
    runs = 0

    @agent
    async def counted(context: RunContext) -> AsyncIterator[str]:
        nonlocal runs
        runs += 1
        await asyncio.sleep(0.01)
        yield "once"

    host = make_host(counted)
    first, second = await asyncio.gather(
        host.engine.start(ask("x", idempotency_key="k1", fingerprint="f1")),
        host.engine.start(ask("x", idempotency_key="k1", fingerprint="f1")),
    )
    assert first.id == second.id
    assert (await second.wait()).text == "once"
    later = await host.engine.start(ask("x", idempotency_key="k1", fingerprint="f1"))
    assert later.id == first.id
    assert runs == 1
    with pytest.raises(ConflictError):
        await host.engine.start(ask("y", idempotency_key="k1", fingerprint="f2"))
    await host.shutdown()


async def test_many_concurrent_first_requests_on_one_session_key_share_one_conversation(
    make_host: MakeHost,
) -> None:
    store = MemoryStore()
    host = make_host(echo_agent(), store)
    results = await asyncio.gather(*(host.engine.run(ask(str(n), session_key="chat-7")) for n in range(20)))
    conversations = {result.conversation_id for result in results}
    assert len(conversations) == 1
    (conversation,) = conversations
    assert conversation is not None
    page = await store.list_conversation_items("anonymous", conversation)
    assert page is not None and len(page.items) == 40  # every turn recorded once, none lost
    await host.shutdown()


async def test_reset_session_starts_fresh_and_keeps_history(make_host: MakeHost) -> None:
    store = MemoryStore()
    host = make_host(echo_agent(), store)
    before = await host.engine.run(ask("old", session_key="chat"))
    fresh = await host.reset_session("chat")
    after = await host.engine.run(ask("new", session_key="chat"))
    assert after.conversation_id == fresh != before.conversation_id
    assert before.conversation_id is not None
    old = await store.list_conversation_items("anonymous", before.conversation_id)
    assert old is not None and len(old.items) == 2
    await host.shutdown()


async def test_shutdown_lets_runs_finish_within_grace_then_ends_them_incomplete(make_host: MakeHost) -> None:
    @agent
    async def slow(context: RunContext) -> AsyncIterator[str]:
        yield "begun"
        await asyncio.sleep(0.05 if context.input_text == "quick" else 30)
        yield " done"

    store = MemoryStore()
    host = make_host(slow, store, shutdown_grace=0.5)
    await host.startup()
    quick = await host.engine.start(ask("quick"))
    stuck = await host.engine.start(ask("stuck"))
    await asyncio.wait_for(host.shutdown(), timeout=10)
    assert (await quick.wait()).status == "completed"
    stuck_result = await stuck.wait()
    assert (stuck_result.status, stuck_result.record.incomplete_reason) == ("incomplete", "shutdown")
    with pytest.raises(Exception) as refused:
        await host.engine.start(ask("late"))
    assert getattr(refused.value, "status_code", None) == 503


async def _copy_as_running(store: MemoryStore, final: ResponseRecord, runner: str) -> None:
    """Store `final`'s run again, under a fresh id, as still in progress under `runner`, with the
    events it had before its end."""
    events = await store.read_run_events(final.owner, final.id)
    running = final.evolve(id=final.id + "copy", status="in_progress", completed_at=None, runner=runner)
    await store.create_response(running)
    await store.append_run_events(final.owner, running.id, [e for e in events if e.number < len(events) - 1])


async def test_startup_ends_the_runs_of_a_runner_that_stopped(make_host: MakeHost) -> None:
    store = MemoryStore()
    crashed = make_host(echo_agent(), store)
    run = await crashed.engine.start(ask("x", background=True))
    final = (await run.wait()).record
    # A process that died mid-run: its lease ran out long ago; a live process's run is spared.
    await store.heartbeat("dead", lease=-1)
    await store.heartbeat("alive", lease=60)
    await _copy_as_running(store, final, "dead")
    spared = final.evolve(id=final.id + "alive", status="in_progress", completed_at=None, runner="alive")
    await store.create_response(spared)
    restarted = make_host(echo_agent(), store)
    await restarted.startup()
    after = await store.get_response("anonymous", final.id + "copy")
    assert after is not None and after.status == "failed"
    assert after.error is not None and after.error.code == "interrupted"
    assert [item.text for item in after.output_items] == ["x"]  # what its followers had seen
    log = await store.read_run_events("anonymous", after.id)
    assert [stored.number for stored in log] == list(range(len(log)))
    assert event_from_dict(log[-1].data) == RunFinished(
        "failed", after.completed_at or 0.0, None, after.error, None
    )
    untouched = await store.get_response("anonymous", spared.id)
    assert untouched is not None and untouched.status == "in_progress"
    await restarted.shutdown()
    await crashed.shutdown()


async def test_a_run_of_another_process_is_followed_through_the_store(make_host: MakeHost) -> None:
    store = MemoryStore()
    elsewhere = make_host(echo_agent(), store)
    here = make_host(echo_agent(), store)
    here.engine.remote_poll_interval = 0.01
    run = await elsewhere.engine.start(ask("far away"))
    final = (await run.wait()).record
    events = await store.read_run_events("anonymous", run.id)
    # The same run, going on in a live process: its events come one by one, then its end.
    await store.heartbeat("other", lease=60)
    running = final.evolve(id="resp_elsewhere", status="in_progress", completed_at=None, runner="other")
    await store.create_response(running)
    await store.append_run_events("anonymous", running.id, events[:1])

    followed = await here.engine.attach("anonymous", running.id)
    assert not followed.done
    collected: list[object] = []

    async def follow() -> None:
        async for event in followed.follow():
            collected.append(event)

    follower = asyncio.create_task(follow())
    await asyncio.sleep(0.05)
    assert not follower.done()  # still running elsewhere
    assert len(collected) == 1  # what was stored so far, before the end
    await store.append_run_events("anonymous", running.id, events[1:-1])
    await store.update_response(final.evolve(id=running.id, runner="other"), events=events[-1:])
    await asyncio.wait_for(follower, timeout=5)
    assert collected == [event_from_dict(stored.data) for stored in events]
    assert (await followed.wait()).text == "far away"
    await here.shutdown()
    await elsewhere.shutdown()


async def test_only_runs_someone_can_follow_record_events(
    monkeypatch: pytest.MonkeyPatch, make_host: MakeHost
) -> None:
    @agent
    async def talker(context: RunContext) -> AsyncIterator[str]:
        yield "a"
        yield "b"

    emitted: dict[str, list[type[RunEvent]]] = {}
    original = Run.emit

    def recording(run: Run, event: RunEvent) -> None:
        emitted.setdefault(run.id, []).append(type(event))
        original(run, event)

    monkeypatch.setattr(Run, "emit", recording)
    host = make_host(talker)
    followed = await host.engine.start(ask("x", store=False))  # whoever started it may follow it
    streamed = await host.engine.start(ask("x", store=False, stream=True))
    for run in (followed, streamed):
        assert (await run.wait()).text == "ab"
        assert [event.delta for event in run.events if isinstance(event, OutputTextDelta)] == ["a", "b"]
    # Executed inline, its id unknown to anyone until it ends: no events at all, stored or not.
    unstored = await host.engine.run(ask("x", store=False))
    stored = await host.engine.run(ask("x"))
    for result in (unstored, stored):
        assert result.text == "ab" and result.status == "completed"
        assert result.response_id not in emitted
    # Inline, but written at its start (an idempotency key can attach to it): every event.
    keyed = await host.engine.run(dataclasses.replace(ask("x"), idempotency_key="k", fingerprint="f"))
    assert emitted[keyed.response_id] == [
        RunStarted,
        OutputItemAdded,
        OutputTextDelta,
        OutputTextDelta,
        OutputItemDone,
        RunFinished,
    ]
    await host.shutdown()


async def test_a_run_executed_in_its_callers_task_still_ends_incomplete_at_shutdown(
    make_host: MakeHost,
) -> None:
    started = asyncio.Event()

    @agent
    async def stuck(context: RunContext) -> AsyncIterator[str]:
        yield "begun"
        started.set()
        await asyncio.sleep(30)

    store = MemoryStore()
    host = make_host(stuck, store, shutdown_grace=0.05)
    await host.startup()
    caller = asyncio.create_task(host.engine.run(ask("x")))  # not streamed: runs in the caller's task
    await asyncio.wait_for(started.wait(), 5)
    assert host.engine.live_runs == 1
    await asyncio.wait_for(host.shutdown(), 10)
    result = await asyncio.wait_for(caller, 5)  # the caller gets the outcome; it is not cancelled
    assert (result.status, result.record.incomplete_reason, result.text) == (
        "incomplete",
        "shutdown",
        "begun",
    )
    stored = await store.get_response("anonymous", result.response_id)
    assert stored is not None
    assert stored.status == "incomplete"


async def test_a_run_is_written_at_its_start_only_when_its_id_could_be_known_before_its_end(
    make_host: MakeHost,
) -> None:
    class CountingStore(MemoryStore):
        def __init__(self) -> None:
            super().__init__()
            self.created: list[str] = []

        async def create_response(self, record: ResponseRecord) -> None:
            self.created.append(record.id)
            await super().create_response(record)

    store = CountingStore()
    host = make_host(echo_agent(), store)
    waited_for = await host.engine.run(ask("plain"))
    streamed = await (await host.engine.start(ask("streamed", stream=True))).wait()
    background = await (await host.engine.start(ask("background", background=True))).wait()
    keyed = await host.engine.run(ask("keyed", idempotency_key="k", fingerprint="f"))
    assert store.created == [streamed.response_id, background.response_id, keyed.response_id]
    for result in (waited_for, streamed, background, keyed):
        stored = await store.get_response("anonymous", result.response_id)
        assert stored == result.record  # every one is stored in the end, written once or twice
    # Only a run whose id was known before its end keeps an event log; the other's is rebuilt.
    for result in (streamed, background, keyed):
        assert [event.number for event in await store.read_run_events("anonymous", result.response_id)]
    assert await store.read_run_events("anonymous", waited_for.response_id) == ()
    await host.shutdown()


async def test_a_turn_that_waited_for_its_conversation_past_the_start_of_a_stop_is_refused(
    make_host: MakeHost,
) -> None:
    @agent
    async def slow(context: RunContext) -> AsyncIterator[str]:
        yield "first "
        await asyncio.sleep(30)

    host = make_host(slow, shutdown_grace=0.2)
    await host.startup()
    first = await host.engine.start(ask("one", session_key="chat-1", background=True))
    assert first.created.conversation_id is not None
    waiting = asyncio.create_task(host.engine.run(ask("two", session_key="chat-1")))
    await asyncio.sleep(0.1)
    assert not waiting.done()  # it waits for the first turn
    await asyncio.wait_for(host.shutdown(), timeout=10)
    assert (await first.wait()).status == "incomplete"
    with pytest.raises(Exception) as refused:
        await asyncio.wait_for(waiting, timeout=5)
    assert getattr(refused.value, "status_code", None) == 503


class _FullDisk(MemoryStore):
    """A store whose writes fail once `full` is set (a run's start and its turn's release alike)."""

    full = False

    async def create_response(self, record: ResponseRecord) -> None:
        if self.full:
            await asyncio.sleep(0.05)  # a write that takes a while to fail: a retry comes meanwhile
            raise OSError("disk full")
        await super().create_response(record)

    async def release_conversation(self, owner: str, conversation_id: str, response_id: str) -> None:
        if self.full:
            raise OSError("disk full")
        await super().release_conversation(owner, conversation_id, response_id)


@agent
async def _answers(context: RunContext) -> AsyncIterator[str]:
    yield "ok"


async def test_a_start_the_store_refuses_is_a_storage_error_even_when_its_turn_cannot_be_given_up(
    make_host: MakeHost,
) -> None:
    store = _FullDisk()
    host = make_host(_answers, store=store)
    await host.startup()
    store.full = True
    request = ask("x", session_key="chat-1", background=True, idempotency_key="k1", fingerprint="f1")
    first = asyncio.create_task(host.engine.start(request))
    await asyncio.sleep(0.01)  # the first has claimed the key and is writing its start
    retry = asyncio.create_task(host.engine.start(request))
    # The retry waits on the first start and gets its error; it does not hang.
    outcomes = await asyncio.wait_for(asyncio.gather(first, retry, return_exceptions=True), timeout=10)
    for outcome in outcomes:
        assert isinstance(outcome, ServerError) and outcome.code == "storage_error", outcome
    await host.shutdown()


async def test_a_start_the_store_refused_can_be_retried_with_its_key(make_host: MakeHost) -> None:
    store = _FullDisk()
    host = make_host(_answers, store=store)
    await host.startup()
    store.full = True
    request = ask("x", background=True, idempotency_key="k1", fingerprint="f1")
    with pytest.raises(ServerError):
        await host.engine.start(request)
    store.full = False
    # Nothing ran and nothing was kept under the key: the retry starts afresh (it was a 404).
    assert (await (await host.engine.start(request)).wait()).text == "ok"
    await host.shutdown()


async def test_a_request_refused_for_a_busy_turn_can_be_retried_with_its_key(make_host: MakeHost) -> None:
    gate = asyncio.Event()

    @agent
    async def waits(context: RunContext) -> AsyncIterator[str]:
        if context.input_text == "first":
            await gate.wait()
        yield "done"

    host = make_host(waits, concurrent_turns="reject")
    await host.startup()
    first = await host.engine.start(ask("first", session_key="chat-1", background=True))
    second = ask("second", session_key="chat-1", idempotency_key="k1", fingerprint="f1")
    with pytest.raises(ConflictError):
        await host.engine.run(second)
    gate.set()
    assert (await first.wait()).text == "done"
    # Its run never started, so its key was released: the retry runs (it was a 404 for nothing).
    assert (await host.engine.run(second)).text == "done"
    await host.shutdown()


async def test_a_turn_the_store_would_not_give_up_is_given_up_at_a_later_heartbeat(
    make_host: MakeHost,
) -> None:
    store = _FullDisk()
    host = make_host(_answers, store=store, runner_lease=0.3)
    await host.startup()
    store.full = True
    with pytest.raises(ServerError):  # its start was refused, and then the release of its turn
        await host.engine.start(ask("one", session_key="chat-1", background=True))
    store.full = False
    # The conversation is not held for good by a run that never started.
    second = await asyncio.wait_for(host.engine.run(ask("two", session_key="chat-1")), timeout=10)
    assert second.status == "completed"
    await host.shutdown()
