"""Stop signals: a running Heartbeat turns SIGTERM, SIGHUP and SIGINT into a clean
``stopped`` beat where they have their default action, and never takes a program's own
handler (see Heartbeat)."""

import os
import signal
import sys
import threading


#: The signals that ask a process to stop (``systemctl stop``, ``docker stop``, ``kill``,
#: Ctrl-C, a closed terminal): a Heartbeat turns each that has its default action into a
#: clean ``stopped`` beat (see Heartbeat). SIGQUIT is not one: it asks for a core dump.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)

#: Seconds the ``stopped`` beat of a stop signal waits for the file's lock: the process is
#: ending, and a supervisor gives it seconds (``docker stop``: 10) before SIGKILL.
SIGNAL_STOP_LOCK_TIMEOUT = 2.0

# Running heartbeats and job runs that handle stop signals, and the signals this module's
# handler holds.
_live = []
_installed = []
_registry_lock = threading.Lock()
# The main thread's depth in code that holds a lock the stop needs (the file's, a data
# lock, the registry's): Python runs a signal handler in the main thread, between two of its
# bytecodes, maybe inside such code. The stop then waits until the main thread leaves it.
_main = threading.local()
# The signal whose stop waits for the main thread to leave such code, if one does.
_deferred = []
# Set once a stop by a signal is under way: it ends the process, a second signal adds nothing.
_ending = []


class _section:
    """Marks code (in the main thread) that the stop-signal handler must not interrupt."""

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            _main.depth = getattr(_main, "depth", 0) + 1

    def __exit__(self, *exc):
        if threading.current_thread() is not threading.main_thread():
            return False
        _main.depth -= 1
        if not _main.depth and _deferred and not _ending:
            _stop_by_signal(_deferred[0])
        return False


def _describe(signum):
    try:
        return "%s (signal %d)" % (signal.Signals(signum).name, signum)
    except ValueError:
        return "signal %d" % signum


def _on_stop_signal(signum, _frame):
    if _ending:
        return
    if getattr(_main, "depth", 0):
        if not _deferred:
            _deferred.append(signum)
        return
    _stop_by_signal(signum)


def _stop_by_signal(signum):
    """Writes the last beat of every running heartbeat and job run (their
    ``_stop_by_signal``), then ends the process by ``signum``."""
    _ending.append(signum)
    with _registry_lock:
        live = list(_live)
    for heartbeat in live:
        try:
            heartbeat._stop_by_signal(signum)
        except Exception as e:  # noqa: BLE001 -- whatever happens, the process must end
            print("hbmon: heartbeat %r: %s" % (heartbeat.name, e), file=sys.stderr)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):  # closed, or None (pythonw)
            pass
    signal.signal(signum, signal.SIG_DFL)
    # Unblocked here, the signal is delivered before os.kill returns: the process ends.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signum})
    os.kill(os.getpid(), signum)
    # Only if the kernel dropped it: PID 1 in a container ignores a default-action signal.
    os._exit(128 + signum)


def _forget_after_fork():
    """In a child forked from this process: its parent's heartbeats are not its own, and a
    stop signal must end it as it would have without hbmon (multiprocessing's workers get
    SIGTERM from ``Pool.terminate()``)."""
    del _live[:], _deferred[:], _ending[:]
    for signum in _installed:
        if signal.getsignal(signum) is _on_stop_signal:
            signal.signal(signum, signal.SIG_DFL)
    del _installed[:]


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


def _register(heartbeat):
    with _section(), _registry_lock:
        _live.append(heartbeat)
        if _installed or threading.current_thread() is not threading.main_thread():
            return
        for signum in STOP_SIGNALS:
            if signal.getsignal(signum) == signal.SIG_DFL:
                signal.signal(signum, _on_stop_signal)
                _installed.append(signum)


def _unregister(heartbeat):
    with _section(), _registry_lock:
        if heartbeat in _live:
            _live.remove(heartbeat)
        # signal.signal works from the main thread only; elsewhere the handler stays, and
        # with no heartbeat running it does what the default action does.
        if _live or threading.current_thread() is not threading.main_thread():
            return
        for signum in _installed:
            if signal.getsignal(signum) is _on_stop_signal:
                signal.signal(signum, signal.SIG_DFL)
        del _installed[:]
