"""Several agents on one host; the client picks one with ``model``.

    python samples/multi_agent.py --port 8000

``client.models.list()`` lists them; ``model="echo"``, ``"shout"`` or ``"assistant"``
picks one; a request without a ``model`` gets the first, ``"assistant"``, and an
unknown name is a 400 ``model_not_found``. They share one store, so
a ``previous_response_id`` from one agent can be continued by another.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from assistant import OfflineAssistant
from hosting.core import Host, MemoryStore, RunContext, agent
from hosting.responses import ResponsesChannel
from hosting.testing import EchoAgent
from sample_server import run_sample


@agent(name="shout")
async def shout(context: RunContext) -> AsyncIterator[str]:
    """A plain async generator is an agent too."""
    yield context.input_text.upper()


host = Host(
    {"assistant": OfflineAssistant(), "echo": EchoAgent(), "shout": shout},
    channels=[ResponsesChannel()],
    store=MemoryStore(),
)


def main(argv: Sequence[str] | None = None) -> None:
    run_sample(
        host,
        title="hosting: three agents on one host (model = assistant | echo | shout)",
        mode="multi-agent: a request without a model gets 'assistant'; an unknown model is a 400 (model_not_found)",
        model="shout",
        argv=argv,
        inputs=("hello", "is anyone there?", "louder!"),
    )


if __name__ == "__main__":
    main()
