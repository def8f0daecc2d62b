"""hosting.a2a: the hosted agents over the A2A protocol, for other agents and the official a2a-sdk.

``Host(agent, channels=[ResponsesChannel(), A2AChannel()])`` serves the default agent's card at
``/.well-known/agent-card.json`` and its JSON-RPC endpoint at ``/a2a``. docs/channels/a2a.md tells
what is mapped to what.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from ._channel import A2AChannel

try:
    __version__ = version("hosting-a2a")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without metadata
    __version__ = "0.0.0"

__all__ = ["A2AChannel", "__version__"]
