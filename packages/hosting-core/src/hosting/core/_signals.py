"""Learning of a stop signal when it arrives, not when the server gets round to saying so.

uvicorn handles SIGTERM and Ctrl-C itself: it stops listening, waits for open
connections to close (up to its graceful period), cancels the requests still
going, and only then tells the app to shut down. An open stream would hold that
wait for its whole length and then be cut, with no terminal event, and a run
answering a plain request would be recorded ``cancelled``. So the host puts its
own handler in front of the server's for the signals the server handles: the
handler starts the host's drain on the event loop, then calls the server's
handler, which goes on exactly as before. Runs then end within the grace period,
their streams close with a terminal event, and the server's wait is short.

The handler is installed with `signal.signal` from the main thread, chained to
whatever was there: uvicorn's own handler (plain ``uvicorn``, ``hosting serve``,
`Host.serve`), or the no-op that `loop.add_signal_handler` leaves in place for a
server that reads signals through the event loop (the loop's handler still runs).
A signal nobody handles (its default action, or ignored) is left alone: the host
does not turn a process that would die or ignore it into one that lingers.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
"""The signals a server stops on gracefully (uvicorn's, except Windows' Ctrl-Break)."""


class SignalDrain:
    """Chains a handler in front of the server's for `STOP_SIGNALS`; `on_signal` runs on `loop`.

    Args:
        on_signal: called once per signal, on the event loop (not inside the signal handler).
    """

    def __init__(self, on_signal: Callable[[], None]) -> None:
        self.on_signal = on_signal
        self._previous: dict[int, Any] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def install(self) -> None:
        """Put the handler in front of each handled stop signal (main thread only; else nothing)."""
        if self._previous or threading.current_thread() is not threading.main_thread():
            return
        self._loop = asyncio.get_running_loop()
        for number in STOP_SIGNALS:
            previous = signal.getsignal(number)
            if not callable(previous):
                continue  # default action, ignored, or set outside Python: nobody stops gracefully
            self._previous[number] = previous
            signal.signal(number, self._handle)

    def uninstall(self) -> None:
        """Give each signal back its previous handler, unless someone replaced ours since."""
        if threading.current_thread() is not threading.main_thread():
            return
        for number, previous in self._previous.items():
            if signal.getsignal(number) == self._handle:
                signal.signal(number, previous)
        self._previous.clear()
        self._loop = None

    def _handle(self, number: int, frame: FrameType | None) -> None:
        # A signal handler runs between two bytecodes of the main thread, which may be inside
        # the event loop itself: hand the work to the loop instead of doing it here.
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self.on_signal)
        previous = self._previous.get(number)
        if callable(previous):
            previous(number, frame)
