"""What a request must pass before its run starts, besides the engine's own limits.

The agent it names must exist (or be the only one).
Options that contradict each other are refused (400) before anything is stored, and a store
that fails while a run starts (a full disk, a lost database) is a 500 with code
``storage_error``: the caller learns that nothing was stored, and nothing ran.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from ._agent import Agent
from ._channel import ChannelRequest
from ._exceptions import HostingError, InvalidRequestError, ServerError

logger = logging.getLogger("hosting.core")

STORAGE_FAILED = "The response could not be stored."
"""What a caller sees of a run whose outcome the store refused (the cause goes to the log)."""


def start_failure(error: BaseException, response_id: str) -> BaseException:
    """What the caller of a run that could not start is told: `error` itself, unless it is a
    store's (a full disk, a lost database), which is a 500 with code ``storage_error`` (the
    caller learns that nothing was stored, and nothing ran; the cause goes to the log)."""
    if not isinstance(error, Exception) or isinstance(error, HostingError | ValueError):
        return error
    logger.error("could not store the start of run %s", response_id, exc_info=error)
    return ServerError(STORAGE_FAILED, code="storage_error")


def check_combination(request: ChannelRequest) -> None:
    """Refuse options that contradict each other."""
    if request.background and not request.store:
        raise InvalidRequestError("A background response requires store to be true.", param="background")
    if request.conversation_id and request.previous_response_id:
        raise InvalidRequestError(
            "Use either conversation or previous_response_id, not both.", param="previous_response_id"
        )
    if request.conversation_id and not request.store:
        raise InvalidRequestError("A response in a conversation requires store to be true.", param="store")


def select_agent(agents: Mapping[str, Agent], requested: str | None) -> tuple[str, Agent]:
    """The agent a request names, by name; the first of `agents` when it names none, or when
    there is only one (any model name then reaches it); an unknown name among several is a 400."""
    if requested is not None and requested in agents:
        return requested, agents[requested]
    if requested is None or len(agents) == 1:
        default = next(iter(agents))
        return default, agents[default]
    raise InvalidRequestError(
        f"The model '{requested[:128]}' does not exist. Available: {', '.join(sorted(agents))}.",
        param="model",
        code="model_not_found",
    )
