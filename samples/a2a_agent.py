"""One assistant over the Responses API and over A2A, sharing its conversations.

    python samples/a2a_agent.py --port 8000                    # serve
    python samples/a2a_agent.py client http://127.0.0.1:8000   # talk to it with the a2a-sdk client

The assistant is the one of ``make serve`` (offline without ``OPENAI_API_KEY``, a real model with
it). Its A2A card is at ``/.well-known/agent-card.json`` and its endpoint at ``/a2a``; the
Responses API is at ``/v1``. A context started over A2A is a conversation the Responses API
continues (``conversation=<contextId>``), and the other way round.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping, Sequence

from a2a.client import create_client
from a2a.types import Message, Part, Role, SendMessageRequest

from assistant import choose_agent
from hosting.a2a import A2AChannel
from hosting.core import Host
from hosting.core.stores import Store
from hosting.responses import ResponsesChannel
from sample_server import run_sample


def build_host(environ: Mapping[str, str] = os.environ, *, store: Store | None = None) -> tuple[Host, str]:
    """The host of this sample and a line saying which mode it runs in."""
    agent, mode = choose_agent(environ)
    return Host(agent, channels=[ResponsesChannel(), A2AChannel()], store=store), mode


async def converse(url: str, questions: Sequence[str]) -> list[str]:
    """Ask the questions over A2A, in one context, streaming each answer; return the answers."""
    client = await create_client(url)  # finds the agent through its card
    context_id = ""
    answers = []
    for number, question in enumerate(questions):
        message = Message(message_id=f"q{number}", role=Role.ROLE_USER, context_id=context_id)
        message.parts.append(Part(text=question))
        text = ""
        async for event in client.send_message(SendMessageRequest(message=message)):
            if event.HasField("task"):
                context_id = event.task.context_id
            elif event.HasField("artifact_update"):
                text += "".join(part.text for part in event.artifact_update.artifact.parts)
            elif event.HasField("status_update") and event.status_update.status.HasField("message"):
                step = event.status_update.status.message  # a tool call or its result
                print(f"  [{step.metadata['kind']}]")
        print(f"> {question}\n{text}")
        answers.append(text)
    await client.close()
    return answers


def main(argv: Sequence[str] | None = None) -> None:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["client"]:
        url = arguments[1] if len(arguments) > 1 else "http://127.0.0.1:8000"
        asyncio.run(converse(url, ["What is 17 * 23?", "My name is Ada.", "What is my name?"]))
        return
    host, mode = build_host()
    run_sample(
        host,
        title="hosting: the assistant over the Responses API and A2A",
        mode=f"{mode}\n  a2a card: http://{{address}}/.well-known/agent-card.json "
        "(try: python samples/a2a_agent.py client http://{address})",
        model="assistant",
        argv=arguments,
    )


if __name__ == "__main__":
    main()
