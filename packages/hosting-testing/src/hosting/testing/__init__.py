"""hosting.testing: test your agent as your users will reach it.

Public names are listed in `__all__`; each section below is owned by one module.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from ._agents import Delay, EchoAgent, Fail, RecordedRun, ScriptedAgent, Step, StepFunction
from ._clients import DEFAULT_API_KEY, async_openai_client, openai_client
from ._server import serve, serving

try:
    __version__ = version("hosting-testing")
except PackageNotFoundError:  # pragma: no cover
    __version__ = "0.0.0"

__all__ = [
    "DEFAULT_API_KEY",
    "Delay",
    "EchoAgent",
    "Fail",
    "RecordedRun",
    "ScriptedAgent",
    "Step",
    "StepFunction",
    "__version__",
    "async_openai_client",
    "openai_client",
    "serve",
    "serving",
]
