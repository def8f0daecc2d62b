"""The sample assistant behind ``make serve``: online with a real model, offline without one.

`choose_agent` reads the same variables as the `openai` SDK: with ``OPENAI_API_KEY``
set, the assistant is a real tool-using agent (``OPENAI_BASE_URL`` picks any
OpenAI-compatible server, ``OPENAI_MODEL`` the model); without it, a deterministic
local agent that needs no network.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hosting.core import Agent

from .offline import OfflineAssistant

__all__ = ["DEFAULT_MODEL", "OfflineAssistant", "OpenAIAssistant", "choose_agent"]


def __getattr__(name: str) -> Any:
    # The online assistant needs the `openai` SDK; offline, the sample runs without it installed.
    if name in ("DEFAULT_MODEL", "OpenAIAssistant"):
        from . import online

        return getattr(online, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def choose_agent(environ: Mapping[str, str], *, name: str = "assistant") -> tuple[Agent, str]:
    """The assistant for this environment, and a line that says which mode it is in."""
    api_key = environ.get("OPENAI_API_KEY", "").strip()
    if not api_key:
        return OfflineAssistant(
            name=name
        ), "offline: a deterministic local agent (set OPENAI_API_KEY for a model)"
    from openai import AsyncOpenAI

    from .online import DEFAULT_MODEL, OpenAIAssistant

    base_url = environ.get("OPENAI_BASE_URL", "").strip() or None
    model = environ.get("OPENAI_MODEL", "").strip() or DEFAULT_MODEL
    client = AsyncOpenAI(api_key=api_key, base_url=base_url)
    where = base_url or "https://api.openai.com/v1"
    return OpenAIAssistant(client, model=model, name=name), f"online: model {model} at {where}"
