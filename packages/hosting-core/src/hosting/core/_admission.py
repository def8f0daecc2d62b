"""What a request must pass before its run starts, besides the engine's own limits.

Options that contradict each other are refused (400) before anything is stored, and a store
that fails while a run starts (a full disk, a lost database) is a 500 with code
``storage_error``: the caller learns that nothing was stored, and nothing ran.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from ._channel import ChannelRequest
from ._exceptions import HostingError, InvalidRequestError, ServerError

logger = logging.getLogger("hosting.core")

STORAGE_FAILED = "The response could not be stored."
"""What a caller sees of a run whose outcome the store refused (the cause goes to the log)."""


@contextlib.contextmanager
def store_failures(response_id: str) -> Iterator[None]:
    """A store that fails while a run starts (a full disk, a lost database) is a 500 with code
    ``storage_error``: the caller learns that nothing was stored, and nothing ran."""
    try:
        yield
    except (HostingError, ValueError):
        raise
    except Exception as error:
        logger.exception("could not store the start of run %s", response_id)
        raise ServerError(STORAGE_FAILED, code="storage_error") from error


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
