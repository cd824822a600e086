"""Heartbeats for hbmon from Python: standard library only.

hbmon watches one shared JSON file, ``heartbeat_status.json``; processes write heartbeats
into it and hbmon checks every PID with the OS. This package writes that file the way every
hbmon writer does (protocol v1, see hbmon's DESIGN.md):

1. take an exclusive ``flock`` on the sidecar ``<file>.lock`` (never on the file itself,
   which every write replaces);
2. read and parse ``<file>`` (missing or empty: an empty document);
3. change only this process's entry, keeping every field and entry it does not know;
4. write the whole document to a temporary file in the same directory and rename it over
   ``<file>``, so readers never see a half-written file;
5. release the lock.

The directory may be shared with other users, so nothing there is taken on trust:

- The heartbeat file, its lock and the temp file are never opened through a symbolic link
  (``O_NOFOLLOW``): a link there is refused with an HbmonError naming it and its target --
  pass the resolved path instead. A FIFO, device, directory or socket at either path is
  refused naming its kind, without blocking (``O_NONBLOCK``), as is a file over 64 MiB
  (``MAX_FILE_SIZE``); nothing is moved aside or rewritten then. The lock is opened
  read-only (``flock`` needs no write access), so a lock file another user created locks.
- The temp file is ``.<file>.<pid>.<16 random hex digits>.tmp``, created ``O_EXCL`` (a
  name someone planted is passed over for a new one) and owner-only, then given the
  replaced file's mode on the descriptor. A new file (and its lock) is 0600 where the
  directory lets no one else in, else 0666 less the umask -- as hbmon's own.
- A writer killed mid-write (``kill -9``) leaves its temp file behind; at most once a
  minute (``ORPHAN_SWEEP_INTERVAL``) a writer holding the lock removes the temp files of
  PIDs that are no longer running (links removed, never followed).

A file whose structure is broken (not JSON, not an object of ``processes``, cut short) is
moved to ``<file>.corrupt-<unix-time>`` (``.1``, ``.2``... in the same second; never
deleted, and never over an existing name or through a link planted there), with a warning
on stderr, and a fresh document is started. A leading UTF-8 byte order mark and a
``version`` of ``1.0`` are read as any JSON reader does, not as damage. An entry that is
not valid JSON inside its brackets is only that entry's problem, as it is for hbmon: it is
kept as written, and replaced by its own writer.

One beat from a process that keeps running::

    import hbmon
    hbmon.beat("importer", {"rows": 1234})

One beat from a script that exits right after (cron): no PID, or hbmon would call it
``dead`` as soon as it exits::

    hbmon.beat("nightly-report", {"rows": 1234}, pid=False, kind="job", interval=86400)

A long-running process::

    with hbmon.Heartbeat("worker", interval=30) as hb:
        for item in queue:
            handle(item)
            hb.pulse()          # cheap: at most one write per interval/4

``systemctl stop`` or ``docker stop`` (SIGTERM) then ends it ``stopped``, not ``dead``: a
running Heartbeat handles SIGTERM, SIGHUP and SIGINT where they have their default action,
and leaves a program's own handlers alone (see Heartbeat; ``handle_signals=False`` opts out).

The file is, first match wins: the ``file`` argument, ``$HBMON_FILE``, then
``$XDG_STATE_HOME/hbmon/heartbeat_status.json`` (``~/.local/state/hbmon/...``; on macOS
``~/Library/Application Support/hbmon/...``) -- the same file ``hbmon`` itself uses.
Unix only (``fcntl``).

Its parts, each in its own module: ``_base`` (constants, errors, argument checks),
``_entry`` (one entry's rules), ``_scan`` (where entries lie in the text), ``_store`` (lock,
read, atomic replace), ``_signals`` (stop signals), ``_writer`` (``beat``, ``Heartbeat``),
``_aio`` (``AsyncHeartbeat``), ``_job`` (``job``). This module only re-exports their public names.
"""

from ._base import (
    DEFAULT_INTERVAL,
    FILE_NAME,
    KINDS,
    MAX_DATA_DEPTH,
    MAX_FILE_SIZE,
    MAX_SPAN,
    ORPHAN_SWEEP_INTERVAL,
    VERSION,
    HbmonError,
    parse_duration,
    resolve_file,
)
from ._entry import MAX_RUNS
from ._signals import SIGNAL_STOP_LOCK_TIMEOUT, STOP_SIGNALS
from ._store import LOCK_TIMEOUT
from ._writer import SCHEDULE_MACROS, Heartbeat, beat
from ._aio import AsyncHeartbeat
from ._job import job

__all__ = [
    "beat",
    "Heartbeat",
    "AsyncHeartbeat",
    "job",
    "HbmonError",
    "resolve_file",
    "parse_duration",
    "VERSION",
    "FILE_NAME",
    "DEFAULT_INTERVAL",
    "KINDS",
    "MAX_DATA_DEPTH",
    "MAX_FILE_SIZE",
    "MAX_RUNS",
    "MAX_SPAN",
    "ORPHAN_SWEEP_INTERVAL",
    "LOCK_TIMEOUT",
    "SCHEDULE_MACROS",
    "SIGNAL_STOP_LOCK_TIMEOUT",
    "STOP_SIGNALS",
]

# Shown as hbmon.HbmonError (in tracebacks, reprs, pickles), where users import them from.
for _public in (HbmonError, Heartbeat, AsyncHeartbeat, job):
    _public.__module__ = __name__
del _public
