"""AsyncHeartbeat: a Heartbeat for asyncio code whose awaits never block the event loop.

Every file operation (the lock, the read, the rename) runs in a worker thread
(``asyncio.to_thread``); ``pulse()`` only sets a flag, and the Heartbeat's own writer thread
turns the flags into at most one beat per ``interval / 4``. Stop-signal handlers are
installed and removed from the loop's thread, which is the main thread where Python lets
``signal.signal`` run.
"""

import asyncio

from ._base import DEFAULT_INTERVAL
from ._signals import _register, _unregister
from ._writer import Heartbeat


class AsyncHeartbeat:
    """``async with hbmon.AsyncHeartbeat("svc", interval=30) as hb: ... await hb.pulse()``.

    The same beats as Heartbeat: the first ``alive`` on start, ``alive`` when pulsed (paced),
    ``stopped`` on a clean exit or a cancellation (a service cancelled at shutdown stopped,
    it did not fail), ``error`` naming any other exception, and SIGTERM, SIGHUP and SIGINT
    as clean stops where they have their default action.
    """

    def __init__(self, name, interval=DEFAULT_INTERVAL, file=None, kind="app", handle_signals=True, keepalive=False):
        self._hb = Heartbeat(name, interval, file, kind, handle_signals, keepalive)

    @property
    def name(self):
        return self._hb.name

    @property
    def interval(self):
        return self._hb.interval

    async def start(self):
        """Writes the first ``alive`` beat (off the loop) and starts pacing; returns self."""
        hb = self._hb
        hb._check_idle()
        if hb.handle_signals:
            _register(hb)
        try:
            await asyncio.to_thread(hb._begin)
        except BaseException:
            _unregister(hb)
            raise
        return self

    async def pulse(self):
        """Says "still making progress": sets a flag, never waits for the file."""
        self._hb.pulse()

    async def error(self, message):
        """Writes an ``error`` beat with ``message`` (off the loop) and returns the entry."""
        return await asyncio.to_thread(self._hb.error, message)

    def set_data(self, data):
        """Sets ``additional_data`` (any JSON value), written with the next beat."""
        self._hb.set_data(data)

    async def stop(self):
        """Stops pacing and writes a clean ``stopped`` beat (off the loop); returns the entry."""
        try:
            return await asyncio.to_thread(self._hb._stopped)
        finally:
            _unregister(self._hb)

    async def __aenter__(self):
        return await self.start()

    async def __aexit__(self, exc_type, exc, tb):
        try:
            await asyncio.to_thread(self._hb._end, exc, (asyncio.CancelledError,))
        finally:
            _unregister(self._hb)
        return False
