"""Talk to a running host with the official `openai` SDK: create, stream, and continue a conversation.

python samples/default_agent.py --port 8000        # in one terminal
python samples/client.py --base-url http://127.0.0.1:8000/v1
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from openai import OpenAI


def converse(client: OpenAI, model: str) -> list[str]:
    """Three turns: a streamed question with a tool call, then two that build on it. Returns the answers."""
    answers: list[str] = []
    print("> What is 17 * 23?")
    with client.responses.stream(model=model, input="What is 17 * 23?") as stream:
        for event in stream:
            # A tool the agent ran itself arrives whole, with its result: an `mcp_call` item.
            if event.type == "response.output_item.done" and event.item.type == "mcp_call":
                print(f"  [tool] {event.item.name}({event.item.arguments}) -> {event.item.output}")
            elif event.type == "response.output_text.delta":
                print(event.delta, end="", flush=True)
        first = stream.get_final_response()
    print()
    answers.append(first.output_text)

    previous = first.id
    for text in ("My name is Ada.", "What is my name?"):
        print(f"> {text}")
        response = client.responses.create(model=model, input=text, previous_response_id=previous)
        print(response.output_text)
        answers.append(response.output_text)
        previous = response.id
    return answers


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--base-url", default="http://127.0.0.1:8000/v1")
    parser.add_argument("--model", default="assistant")
    parser.add_argument(
        "--api-key", default="local", help="sent as a bearer token (any value, unless the host checks)"
    )
    arguments = parser.parse_args(argv)
    with OpenAI(base_url=arguments.base_url, api_key=arguments.api_key, max_retries=0) as client:
        converse(client, arguments.model)


if __name__ == "__main__":
    main()
