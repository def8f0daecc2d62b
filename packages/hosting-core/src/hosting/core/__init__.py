"""hosting.core: serve any agent over many wire protocols from one ASGI app.

This module is what an application author uses: the `Host`, agents and the
types they read and yield, authentication, the caller's isolation keys, the
built-in stores, and the errors. Three more tiers sit beside it, each for
another audience:

- `hosting.core.channels`: what a channel author uses (the channel contract, the
  context a channel gets, requests, results, run events, delivery, body helpers);
- `hosting.core.stores`: what a store author uses (the `Store` protocol, the
  records, their codecs);
- `hosting.core.middleware`: the ASGI middlewares the host stacks, usable alone.

Everything else is internal and may change without notice.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from ._agent import Agent, AgentOutput, FunctionAgent, RunContext, agent, as_agent
from ._auth import ApiKeyAuthenticator, Authenticator, bearer_token
from ._engine import DisconnectPolicy
from ._exceptions import (
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    HostingError,
    InvalidRequestError,
    LimitExceededError,
    NotFoundError,
    RejectedError,
    RequestError,
    ServerError,
    ServiceUnavailableError,
)
from ._hooks import RunHook, UpdateHook
from ._host import Host
from ._ids import IdFactory, PartitionedIdFactory, RandomIdFactory
from ._isolation import ANONYMOUS_USER, IsolationKeys, get_current_isolation_keys
from ._limits import Limits
from ._logs import JsonLogFormatter, RequestContextFilter, configure_logging, logging_config
from ._public import publish
from ._request_id import get_current_request_id
from ._store import MemoryStore, SQLiteStore
from ._telemetry import Telemetry
from ._types import (
    ErrorUpdate,
    FilePart,
    FunctionCall,
    FunctionResult,
    ImagePart,
    Item,
    ItemBreak,
    Message,
    Part,
    Reasoning,
    ReasoningDelta,
    Role,
    TextDelta,
    TextPart,
    ToolSpec,
    ToolStep,
    Update,
    Usage,
    assistant_message,
    user_message,
)

try:
    __version__ = version("hosting-core")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without metadata
    __version__ = "0.0.0"

__all__ = [
    "ANONYMOUS_USER",
    "Agent",
    "AgentOutput",
    "ApiKeyAuthenticator",
    "AuthenticationError",
    "Authenticator",
    "ConfigurationError",
    "ConflictError",
    "DisconnectPolicy",
    "ErrorUpdate",
    "FilePart",
    "FunctionAgent",
    "FunctionCall",
    "FunctionResult",
    "Host",
    "HostingError",
    "IdFactory",
    "ImagePart",
    "InvalidRequestError",
    "IsolationKeys",
    "Item",
    "ItemBreak",
    "JsonLogFormatter",
    "LimitExceededError",
    "Limits",
    "MemoryStore",
    "Message",
    "NotFoundError",
    "Part",
    "PartitionedIdFactory",
    "RandomIdFactory",
    "Reasoning",
    "ReasoningDelta",
    "RejectedError",
    "RequestContextFilter",
    "RequestError",
    "Role",
    "RunContext",
    "RunHook",
    "SQLiteStore",
    "ServerError",
    "ServiceUnavailableError",
    "Telemetry",
    "TextDelta",
    "TextPart",
    "ToolSpec",
    "ToolStep",
    "Update",
    "UpdateHook",
    "Usage",
    "__version__",
    "agent",
    "as_agent",
    "assistant_message",
    "bearer_token",
    "configure_logging",
    "get_current_isolation_keys",
    "get_current_request_id",
    "logging_config",
    "user_message",
]

publish(__name__, globals(), __all__)
del publish
