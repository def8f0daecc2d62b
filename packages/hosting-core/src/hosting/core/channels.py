"""hosting.core.channels: what a channel author uses.

A channel is one object with a `name` and a `contribute(context)` method that
returns a `ChannelContribution` (routes, start-up and shutdown callbacks, a push
function, commands, an error renderer). The `ChannelContext` it is handed runs
agents (`run`, `run_stream`, `attach`, `cancel`), gives the store scoped to the
caller, and delivers to other channels. A channel parses its wire format into a
`ChannelRequest` and renders the `RunEvent`s of the `Run` it gets back.

docs/channels/writing-a-channel.md walks through a complete one. Records a
channel renders (`ResponseRecord`, `RunError`, ...) come from `hosting.core.stores`;
agents' items and updates from `hosting.core`.
"""

from __future__ import annotations

from ._agent import OUTPUT_FORMAT_OPTION
from ._channel import (
    Channel,
    ChannelContribution,
    ChannelIdentity,
    ChannelRequest,
    Command,
    CommandHandler,
    Delivery,
    DeliveryReport,
    DeliveryTarget,
    HostedRunResult,
    PushFunction,
)
from ._context import ChannelContext, ScopedStore
from ._error_response import ErrorRenderer, error_response
from ._events import (
    FunctionArgumentsDelta,
    OutputItemAdded,
    OutputItemDone,
    OutputTextDelta,
    ReasoningTextDelta,
    RunEvent,
    RunFinished,
    RunStarted,
)
from ._isolation import isolation_scope
from ._json import encode_json
from ._limits import request_body
from ._public import publish
from ._run import Run, RunMode
from ._types import ROLES, OutputFormat, with_id

__all__ = [
    "OUTPUT_FORMAT_OPTION",
    "ROLES",
    "Channel",
    "ChannelContext",
    "ChannelContribution",
    "ChannelIdentity",
    "ChannelRequest",
    "Command",
    "CommandHandler",
    "Delivery",
    "DeliveryReport",
    "DeliveryTarget",
    "ErrorRenderer",
    "FunctionArgumentsDelta",
    "HostedRunResult",
    "OutputFormat",
    "OutputItemAdded",
    "OutputItemDone",
    "OutputTextDelta",
    "PushFunction",
    "ReasoningTextDelta",
    "Run",
    "RunEvent",
    "RunFinished",
    "RunMode",
    "RunStarted",
    "ScopedStore",
    "encode_json",
    "error_response",
    "isolation_scope",
    "request_body",
    "with_id",
]

publish(__name__, globals(), __all__)
del publish
