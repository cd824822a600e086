"""``hbmon.job``: a function or a block reported as a run, as ``hbmon run`` reports a command.

A ``running`` beat when it starts (with a run id, so overlapping runs of one name are told
apart), then ``succeeded`` or ``failed`` with the start, the end, the duration (monotonic
clock), the exit status and, for an exception, its message; a stop signal ends the run
first, as it does under ``hbmon run``.
"""

import asyncio
import functools
import signal
import sys
import time
import uuid

from ._base import KINDS, HbmonError, _check_interval, _check_name, _error_text
from ._entry import _KEEP
from ._signals import SIGNAL_STOP_LOCK_TIMEOUT, _describe, _register, _section, _unregister
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

    A stop signal ends the run as ``hbmon run`` reports a command it killed: while a run is
    in progress, SIGTERM and SIGHUP, where they have their default action, write its last
    beat first -- exit code 128+N, a job ``failed`` with ``interrupted by SIGTERM (signal
    15)`` (its work did not finish), an app ``stopped by SIGTERM (signal 15)`` -- and then
    end the process by the signal, as Heartbeat does (the same handler, the same rules: a
    program's own handler is never replaced; ``handle_signals=False`` installs nothing).
    Ctrl-C is Python's KeyboardInterrupt, reported as ``interrupted by SIGINT``.
    """

    def __init__(self, name, *, interval=None, pid=None, kind="job", file=None, handle_signals=True):
        _check_name(name)
        if kind not in KINDS:
            raise HbmonError("invalid kind %r: expected app or job" % (kind,))
        self.name = name
        self.interval = None if interval is None else _check_interval(name, interval)
        self.pid = pid
        self.kind = kind
        self.file = file
        self.handle_signals = bool(handle_signals)
        self.run_id = None
        self._started_at = None
        self._started = None
        self._ended = False

    def __call__(self, fn):
        def fresh():
            return job(
                self.name,
                interval=self.interval,
                pid=self.pid,
                kind=self.kind,
                file=self.file,
                handle_signals=self.handle_signals,
            )

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
        self._open()
        # Registered before the start beat: a stop signal once the run exists must find it.
        # One that comes meanwhile waits until the beat is written (see _signals._section).
        with _section():
            if self.handle_signals:
                _register(self)
            self._begin()
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            self._finish(exc)
        finally:
            _unregister(self)
        return False

    async def __aenter__(self):
        # The handlers from the loop's thread (the main one, where Python lets them be set),
        # the file work off the loop.
        self._open()
        if self.handle_signals:
            _register(self)
        await asyncio.to_thread(self._begin)
        return self

    async def __aexit__(self, exc_type, exc, tb):
        try:
            await asyncio.to_thread(self._finish, exc)
        finally:
            _unregister(self)
        return False

    def _open(self):
        if self.run_id is not None:
            raise HbmonError("job %r is already running: use one hbmon.job per run" % self.name)
        self.run_id = str(uuid.uuid4())
        self._started_at = round(time.time(), 6)
        self._started = time.monotonic()
        self._ended = False

    def _begin(self):
        """The run's ``running`` beat; on failure the run never started."""
        try:
            self._beat("running", {"started_at": self._started_at, "run_id": self.run_id})
        except BaseException:
            _unregister(self)
            self.run_id = None
            raise

    def _finish(self, exc):
        """The run's last beat, for the end ``exc`` (None: none) made of it."""
        self._ended = True  # a stop signal from here on ends the process, not the run again
        code, reason = _ending(exc)
        try:
            self._end("succeeded" if code == 0 else "failed", code, reason)
        except HbmonError as e:  # never hide the work's own result or exception
            print("hbmon: job %r: %s" % (self.name, e), file=sys.stderr)
        finally:
            self.run_id = None

    def _end(self, status, code, reason, lock_timeout=BEAT_LOCK_TIMEOUT):
        ended = {
            "started_at": self._started_at,
            "finished_at": round(time.time(), 6),
            "duration": time.monotonic() - self._started,
            "exit_code": code,
            "run_id": self.run_id,
        }
        return self._beat(
            status,
            ended,
            data={"reason": reason},
            error=None if status != "failed" else _error_text(reason),
            lock_timeout=lock_timeout,
        )

    def _stop_by_signal(self, signum):
        """The last beat of a run that stop signal ``signum`` ends, as ``hbmon run`` reports a
        command the signal killed: exit code 128+N; a job ``failed``, ``interrupted by
        SIGTERM (signal 15)`` (its work did not finish), an app ``stopped by ...``."""
        if self.run_id is None or self._ended:
            return None
        self._ended = True
        code, by = 128 + signum, _describe(signum)
        if self.kind == "app":
            return self._end("stopped", code, "stopped by " + by, SIGNAL_STOP_LOCK_TIMEOUT)
        return self._end("failed", code, "interrupted by " + by, SIGNAL_STOP_LOCK_TIMEOUT)

    def _beat(self, status, run, data=None, error=None, lock_timeout=BEAT_LOCK_TIMEOUT):
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
            lock_timeout=lock_timeout,
            job=run,
        )
