"""One assistant over the Responses API and as an MCP tool, sharing its conversations.

    python samples/mcp_agent.py --port 8000                    # serve
    python samples/mcp_agent.py client http://127.0.0.1:8000   # talk to it with the mcp SDK's client

The assistant is the one of ``make serve`` (offline without ``OPENAI_API_KEY``, a real model with
it). Its MCP endpoint is at ``/mcp`` (Streamable HTTP), where it is the tool ``assistant``; the
Responses API is at ``/v1``. A conversation started over MCP is one the Responses API continues
(``conversation=<the id in the tool's structured content>``), and the other way round.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping, Sequence

from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.types import TextContent

from assistant import choose_agent
from hosting.core import Host
from hosting.core.stores import Store
from hosting.mcp import MCPChannel
from hosting.responses import ResponsesChannel
from sample_server import run_sample


def build_host(environ: Mapping[str, str] = os.environ, *, store: Store | None = None) -> tuple[Host, str]:
    """The host of this sample and a line saying which mode it runs in."""
    agent, mode = choose_agent(environ)
    return Host(agent, channels=[ResponsesChannel(), MCPChannel()], store=store), mode


async def print_delta(progress: float, total: float | None, message: str | None) -> None:
    """Each text delta of the answer arrives as a progress notification while the agent runs."""
    print(message or "", end="", flush=True)


async def converse(url: str, questions: Sequence[str]) -> tuple[list[str], str | None]:
    """Ask the questions with the `assistant` tool, in one conversation; return the answers and its id."""
    answers: list[str] = []
    conversation: str | None = None
    async with (
        streamable_http_client(f"{url}/mcp") as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        tools = await session.list_tools()
        print("tools:", ", ".join(tool.name for tool in tools.tools))
        for question in questions:
            arguments = {"input": question}
            if conversation is not None:
                arguments["conversation"] = conversation
            print(f"> {question}")
            result = await session.call_tool("assistant", arguments, progress_callback=print_delta)
            print()
            if result.is_error or not isinstance(result.structured_content, dict):
                raise RuntimeError(f"the assistant failed: {result.content}")
            conversation = result.structured_content["conversation"]
            answers.append("".join(block.text for block in result.content if isinstance(block, TextContent)))
    return answers, conversation


def main(argv: Sequence[str] | None = None) -> None:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["client"]:
        url = arguments[1] if len(arguments) > 1 else "http://127.0.0.1:8000"
        _, conversation = asyncio.run(
            converse(url, ["What is 17 * 23?", "My name is Ada.", "What is my name?"])
        )
        print(f"conversation: {conversation}")
        return
    host, mode = build_host()
    run_sample(
        host,
        title="hosting: the assistant over the Responses API and MCP",
        mode=f"{mode}\n  mcp:      http://{{address}}/mcp "
        "(try: python samples/mcp_agent.py client http://{address})",
        model="assistant",
        argv=arguments,
    )


if __name__ == "__main__":
    main()
