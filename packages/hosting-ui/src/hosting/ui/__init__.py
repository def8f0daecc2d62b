"""hosting.ui: a web chat and run inspector served by the host.

from hosting.core import Host
from hosting.responses import ResponsesChannel
from hosting.ui import ChatUI

host = Host(my_agent, channels=[ResponsesChannel(), ChatUI()])   # the page at http://127.0.0.1:8000/

The page works over the host's public Responses API (models, streaming, resume,
cancel, input items, conversations), so what it shows is what any client gets.
See docs/ui.md.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from ._assets import CONTENT_SECURITY_POLICY
from ._channel import ChatUI

try:
    __version__ = version("hosting-ui")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without metadata
    __version__ = "0.0.0"

__all__ = ["CONTENT_SECURITY_POLICY", "ChatUI", "__version__"]
