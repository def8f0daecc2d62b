"""What the adapter keeps in the host's session state, per conversation (and per response of a chain).

The host stores a run's session state only when the run completed, under the
conversation (for a conversation) or under the response (for a
``previous_response_id`` chain, so each branch has its own). Everything the
adapter keeps lives under one key, ``"agent_framework"``:

``session``
    the agent's `AgentSession`, as `AgentSession.to_dict()` gives it.
``covered``
    how many items of the conversation's history the session had seen when the
    last turn started (its history plus its input); later items are the last
    turn's output, which the session holds already, and anything added to the
    conversation between turns.
``conversation``
    a key naming the conversation for ``per="conversation"`` factories: the
    conversation id, or the first response of a chain.
``workflow``
    a workflow's checkpoint (see `_checkpoints`).
``approvals``
    the tool approval requests the last turn ended with, by the call id they
    were shown with (see `_approvals`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from agent_framework import AgentSession
from hosting.core import Item, Message, RunContext

STATE_KEY = "agent_framework"


def adapter_state(context: RunContext) -> dict[str, Any]:
    """The adapter's part of the run's session state (created empty on a first turn)."""
    state = context.session_state.get(STATE_KEY)
    if not isinstance(state, dict):
        state = {}
        context.session_state[STATE_KEY] = state
    return cast(dict[str, Any], state)


def conversation_key(context: RunContext) -> str:
    """A stable name for the conversation this run belongs to (kept in session state)."""
    state = adapter_state(context)
    key = state.get("conversation")
    if not isinstance(key, str):
        key = context.conversation_id or context.response_id
        state["conversation"] = key
    return key


def restore_session(context: RunContext, agent: Any) -> tuple[Any, bool]:
    """The agent's session for this turn, and whether it was restored from an earlier turn."""
    stored = adapter_state(context).get("session")
    if isinstance(stored, dict):
        return AgentSession.from_dict(stored), True
    create = getattr(agent, "create_session", None)
    session = create() if callable(create) else AgentSession()
    return session, False


def save_session(context: RunContext, session: Any) -> None:
    """Keep the session in the run's session state (the host stores it if the run completes)."""
    state = adapter_state(context)
    to_dict = getattr(session, "to_dict", None)
    if callable(to_dict):
        state["session"] = to_dict()
    state["covered"] = len(context.history) + len(context.input)


def unseen_history(context: RunContext) -> Sequence[Item]:
    """History items a restored session has not seen: messages added to the conversation between turns.

    The items after the ones the session covered are the last turn's output
    (which the session recorded itself) and whatever a client appended to the
    conversation since; only the latter's user, system and developer messages
    are new to the agent.
    """
    covered = adapter_state(context).get("covered")
    if not isinstance(covered, int) or covered < 0:
        return ()
    return tuple(
        item for item in context.history[covered:] if isinstance(item, Message) and item.role != "assistant"
    )
