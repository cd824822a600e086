"""``hbmon.job``: a function or a block reported as a run, as ``hbmon run`` reports a command.

A ``running`` beat when it starts (with a run id, so overlapping runs of one name are told
apart), then ``succeeded`` or ``failed`` with the start, the end, the duration (monotonic
clock), the exit status and, for an exception, its message.
"""

import asyncio
import functools
import signal
import sys
import time
import uuid

from ._base import KINDS, HbmonError, _check_interval, _check_name, _error_text
from ._entry import _KEEP
from ._writer import _write

#: How long each of a run's beats waits for the file's lock, as ``hbmon run``'s: a writer
#: stopped while holding it delays the report by seconds, never the work.
BEAT_LOCK_TIMEOUT = 5.0


def _ending(exc):
    """(exit code, reason) of a run that ``exc`` (None: none) ended, shell-style as hbmon
    run's: 0 for a return, the code of a ``sys.exit``, 130 for Ctrl-C, 1 for an exception."""
    if exc is None:
        return 0, "returned"
    if isinstance(exc, SystemExit):
        code = exc.code
        if code is None or code is True or code is False or isinstance(code, int):
            code = int(code or 0)
            return (code if 0 <= code <= 255 else 255), "exited with code %d" % code
        return 1, "exited: %s" % code
    if isinstance(exc, KeyboardInterrupt):
        return 128 + signal.SIGINT, "interrupted by SIGINT (signal 2)"
    if isinstance(exc, asyncio.CancelledError):
        return 1, "cancelled"
    return 1, "%s: %s" % (type(exc).__name__, exc)


class job:
    """``@hbmon.job("nightly")`` on a function (sync or async), or ``with hbmon.job("nightly"):``
    (``async with`` in asyncio code, whose file work then runs off the loop).

    Each call or block is one run: ``running`` at its start, ``succeeded`` (exit code 0) or
    ``failed`` at its end, with ``started_at``, ``finished_at``, ``duration``, ``exit_code``
    and ``additional_data["reason"]`` (for an exception ``"ValueError: bad row"``, also its
    ``last_error``). The exception itself always goes on. A start that cannot be written
    raises HbmonError before the work runs; an end that cannot be written is said on stderr.

    ``interval`` is how often it runs (a number of seconds or ``"1d"``); ``pid`` defaults to
    this process (``pid=False``: none, for a process that exits after the run); ``kind`` is
    ``"job"`` or ``"app"``; ``file`` overrides the heartbeat file.
    """

    def __init__(self, name, *, interval=None, pid=None, kind="job", file=None):
        _check_name(name)
        if kind not in KINDS:
            raise HbmonError("invalid kind %r: expected app or job" % (kind,))
        self.name = name
        self.interval = None if interval is None else _check_interval(name, interval)
        self.pid = pid
        self.kind = kind
        self.file = file
        self.run_id = None
        self._started_at = None
        self._started = None

    def __call__(self, fn):
        def fresh():
            return job(self.name, interval=self.interval, pid=self.pid, kind=self.kind, file=self.file)

        if asyncio.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def run_async(*args, **kwargs):
                async with fresh():
                    return await fn(*args, **kwargs)

            return run_async

        @functools.wraps(fn)
        def run(*args, **kwargs):
            with fresh():
                return fn(*args, **kwargs)

        return run

    def __enter__(self):
        if self.run_id is not None:
            raise HbmonError("job %r is already running: use one hbmon.job per run" % self.name)
        self.run_id = str(uuid.uuid4())
        self._started_at = round(time.time(), 6)
        self._started = time.monotonic()
        self._beat("running", {"started_at": self._started_at, "run_id": self.run_id})
        return self

    def __exit__(self, exc_type, exc, tb):
        took = time.monotonic() - self._started
        code, reason = _ending(exc)
        ended = {
            "started_at": self._started_at,
            "finished_at": round(time.time(), 6),
            "duration": took,
            "exit_code": code,
            "run_id": self.run_id,
        }
        try:
            self._beat(
                "succeeded" if code == 0 else "failed",
                ended,
                data={"reason": reason},
                error=None if code == 0 else _error_text(reason),
            )
        except HbmonError as e:  # never hide the work's own result or exception
            print("hbmon: job %r: %s" % (self.name, e), file=sys.stderr)
        finally:
            self.run_id = None
        return False

    async def __aenter__(self):
        return await asyncio.to_thread(self.__enter__)

    async def __aexit__(self, exc_type, exc, tb):
        return await asyncio.to_thread(self.__exit__, exc_type, exc, tb)

    def _beat(self, status, run, data=None, error=None):
        return _write(
            self.name,
            self.file,
            status,
            data=_KEEP if data is None else data,
            merge=data is not None,
            error=error,
            pid=self.pid,
            interval=self.interval,
            kind=self.kind,
            lock_timeout=BEAT_LOCK_TIMEOUT,
            job=run,
        )
