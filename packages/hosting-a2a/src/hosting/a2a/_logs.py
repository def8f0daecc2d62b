"""The SDK's dispatcher logs a client's malformed request as an error with its traceback.

A request that is not valid JSON-RPC, or whose parameters do not parse, is the caller's mistake:
the caller gets the protocol's error (``-32600``, ``-32602``), and the server's log gets one
warning line, not an error with a traceback. Errors of the server's own stay errors.
"""

from __future__ import annotations

import logging

DISPATCHER_LOGGER = "a2a.server.routes.jsonrpc_dispatcher"
_CLIENT_MISTAKES = ("Failed to validate base JSON-RPC request", "Failed to parse request params")


class ClientMistakesAreWarnings(logging.Filter):
    """Turns the dispatcher's records of a client's malformed request into one-line warnings."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR and record.getMessage() in _CLIENT_MISTAKES:
            error = record.exc_info[1] if record.exc_info else None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg = f"{record.getMessage()} (a client's malformed request): {error}"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
        return True


def quiet_client_mistakes() -> None:
    """Install the filter on the dispatcher's logger, once per process."""
    dispatcher = logging.getLogger(DISPATCHER_LOGGER)
    if not any(isinstance(existing, ClientMistakesAreWarnings) for existing in dispatcher.filters):
        dispatcher.addFilter(ClientMistakesAreWarnings())
