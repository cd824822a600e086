"""What a caller uses: ``beat()`` and ``Heartbeat``, and the one function through which
every beat is sent (``_write``)."""

import os
import socket
import sys
import threading
import time

from ._base import (
    DEFAULT_INTERVAL,
    KINDS,
    HbmonError,
    _check_data,
    _check_interval,
    _check_name,
    _error_text,
    _resolve,
)
from ._entry import _KEEP, _apply, _own_entry
from ._signals import SIGNAL_STOP_LOCK_TIMEOUT, _describe, _register, _section, _unregister
from ._store import _transaction


def _host():
    try:
        return socket.gethostname() or None
    except OSError:
        return None


def _write(
    name,
    file,
    status,
    data=_KEEP,
    merge=False,
    error=None,
    pid=None,
    interval=None,
    kind=None,
    lock_timeout=None,
    job=None,
    schedule=None,
):
    """Writes one beat of ``name`` into the heartbeat file and returns the entry written.

    Every beat of this package (``beat``, Heartbeat, AsyncHeartbeat, ``job``) goes through
    here: serve's beat sink, once its protocol is fixed, is one more way to send it, chosen
    here (and the file the fallback), with no caller changed."""
    path, private = _resolve(file)
    now = round(time.time(), 6)
    # False is "no process to watch" (a one-shot script); None is "this process".
    pid = os.getpid() if pid is None else None if pid is False else pid
    host = _host()

    def change(processes):
        previous, reason = _own_entry(processes[name]) if name in processes else (None, None)
        if reason:
            print(
                "hbmon: warning: entry %r in %s was not a valid entry (%s); replacing it" % (name, path, reason),
                file=sys.stderr,
            )
            previous = None
        entry = _apply(previous, now, pid, status, data, merge, error, interval, kind, host, job, schedule)
        processes[name] = entry
        return entry

    return _transaction(path, private, now, change, lock_timeout)


#: The @macros hbmon reads (``@reboot`` has no times to be due at).
SCHEDULE_MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")


def _check_schedule(name, schedule, tz, interval, kind):
    """``(schedule, tz)`` as the entry keeps them, checked as far as Python can without a
    cron engine: five fields or a known @macro, and a zone the time zone database knows
    (hbmon checks the fields themselves, and ignores a schedule it cannot read)."""
    if schedule is None:
        if tz is not None:
            raise HbmonError("heartbeat %r: tz goes with a schedule" % (name,))
        return None
    if interval is not None:
        raise HbmonError("heartbeat %r: a job has a schedule or an interval, not both" % (name,))
    if kind == "app":
        raise HbmonError("heartbeat %r: a schedule is a job's, not an app's" % (name,))
    text = schedule.strip() if isinstance(schedule, str) else None
    if not text or (
        len(text.split()) != 5 if not text.startswith("@") else text.lower() not in SCHEDULE_MACROS
    ):
        raise HbmonError(
            "heartbeat %r: schedule %r: five fields (minute hour day-of-month month "
            "day-of-week) or a macro such as @daily" % (name, schedule)
        )
    if tz is not None:
        try:
            import zoneinfo

            zoneinfo.ZoneInfo(tz)
        except (ImportError, ValueError, KeyError, TypeError, OSError):
            raise HbmonError(
                "heartbeat %r: time zone %r: not in the time zone database (an IANA name "
                "such as Europe/Berlin)" % (name, tz)
            ) from None
    return (schedule, tz)


def beat(
    name,
    data=None,
    *,
    merge=False,
    error=None,
    stopped=False,
    pid=None,
    interval=None,
    kind=None,
    file=None,
    schedule=None,
    tz=None,
):
    """Writes one heartbeat for ``name`` and returns the entry as written.

    ``data`` replaces ``additional_data`` (any JSON value: dict, list, str, number); None
    keeps what the entry has. With ``merge=True`` a dict ``data`` sets only its keys.
    ``error`` reports an error (status ``error``, counted in ``errors``); ``stopped=True``
    reports a clean stop. ``pid`` defaults to this process; ``pid=False`` records no PID,
    ``interval`` (seconds) is the promise of how often it beats, ``kind`` is ``"app"`` or
    ``"job"``, ``file`` overrides the resolved heartbeat file. ``schedule`` (a cron
    expression, e.g. ``"0 3 * * *"``) and ``tz`` (an IANA zone; default the reader's) are
    a job's period instead of an interval, as ``hbmon beat --schedule --tz`` writes them;
    a schedule makes the beat a job's. Raises HbmonError if the beat cannot be written.

    hbmon calls an entry whose PID is gone ``dead`` at once. A script that beats and then
    exits (cron, a build step) should therefore beat with ``pid=False, kind="job"`` (and an
    ``interval`` of its schedule), or be run under ``hbmon run``, which records how it ended.
    """
    _check_name(name)
    if error is not None and stopped:
        raise HbmonError("a beat is either an error or a stop, not both")
    if kind is not None and kind not in KINDS:
        raise HbmonError("invalid kind %r: expected app or job" % (kind,))
    if pid is not None and pid is not False and (isinstance(pid, bool) or not isinstance(pid, int) or pid < 1):
        raise HbmonError("pid must be a positive integer, or False for none, not %r" % (pid,))
    if interval is not None:
        interval = _check_interval(name, interval)
    schedule = _check_schedule(name, schedule, tz, interval, kind)
    if schedule is not None and kind is None:
        kind = "job"
    if merge and not isinstance(data, dict):
        raise HbmonError("merge=True needs a dict of keys to set, not %r" % (data,))
    if data is not None:
        _check_data(name, data)
    status = "stopped" if stopped else "error" if error is not None else "alive"
    return _write(
        name,
        file,
        status,
        data=_KEEP if data is None else data,
        merge=merge,
        error=None if error is None else _error_text(error),
        pid=pid,
        interval=interval,
        kind=kind,
        schedule=schedule,
    )


class Heartbeat:
    """A long-running process's heartbeat: ``pulse()`` from the work loop, cheaply.

    ``start()`` writes the first beat at once (so a bad path fails there) and starts a
    background thread that wakes every ``interval / 4`` and writes an ``alive`` beat only
    if ``pulse()`` was called since the last one. A process that hangs stops pulsing, so it
    stops beating -- which is what lets hbmon tell ``hung`` from ``up``.

    Used as a context manager it starts on entry; on a clean exit (or Ctrl-C) it writes a
    ``stopped`` beat, on an exception an ``error`` beat with the exception, and no stop:
    the process failed, and hbmon should say so.

    A stop signal is a stop, not a crash. With ``handle_signals=True`` (the default), while
    a heartbeat runs, each of SIGTERM, SIGHUP and SIGINT that has its *default action*
    (``signal.SIG_DFL``: the process would die without a word) when it starts gets a
    handler, installed from the main thread only (Python allows no other). On the signal it
    writes ``stopped`` for every running heartbeat, with ``additional_data["reason"]`` =
    ``"stopped by SIGTERM (signal 15)"`` (waiting at most ``SIGNAL_STOP_LOCK_TIMEOUT`` for
    the file's lock), restores the default action and sends the signal again: the process
    dies by it, as it would have without hbmon -- ``systemctl stop`` or ``docker stop`` no
    longer leave a ``dead`` entry and a critical alert. (As PID 1 in a container, where the
    kernel drops such a signal, it exits with 128+N instead.) A signal the program handles
    or ignores is never touched: Python's own SIGINT handler (``KeyboardInterrupt``, a
    clean stop of a ``with`` block) included. Install your own handler before or after
    ``start()`` (yours replaces this one) and call ``stop()`` from your shutdown path. When
    the last heartbeat stops, the default action is put back where this handler is still
    installed. ``handle_signals=False`` installs nothing.

    ``keepalive=True`` also beats every ``interval / 2`` without ``pulse()``: liveness only
    (hbmon then cannot tell ``hung`` from ``up``), for a process with no loop to pulse
    from -- what ``import hbmon.auto`` starts.
    """

    def __init__(self, name, interval=DEFAULT_INTERVAL, file=None, kind="app", handle_signals=True, keepalive=False):
        _check_name(name)
        interval = _check_interval(name, interval)
        if kind not in KINDS:
            raise HbmonError("invalid kind %r: expected app or job" % (kind,))
        self.name = name
        self.interval = float(interval)
        self.file = file
        self.kind = kind
        self.handle_signals = bool(handle_signals)
        self.keepalive = bool(keepalive)
        self._pulsed = False
        self._data = _KEEP
        self._data_lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = None

    def start(self):
        """Writes the first ``alive`` beat and starts the background writer; returns self."""
        self._check_idle()
        # Before the first beat: a stop signal once the entry exists must find the handler.
        # One that comes meanwhile waits until the writer thread runs (see _section).
        with _section():
            if self.handle_signals:
                _register(self)
            try:
                self._begin()
            except BaseException:
                _unregister(self)
                raise
        return self

    def _check_idle(self):
        if self._thread is not None:
            raise HbmonError("heartbeat %r is already started" % self.name)

    def _begin(self):
        """The first beat and the writer thread: file work, which AsyncHeartbeat runs off its loop."""
        self._write("alive")
        self._stopping.clear()
        thread = threading.Thread(target=self._run, name="hbmon-%s" % self.name, daemon=True)
        thread.start()
        self._thread = thread

    def pulse(self):
        """Says "still making progress". Costs an assignment; writes happen in the background."""
        self._pulsed = True

    def error(self, message):
        """Writes an ``error`` beat with ``message`` now and returns the entry."""
        return self._write("error", error=_error_text(message))

    def set_data(self, data):
        """Sets ``additional_data`` (any JSON value), written with the next beat."""
        _check_data(self.name, data)
        with _section(), self._data_lock:
            self._data = data

    def stop(self):
        """Stops the background writer and writes a clean ``stopped`` beat; returns the entry."""
        try:
            return self._stopped()
        finally:
            _unregister(self)

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        try:
            self._end(exc)
        finally:
            _unregister(self)
        return False

    def _stopped(self):
        self._halt()
        return self._write("stopped")

    def _end(self, exc, clean_too=()):
        """The last beat of a ``with`` block that ``exc`` (None: none) ended: a clean stop
        (Ctrl-C, exit 0, or one of ``clean_too``) or an ``error`` beat naming it."""
        clean = exc is None or isinstance(exc, (KeyboardInterrupt,) + tuple(clean_too)) or (
            isinstance(exc, SystemExit) and exc.code in (0, None)
        )
        if clean:
            self._stopped()
            return
        self._halt()
        try:
            self._write("error", error=_error_text("%s: %s" % (type(exc).__name__, exc)))
        except HbmonError as e:  # never hide the exception that ended the block
            print("hbmon: heartbeat %r: %s" % (self.name, e), file=sys.stderr)

    def _halt(self):
        self._stopping.set()
        thread = self._thread
        if thread is not None:
            thread.join()
            self._thread = None

    def _take_data(self):
        with _section(), self._data_lock:
            data, self._data = self._data, _KEEP
        return data

    def _write(self, status, error=None):
        return _write(
            self.name,
            self.file,
            status,
            data=self._take_data(),
            error=error,
            interval=self.interval,
            kind=self.kind,
        )

    def _stop_by_signal(self, signum):
        """The ``stopped`` beat of stop signal ``signum``, its reason in ``additional_data``
        (with the data set but not yet written, if it is a dict; other pending data gives way)."""
        reason = "stopped by " + _describe(signum)
        self._halt()
        pending = self._take_data()
        if isinstance(pending, dict):
            data, merge = dict(pending, reason=reason), False
        else:
            data, merge = {"reason": reason}, True
        return _write(
            self.name,
            self.file,
            "stopped",
            data=data,
            merge=merge,
            interval=self.interval,
            kind=self.kind,
            lock_timeout=SIGNAL_STOP_LOCK_TIMEOUT,
        )

    def _run(self):
        period = max(self.interval / 4, 0.01)
        failing = False
        last = time.monotonic()
        while not self._stopping.wait(period):
            # keepalive: liveness without pulse(), twice an interval so one late beat is no miss.
            due = self.keepalive and time.monotonic() - last >= self.interval / 2
            if not (self._pulsed or due):
                continue
            last = time.monotonic()
            self._pulsed = False
            try:
                self._write("alive")
                failing = False
            except HbmonError as e:
                if not failing:  # once per failing streak, not every period
                    print("hbmon: heartbeat %r: %s" % (self.name, e), file=sys.stderr)
                failing = True
