"""The offline assistant: deterministic, no model, and still shows what the host does.

It streams its answer word by word; for arithmetic it calls its calculator and
for the time its clock, each shown as a tool step (the call with its result) before
the answer; it remembers your name from earlier turns (the host hands it the
conversation's history), and counts the turns in the session state the host keeps.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable
from datetime import datetime

from hosting.core import ErrorUpdate, Item, Message, RunContext, TextDelta, Update

from .tools import run_tool, tool_step

_NAME = re.compile(r"\bmy name is\s+([A-Za-z][\w'-]{0,40})", re.IGNORECASE)
_RECALL = re.compile(r"\b(what'?s|what is|do you (know|remember)) my name\b|\bwho am i\b", re.IGNORECASE)
_TIME = re.compile(r"\b(time|clock|date|today)\b", re.IGNORECASE)
_ARITHMETIC_RUN = re.compile(
    "[0-9.\\s+\\-*/%^()\u00d7\u00f7]+"
)  # \u00d7 and \u00f7: the times and divide signs
_BINARY_OPERATION = re.compile("\\d\\s*\\)*\\s*(\\*\\*|//|[-+*/%^\u00d7\u00f7])\\s*[-(]*\\s*\\d")

HELP = (
    "I am the offline demo agent: no model is configured, so I answer by rule. "
    "Try 'What is 17 * 23?', 'What time is it?', 'My name is Ada' and then 'What is my name?'. "
    "Set OPENAI_API_KEY (and optionally OPENAI_BASE_URL, OPENAI_MODEL) to talk to a real model."
)


def find_expression(text: str) -> str | None:
    """The longest run of arithmetic in `text` that has at least one operation, if any."""
    candidates = [match.group().strip() for match in _ARITHMETIC_RUN.finditer(text)]
    candidates = [candidate.rstrip(".") for candidate in candidates if _BINARY_OPERATION.search(candidate)]
    return max(candidates, key=len) if candidates else None


def remembered_name(items: tuple[Item, ...]) -> str | None:
    """The name the user gave most recently in `items`."""
    name = None
    for item in items:
        if isinstance(item, Message) and item.role == "user":
            for match in _NAME.finditer(item.text):
                name = match.group(1)
    return name


class OfflineAssistant:
    """A rule-based agent with a calculator, a clock and a memory of earlier turns.

    Args:
        name: the agent's name (the ``model`` clients may ask for).
        word_delay: seconds between streamed words, so streaming is visible (0 in tests).
        now: the clock's source of time (for tests).
    """

    def __init__(
        self, *, name: str = "assistant", word_delay: float = 0.02, now: Callable[[], datetime] | None = None
    ) -> None:
        self.name = name
        self.word_delay = word_delay
        self.now = now

    async def run(self, context: RunContext) -> AsyncIterator[Update]:
        if context.output_format is not None:
            # It answers in sentences only: say so, rather than answer free text the caller's
            # parser would choke on (a 400 over the Responses API).
            yield ErrorUpdate(
                "The offline assistant answers in plain text only; it cannot follow a JSON format."
                " Set OPENAI_API_KEY to use a model that can.",
                code="invalid_request",
            )
            return
        text = context.input_text.strip()
        context.session_state["turns"] = int(context.session_state.get("turns", 0)) + 1
        expression = find_expression(text)
        said = _NAME.search(text)
        if said:
            reply = f"Nice to meet you, {said.group(1)}! I will remember your name in this conversation."
        elif _RECALL.search(text):
            known = remembered_name(context.history)
            reply = f"Your name is {known}." if known else "You have not told me your name yet."
        elif expression is not None:
            arguments = json.dumps({"expression": expression})
            result = run_tool("calculator", arguments)
            yield tool_step("calculator", arguments, result)
            reply = (
                f"I could not work out {expression}: {result[len('error: ') :]}."
                if result.startswith("error: ")
                else f"{expression} = {result}"
            )
        elif _TIME.search(text):
            arguments = json.dumps({"timezone": "UTC"})
            result = run_tool("clock", arguments, now=self.now)
            yield tool_step("clock", arguments, result)
            reply = f"It is {result} (UTC), according to my clock tool."
        elif text:
            reply = f"You said: {text!r}. This is turn {context.session_state['turns']} of our conversation. {HELP}"
        else:
            reply = HELP
        for position, word in enumerate(re.findall(r"\s*\S+", reply)):
            if position and self.word_delay:
                await asyncio.sleep(self.word_delay)
            yield TextDelta(word)
