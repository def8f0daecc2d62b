"""A tiny app for the process tests: an echo agent on a JSON channel, memory store."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hosting.core import Host, MemoryStore, RunContext, agent, user_message
from hosting.core.channels import ChannelContext, ChannelContribution, ChannelRequest


@agent
async def echo(context: RunContext) -> AsyncIterator[str]:
    yield context.input_text


class Invoke:
    name = "invoke"

    def contribute(self, context: ChannelContext) -> ChannelContribution:
        async def invoke(request: Request) -> Response:
            body = await request.json()
            result = await context.run(ChannelRequest(channel=self.name, input=(user_message(body["text"]),)))
            return JSONResponse({"text": result.text})

        def stopped() -> None:
            print("shutdown callbacks ran", flush=True)

        return ChannelContribution(routes=[Route("/invoke", invoke, methods=["POST"])], on_shutdown=[stopped])


host = Host(echo, channels=[Invoke()], store=MemoryStore(), shutdown_grace=1.0)

if __name__ == "__main__":
    host.serve(port=int(sys.argv[1]), log_level="info")
