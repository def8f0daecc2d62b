"""`ScriptedChatClient`: an Agent Framework chat client that answers from a script, for tests.

It is a real Agent Framework chat client (with Agent Framework's own function
invocation loop), so an `Agent` built on it runs its tools, sessions and
context providers exactly as it would on a model service::

    client = ScriptedChatClient([
        [Content.from_function_call(call_id="c1", name="weather", arguments='{"city": "Paris"}')],
        ["It is sunny in Paris."],
    ])
    agent = Agent(client=client, tools=[weather])

Each model call takes the next reply. A reply is a list of contents (a `str`
is a text content); streamed, each content is one update.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from agent_framework import (
    BaseChatClient,
    ChatResponse,
    ChatResponseUpdate,
    Content,
    FunctionInvocationLayer,
    Message,
    ResponseStream,
)

Reply: TypeAlias = Sequence[Content | str]
Responder: TypeAlias = Callable[[Sequence[Message]], Reply]


@dataclass(frozen=True, slots=True)
class ScriptedCall:
    """One model call the client received: the messages and the options it was sent."""

    messages: tuple[Message, ...]
    options: Mapping[str, Any]

    @property
    def texts(self) -> list[tuple[str, str]]:
        """``(role, text)`` of each message, for compact assertions."""
        return [(message.role, message.text) for message in self.messages]

    @property
    def tool_names(self) -> list[str]:
        """The names of the tools the call declared to the model."""
        return [str(getattr(tool, "name", tool)) for tool in self.options.get("tools") or ()]


class ScriptedChatClient(FunctionInvocationLayer[Any], BaseChatClient[Any]):
    """A chat client that replies from a script (see the module docstring).

    Args:
        replies: the replies of successive model calls.
        respond: computes a reply from the messages once `replies` are used up; without it, a call
            past the end of the script fails.
    """

    def __init__(self, replies: Iterable[Reply] = (), *, respond: Responder | None = None) -> None:
        super().__init__()
        self.replies: list[Reply] = list(replies)
        self.respond = respond
        self.calls: list[ScriptedCall] = []

    def _next_reply(
        self, messages: Sequence[Message], options: Mapping[str, Any]
    ) -> list[ChatResponseUpdate]:
        self.calls.append(ScriptedCall(tuple(copy.deepcopy(list(messages))), dict(options)))
        if self.replies:
            reply = self.replies.pop(0)
        elif self.respond is not None:
            reply = self.respond(messages)
        else:
            raise RuntimeError(f"the script has no reply left for model call {len(self.calls)}")
        return [
            ChatResponseUpdate(
                role="assistant", contents=[Content.from_text(part) if isinstance(part, str) else part]
            )
            for part in reply
        ]

    def _inner_get_response(
        self,
        *,
        messages: Sequence[Message],
        stream: bool,
        options: Mapping[str, Any],
        **kwargs: Any,
    ) -> Awaitable[ChatResponse] | ResponseStream[ChatResponseUpdate, ChatResponse]:
        if stream:

            async def updates() -> AsyncIterator[ChatResponseUpdate]:
                for update in self._next_reply(messages, options):
                    yield update

            return self._build_response_stream(updates())

        async def whole() -> ChatResponse:
            return ChatResponse.from_updates(self._next_reply(messages, options))

        return whole()
