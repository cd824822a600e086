"""Heartbeats for hbmon from Python: standard library only, one file to drop into a project.

hbmon watches one shared JSON file, ``heartbeat_status.json``; processes write heartbeats
into it and hbmon checks every PID with the OS. This module writes that file the way every
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
"""

import fcntl
import json
import json.encoder
import json.scanner
import math
import os
import re
import signal
import socket
import stat
import sys
import threading
import time

__all__ = ["beat", "Heartbeat", "HbmonError", "resolve_file", "VERSION", "FILE_NAME"]

#: The protocol version this module reads and writes.
VERSION = 1
#: The heartbeat file's name in the per-user default directory.
FILE_NAME = "heartbeat_status.json"
#: The interval a Heartbeat promises when none is given, in seconds.
DEFAULT_INTERVAL = 30.0

KINDS = ("app", "job")

#: The largest heartbeat file this module reads (as hbmon): 64 MiB holds ~200 000 entries,
#: far past what one file sustains, and keeps a planted huge file from costing its size in
#: memory on every beat.
MAX_FILE_SIZE = 64 * 1024 * 1024

#: Seconds between two sweeps of a directory for orphaned temp files, per process and file.
ORPHAN_SWEEP_INTERVAL = 60.0


class HbmonError(Exception):
    """A heartbeat could not be written; the message names the file or the value at fault."""


# --- where the file lives -------------------------------------------------------------------


def resolve_file(file=None):
    """The heartbeat file's path: ``file``, else ``$HBMON_FILE``, else the per-user default."""
    return _resolve(file)[0]


def _resolve(file):
    """(path, private): the per-user default directory is created 0700, a chosen one is not."""
    if file:
        return os.fspath(file), False
    env = os.environ.get("HBMON_FILE")
    if env:
        return env, False
    state = os.environ.get("XDG_STATE_HOME")
    if not state:
        home = os.environ.get("HOME") or "."
        if sys.platform == "darwin":
            state = os.path.join(home, "Library", "Application Support")
        else:
            state = os.path.join(home, ".local", "state")
    return os.path.join(state, "hbmon", FILE_NAME), True


# --- one entry ------------------------------------------------------------------------------


def _number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _unsigned(bits):
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**bits


def _string(v):
    return isinstance(v, str)


def _optional(valid):
    return lambda v: v is None or valid(v)


def _runs(v):
    """The runs in progress by run id, each with its ``started_at`` (``hbmon run`` writes them)."""
    run_fields = (("started_at", _number), ("pid", _optional(_unsigned(32))), ("host", _optional(_string)))
    return isinstance(v, dict) and all(
        isinstance(run, dict) and "started_at" in run and all(valid(run.get(k)) for k, valid in run_fields if k in run)
        for run in v.values()
    )


def _anything(_v):
    return True


# The typed fields of an entry, in the order hbmon writes them, and what each accepts
# (null is always accepted except for last_heartbeat). An entry hbmon cannot read is not
# built upon: its fields are about to be replaced.
_FIELDS = (
    ("last_heartbeat", _number),
    ("last_heartbeat_formatted", _string),
    ("pid", _unsigned(32)),
    ("status", _string),
    ("additional_data", _anything),
    ("interval", _number),
    ("schedule", _string),
    ("tz", _string),
    ("first_heartbeat", _number),
    ("beats", _unsigned(64)),
    ("errors", _unsigned(64)),
    ("last_error", _string),
    ("last_error_at", _number),
    ("kind", lambda v: v in KINDS),
    ("host", _string),
    ("started_at", _number),
    ("previous_started_at", _number),
    ("finished_at", _number),
    ("exit_code", lambda v: isinstance(v, int) and not isinstance(v, bool) and -(2**31) <= v < 2**31),
    ("duration", _number),
    ("runs", _runs),
    ("runs_dropped", _unsigned(64)),
)
_ORDER = [name for name, _ in _FIELDS]


def _invalid_reason(entry):
    """Why ``entry`` is not a valid protocol entry, or None if it is."""
    if not isinstance(entry, dict):
        return "not a JSON object"
    if entry.get("last_heartbeat") is None:
        return "missing field `last_heartbeat`"
    for name, valid in _FIELDS:
        value = entry.get(name)
        if value is not None and not valid(value):
            return "invalid `%s`: %s" % (name, json.dumps(value))
    return None


_KEEP = object()


def _apply(previous, now, pid, status, data, merge, error, interval, kind, host, job=None, schedule=None):
    """The entry after one beat: the same rules as hbmon's ``Beat::apply``.

    A new PID starts a new run: ``first_heartbeat``, ``beats``, ``errors``, the last error
    and ``additional_data`` reset. Fields hbmon writes only when set are dropped when null, as hbmon does.
    ``job`` makes it a job's beat (``running``, ``succeeded``, ``failed``, as ``hbmon run``
    writes): a dict of ``started_at``, ``exit_code``, ``finished_at``, ``duration`` and
    ``run_id``, each optional; a ``running`` beat with a new start or run id is a new run.
    """
    entry = dict(previous or {})
    runs = entry.get("runs") if isinstance(entry.get("runs"), dict) else {}
    run_id = job.get("run_id") if job else None
    if job is None:
        new_run = False
    elif run_id is None:
        new_run = status == "running" and job.get("started_at") != entry.get("started_at")
    else:
        new_run = status == "running" and run_id not in runs
    # Runs with ids in progress share the entry: one's start is not a new process.
    new_process = not (run_id is not None and runs) and (entry.get("pid") != pid or new_run)
    # A keepalive of a run in progress leaves another run's end on show.
    kept_status = (
        entry.get("status")
        if status == "running" and run_id in runs and entry.get("status") in ("succeeded", "failed", "stopped")
        else None
    )
    if new_process:
        # A restarted process sends its own data: its predecessor's (a stop's reason
        # among it) would be a lie about it.
        entry["additional_data"] = None
    if entry.get("first_heartbeat") is None or new_process:
        entry.update(first_heartbeat=now, beats=0, errors=0, last_error=None, last_error_at=None)
    entry["last_heartbeat"] = now
    entry["last_heartbeat_formatted"] = time.strftime(
        "%Y-%m-%d %H:%M:%S", time.localtime(math.floor(now))
    )
    entry["pid"] = pid
    entry["status"] = status
    entry["beats"] = (entry.get("beats") or 0) + 1
    if error is not None:
        entry["errors"] = (entry.get("errors") or 0) + 1
        entry["last_error"] = error
        entry["last_error_at"] = now
    if interval is not None:
        entry["interval"] = float(interval)
    if schedule is not None:
        # (expression, zone or None): a zone left out is the reader's, so an old one goes.
        entry["schedule"], entry["tz"] = schedule
    if kind is not None:
        entry["kind"] = kind
    if host is not None:
        entry["host"] = host
    if data is not _KEEP:
        if merge:
            current = entry.get("additional_data")
            entry["additional_data"] = dict(current) if isinstance(current, dict) else {}
            entry["additional_data"].update(data)
        else:
            entry["additional_data"] = data
    if job is not None:
        entry["kind"] = kind or "job"
        if run_id is None:
            _set_newest_run(entry, job, job.get("started_at"))
        else:
            _track_run(entry, dict(runs), run_id, job, status, pid, host, now)
    if kept_status is not None:
        entry["status"] = kept_status
    known = [(k, entry[k]) for k in _ORDER if k in entry]
    extra = [(k, v) for k, v in entry.items() if k not in _ORDER]
    return dict([(k, v) for k, v in known if v is not None or k == "pid"] + extra)


#: How many runs in progress an entry keeps, as hbmon's ``MAX_RUNS``.
MAX_RUNS = 16


def _set_newest_run(entry, job, started_at):
    """The entry's run fields become ``job``'s: the newest finished (or started) run."""
    finished_at, duration = job.get("finished_at"), job.get("duration")
    if duration is None and finished_at is not None and started_at is not None:
        duration = finished_at - started_at
    entry.update(
        started_at=started_at,
        finished_at=finished_at,
        exit_code=job.get("exit_code"),
        duration=None if duration is None else round(max(duration, 0.0) * 1e6) / 1e6,
    )


def _track_run(entry, runs, run_id, job, status, pid, host, now):
    """A start adds run ``run_id`` to ``runs`` (within MAX_RUNS: past it the run that
    started first goes, counted in ``runs_dropped``); an end takes it out and becomes the
    newest finished run, its duration counted from its own start."""
    if status == "running":
        if run_id not in runs:
            run = {"started_at": job.get("started_at") or now}
            run.update((k, v) for k, v in (("pid", pid), ("host", host)) if v is not None)
            if len(runs) >= MAX_RUNS:
                entry["runs_dropped"] = (entry.get("runs_dropped") or 0) + 1
                oldest = min(sorted(runs.items()), key=lambda item: item[1].get("started_at", 0))
                if oldest[1].get("started_at", 0) <= run["started_at"]:
                    del runs[oldest[0]]
                    runs[run_id] = run
            else:
                runs[run_id] = run
    else:
        ended = runs.pop(run_id, None)
        _set_newest_run(entry, job, ended["started_at"] if isinstance(ended, dict) else job.get("started_at"))
        if not runs:
            entry["runs_dropped"] = None
    # Sorted by id, as hbmon writes them; none in progress is no field.
    entry["runs"] = dict(sorted(runs.items())) or None


# --- the file -------------------------------------------------------------------------------


def _reject_constant(name):
    # json accepts NaN and Infinity; JSON (and hbmon) does not.
    raise ValueError("%s is not valid JSON" % name)


class _Raw(str):
    """An entry as the JSON text it had in the file. Entries a writer does not own stay so:
    never decoded, written back as they were (as hbmon does), so one that is not valid JSON
    is its own writer's problem, not every writer's."""


# A UTF-8 byte order mark, which some editors put first; JSON readers skip it.
_BOM = b"\xef\xbb\xbf"
_WHITESPACE = re.compile(r"[ \t\n\r]*")
# A string to its closing quote, escapes stepped over; a line break ends the match: a
# string never holds one, so it is a string running on into what follows.
_STRING = re.compile(r'"(?:[^"\\\n]|\\[^\n])*"')
_QUOTE_OR_BRACKET = re.compile(r'["{}\[\]]')
_SCALAR = re.compile(r'[^,:{}\[\]" \t\n\r]+')
# A key without escapes or control characters, its colon and the space up to its value.
_PLAIN_KEY = re.compile(r'"([^"\\\x00-\x1f]*)"[ \t\n\r]*:[ \t\n\r]*')
# After a member: the object's end (group 1), or a comma and the space up to the next key.
_AFTER_MEMBER = re.compile(r'[ \t\n\r]*(?:(\})|,[ \t\n\r]*)')


def _skip(text, i):
    return _WHITESPACE.match(text, i).end()


def _value_end(text, i):
    """Where the value at ``i`` ends: a string at its closing quote, an array or object at its
    matching bracket (strings inside followed), anything else at the next delimiter. The
    value itself is not checked; ValueError if even its extent cannot be found."""
    if text.startswith('"', i):
        string = _STRING.match(text, i)
        if not string:
            raise ValueError("a string that runs on at char %d" % i)
        return string.end()
    if not text.startswith(("{", "["), i):
        scalar = _SCALAR.match(text, i)
        if not scalar:
            raise ValueError("expected a value at char %d" % i)
        return scalar.end()
    closers = []
    while True:
        found = _QUOTE_OR_BRACKET.search(text, i)
        if not found:
            raise ValueError("unexpected end of file")
        i, c = found.start(), found.group()
        if c == '"':
            i = _value_end(text, i)
            continue
        if c in "{[":
            closers.append("}" if c == "{" else "]")
        elif not closers or closers.pop() != c:
            raise ValueError("mismatched bracket at char %d" % i)
        i += 1
        if not closers:
            return i


# The json module's scanner (its C one where there is one): it finds where a valid array
# or object ends at C speed, where _value_end walks every string inside it in Python.
_SCAN = json.scanner.make_scanner(json.JSONDecoder())


def _extent(text, i):
    """Where the value at ``i`` ends, as _value_end finds it: an array or object that is
    valid JSON by the C scanner, anything else (and whatever it refuses: a broken entry is
    its own writer's problem) by _value_end, so both agree wherever the scanner answers."""
    if text.startswith(("{", "["), i):
        try:
            return _SCAN(text, i)[1]
        except (StopIteration, ValueError, RecursionError):
            pass
    return _value_end(text, i)


def _members(text, i, inner=None):
    """The (key, value text) pairs of the object at ``i``, and where it ends. Keys are read
    exactly (a key that is not a valid string, or not valid UTF-8, is a broken file). The
    value of the key ``inner``, if an object, is its own members instead of its text: the
    entries are walked once, not once inside the document and again on their own."""
    members = []
    i = _skip(text, i + 1)
    if text.startswith("}", i):
        return members, i + 1
    while True:
        # Most keys hold no escape: one match reads one and its colon; the rest are decoded.
        plain = _PLAIN_KEY.match(text, i)
        key, start = (plain.group(1), plain.end()) if plain else _key(text, i)
        if key == inner and text.startswith("{", start):
            value, i = _members(text, start)
        else:
            i = _extent(text, start)
            value = text[start:i]
        members.append((key, value))
        after = _AFTER_MEMBER.match(text, i)
        if not after:
            raise ValueError("expected ',' or '}' at char %d" % _skip(text, i))
        if after.group(1):
            return members, after.end()
        i = after.end()


def _key(text, i):
    """A key with escapes (or a broken one) and where its value starts."""
    if not text.startswith('"', i):
        raise ValueError("expected a string key at char %d" % i)
    key, i = json.decoder.scanstring(text, i + 1)
    key.encode("utf-8")  # UnicodeEncodeError (a ValueError) for a lone surrogate
    i = _skip(text, i)
    if not text.startswith(":", i):
        raise ValueError("expected ':' at char %d" % i)
    return key, _skip(text, i + 1)


def _dumps(value):
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _loads(text):
    return json.loads(text, parse_constant=_reject_constant)


def _parse(text):
    """(processes, other top-level items) of a document; ValueError if its structure is not
    one. Entries stay ``_Raw`` text; the other top-level values are checked in full."""
    if not text.strip():
        return {}, {}
    start = _skip(text, 0)
    if not text.startswith("{", start):
        raise ValueError("expected a JSON object with \"processes\"")
    members, end = _members(text, start, inner="processes")
    if _skip(text, end) != len(text):
        raise ValueError("trailing characters at char %d" % _skip(text, end))
    processes, other, version = {}, {}, None
    for key, value in members:
        if key == "processes":
            if not isinstance(value, list):
                raise ValueError("\"processes\" is not an object of entries")
            processes = {name: _Raw(raw) for name, raw in value}
        elif key == "version":
            version = _loads(value)
        elif key == "last_updated":
            _loads(value)
        else:
            other[key] = _loads(value)
    if _number(version) and version == VERSION:  # 1.0 and 1e0 are 1 to any JSON reader
        version = VERSION
    if version is not None and (isinstance(version, bool) or not isinstance(version, int) or version < 0):
        raise ValueError("\"version\" is not a version number")
    if version is not None and version > VERSION:
        raise HbmonError(
            "protocol version %d is newer than this hbmon.py (it reads version %d)" % (version, VERSION)
        )
    return processes, other


def _own_entry(raw):
    """(entry, None) for a writer's own entry as read, or (None, why it is not a valid one)."""
    try:
        entry = _loads(raw)
        # What could not be written back (a lone surrogate, 1e400) is not valid either.
        _dumps(entry).encode("utf-8")
    except (ValueError, RecursionError) as e:
        return None, "not valid JSON: %s" % e
    reason = _invalid_reason(entry)
    return (None, reason) if reason else (entry, None)


def _move_aside(path, now, reason, raw):
    """Moves an unparseable file (read as ``raw``) to ``<file>.corrupt-<unix>`` (``.1``,
    ``.2``... if taken): a copy made under a name that must not exist, then an unlink -- not
    a rename, which would silently replace a file or a link planted at that name."""
    first = "%s.corrupt-%d" % (path, int(now))
    target, n = first, 0
    while True:
        try:
            _copy_new(path, target, raw)
            break
        except FileExistsError:
            n += 1
            target = "%s.%d" % (first, n)
    os.unlink(path)
    print(
        "hbmon: warning: %s was not a valid heartbeat file (%s); moved it to %s and started a new one"
        % (path, reason, target),
        file=sys.stderr,
    )


# link(2) never follows a symlink at the source where the platform lets us say so.
_LINK_NOFOLLOW = {"follow_symlinks": False} if os.link in os.supports_follow_symlinks else {}


def _copy_new(path, target, raw):
    """Makes ``target``, which must not exist (FileExistsError), a copy of ``path``: a hard
    link, the file itself; where that is refused -- a file system without hard links, or
    Linux's protected_hardlinks for a file another user owns -- ``raw`` written to a new
    owner-only file, created O_EXCL|O_NOFOLLOW all the same."""
    try:
        os.link(path, target, **_LINK_NOFOLLOW)
        return
    except FileExistsError:
        raise
    except OSError:
        pass
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
    except BaseException:  # a full disk: no half copy, and the original stays
        os.unlink(target)
        raise


LOCK_TIMEOUT = 10.0
"""Seconds a writer waits for another writer's lock before giving up, as hbmon does: a
writer stopped while holding it (Ctrl-Z) must not hang every other writer forever."""


def _timed_out(lock_path, timeout):
    return HbmonError(
        "timed out after %gs waiting for the lock on %s (held by another writer)" % (timeout, lock_path)
    )


# Lock path -> the waiting thread last given up on, which may still be blocked in flock.
_given_up = {}


def _lock(fd, lock_path, timeout=None):
    """Takes ``LOCK_EX`` on ``fd``, giving up after ``timeout`` (``LOCK_TIMEOUT`` if None),
    as hbmon does.

    Contended, it waits in a blocking flock, which the kernel wakes the moment the lock is
    free: a poller asleep between tries loses it, again and again, to a writer that takes
    it back at once (one beating in a loop). The wait runs on a thread so that it can be
    given up on. That thread locks a duplicate of ``fd`` -- a flock belongs to the open
    file, so once it returns the lock is ours -- and closes it when done, so a lock it gets
    after we gave up (and closed ``fd``) is let go at once. While a waiter given up on is
    still blocked, the next wait for that lock polls instead: a peer stopped with the lock
    held must not cost a thread and a descriptor per beat."""
    timeout = LOCK_TIMEOUT if timeout is None else timeout
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        pass
    stuck = _given_up.get(lock_path)
    if stuck is not None and stuck.is_alive():
        return _poll_lock(fd, lock_path, timeout)
    duplicate = os.dup(fd)
    failed = []

    def wait():
        try:
            fcntl.flock(duplicate, fcntl.LOCK_EX)
        except OSError as e:
            failed.append(e)
        finally:
            os.close(duplicate)

    waiter = threading.Thread(target=wait, name="hbmon-lock", daemon=True)
    waiter.start()
    waiter.join(timeout)
    if waiter.is_alive():
        _given_up[lock_path] = waiter
        raise _timed_out(lock_path, timeout)
    if failed:
        raise failed[0]


def _poll_lock(fd, lock_path, timeout):
    """Takes ``LOCK_EX`` on ``fd`` by non-blocking tries until ``timeout``."""
    deadline = time.monotonic() + timeout
    pause = 0.001
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise _timed_out(lock_path, timeout) from None
            time.sleep(pause)
            pause = min(pause * 2, 0.05)


def _show(text):
    """``text`` for a message: control characters and undecodable bytes escaped, so that a
    planted link's target cannot write escape sequences to the user's terminal."""
    out = []
    for c in text:
        o = ord(c)
        if o < 32 or 127 <= o < 160:
            out.append("\\x%02x" % o)
        elif 0xDC80 <= o <= 0xDCFF:  # a byte that was not UTF-8, as os.fsdecode keeps it
            out.append("\\x%02x" % (o - 0xDC00))
        elif 0xD800 <= o <= 0xDFFF:
            out.append("\\u%04x" % o)
        else:
            out.append(c)
    return "".join(out)


def _kind(mode):
    if stat.S_ISDIR(mode):
        return "directory"
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "special file"


def _not_regular(path, mode):
    return HbmonError("%s is a %s, not a regular file" % (_show(path), _kind(mode)))


def _too_big(path, size):
    return HbmonError(
        "%s is %d bytes, over the %d MiB limit hbmon reads" % (_show(path), size, MAX_FILE_SIZE >> 20)
    )


def _refuse_unless_regular(path, st):
    if not stat.S_ISREG(st.st_mode):
        raise _not_regular(path, st.st_mode)
    if st.st_size > MAX_FILE_SIZE:
        raise _too_big(path, st.st_size)


def _refuse_what_is_there(path):
    """Raises HbmonError naming what is at ``path`` when it is a symlink or not a regular
    file (an open refused with ELOOP -- EMLINK on BSD -- or ENXIO for a socket)."""
    try:
        st = os.lstat(path)
    except OSError:
        return
    if stat.S_ISLNK(st.st_mode):
        try:
            target = os.readlink(path)
        except OSError:
            target = "an unreadable target"
        raise HbmonError(
            "%s is a symbolic link to %s: hbmon does not follow links beside the heartbeat file "
            "(another user may have planted it); pass the resolved path instead" % (_show(path), _show(target))
        )
    if not stat.S_ISREG(st.st_mode):
        raise _not_regular(path, st.st_mode)


def _open_regular(path, flags, mode=0o600):
    """(fd, stat) of ``path`` opened with ``flags``: never through a symlink, never blocking
    on a FIFO or device, and only if it is a regular file within MAX_FILE_SIZE (HbmonError
    naming it otherwise). FileNotFoundError if there is none (and no O_CREAT)."""
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, mode)
    except FileNotFoundError:
        raise
    except OSError:
        _refuse_what_is_there(path)
        raise
    try:
        st = os.fstat(fd)
        _refuse_unless_regular(path, st)
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def _new_file_mode(directory):
    """The mode for a file this module creates in ``directory`` (the umask applies, as for
    any new file): 0600 where the directory lets no one else in, else 0666 -- as hbmon."""
    try:
        private = stat.S_IMODE(os.stat(directory).st_mode) & 0o077 == 0
    except OSError:
        private = False
    return 0o600 if private else 0o666


def _read(path):
    """(bytes, mode) of the heartbeat file as the lock holder reads it; (b"", None) if none."""
    try:
        fd, st = _open_regular(path, os.O_RDONLY)
    except FileNotFoundError:
        return b"", None
    try:
        # Capped, for it may have grown since fstat. The first read asks for its size and a
        # byte more (a read of the whole cap would allocate 64 MiB on every beat).
        chunks, total, want = [], 0, st.st_size + 1
        while total <= MAX_FILE_SIZE:
            chunk = os.read(fd, min(want, MAX_FILE_SIZE + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            want = 1 << 16
        if total > MAX_FILE_SIZE:
            raise _too_big(path, max(total, os.fstat(fd).st_size))
        return b"".join(chunks), stat.S_IMODE(st.st_mode)
    finally:
        os.close(fd)


def _running(pid):
    """Whether a process ``pid`` exists; another user's does too (kill says EPERM)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OverflowError:  # beyond any PID
        return False
    except OSError:  # PermissionError: it exists; anything else: assume it does
        return True
    return True


# path -> (pid, time.monotonic()) of this process's last sweep of that file's directory.
_swept = {}


def _sweep_orphans(path, directory):
    """Removes the temp files of writers that died mid-write (kill -9 leaves one behind for
    ever): ``.<file>.<pid>.<random>.tmp``, and ``.<file>.<pid>.tmp`` from older writers,
    whose PID is no running process. Called under the lock, so no writer that follows the
    rules is mid-write; the PID check spares one that does not. Never follows a link
    (unlink removes the link itself), never removes a directory. Best effort, at most once
    per ORPHAN_SWEEP_INTERVAL per process and file: a beat must not list a big directory
    every time. The random part has no dot, so a sibling file ``<file>.<digits>`` does not
    have its new-style temp files mistaken for ours."""
    now, me = time.monotonic(), os.getpid()
    last = _swept.get(path)
    if last is not None and last[0] == me and now - last[1] < ORPHAN_SWEEP_INTERVAL:
        return
    _swept[path] = (me, now)
    orphan = re.compile(re.escape(".%s." % os.path.basename(path)) + r"([0-9]+)(?:\.[^.]+)?\.tmp\Z")
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        match = orphan.match(name)
        if not match:
            continue
        pid = int(match.group(1))
        if pid == me or _running(pid):
            continue
        try:
            os.unlink(os.path.join(directory, name))
        except OSError:  # a directory, or swept by another writer first
            pass


def _transaction(path, private, now, change, lock_timeout=None):
    """Runs ``change(processes)`` under the lock and writes the document back (rules 1-5)."""
    with _section():
        return _locked_transaction(path, private, now, change, lock_timeout)


def _locked_transaction(path, private, now, change, lock_timeout):
    directory = os.path.dirname(path) or "."
    lock_path = path + ".lock"
    try:
        if not os.path.isdir(directory):
            os.makedirs(directory, mode=0o700 if private else 0o777, exist_ok=True)
        # Read-only: flock needs no write access, so a lock file another user created
        # still locks.
        lock = _open_regular(lock_path, os.O_RDONLY | os.O_CREAT, _new_file_mode(directory))[0]
    except OSError as e:
        raise HbmonError("cannot lock %s: %s" % (lock_path, e)) from e
    try:
        _lock(lock, lock_path, lock_timeout)
        _sweep_orphans(path, directory)
        raw, mode = _read(path)
        # JSON readers skip a byte order mark; the rewrite has none.
        text = raw[len(_BOM):] if raw.startswith(_BOM) else raw
        try:
            processes, other = _parse(text.decode("utf-8"))
        except ValueError as e:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            _move_aside(path, now, e, raw)
            processes, other = {}, {}
        result = change(processes)
        _replace(path, directory, _document(processes, other, now), mode)
        return result
    except OSError as e:
        raise HbmonError("cannot write %s: %s" % (path, e)) from e
    finally:
        os.close(lock)  # releases the flock


def _document(processes, other, now):
    """The file's text as hbmon writes it: the top level pretty, each entry on one line
    (``grep NAME`` shows it whole, and a beat rewrites fewer bytes); entries read from the
    file go back exactly as they were."""

    def entry_text(entry):
        return entry if isinstance(entry, _Raw) else _dumps(entry)

    # encode_basestring is what _dumps does with a str, without its per-call set-up.
    name_text = json.encoder.encode_basestring
    entries = ",\n".join("    %s: %s" % (name_text(name), entry_text(entry)) for name, entry in processes.items())
    text = '{\n  "version": %d,\n  "last_updated": %s,\n  "processes": {' % (VERSION, _dumps(now))
    text += "\n%s\n  }" % entries if processes else "}"
    for key, value in other.items():
        text += ",\n  %s: %s" % (_dumps(key), _dumps(value))
    return text + "\n}\n"


def _random_suffix():
    """16 lowercase hex characters no other user can guess, for a temp file's name."""
    return os.urandom(8).hex()


# Tries for a free temp name: 64 random bits do not collide by chance; more than a few
# taken in a row is a broken file system, not bad luck.
_TEMP_ATTEMPTS = 16


def _create_temp(path, directory, mode):
    """(name, fd) of a new temp file ``.<file>.<pid>.<random>.tmp`` beside ``path``: made
    with O_EXCL|O_NOFOLLOW (never through a planted link, never someone else's file), 0600
    then given ``mode`` on the descriptor -- or, for a new file (``mode`` None), as private
    as its directory."""
    base = os.path.basename(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    for _ in range(_TEMP_ATTEMPTS):
        temp = os.path.join(directory, ".%s.%d.%s.tmp" % (base, os.getpid(), _random_suffix()))
        try:
            fd = os.open(temp, flags, 0o600 if mode is not None else _new_file_mode(directory))
        except FileExistsError:
            continue
        try:
            if mode is not None:
                os.fchmod(fd, mode)
        except BaseException:
            os.close(fd)
            os.unlink(temp)
            raise
        return temp, fd
    raise HbmonError(
        "cannot create a temporary file beside %s: %d random names in a row were taken" % (path, _TEMP_ATTEMPTS)
    )


def _replace(path, directory, text, mode):
    """Writes ``text`` beside ``path`` and renames it over, keeping the old file's mode."""
    temp, fd = _create_temp(path, directory, mode)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(temp, path)
    except BaseException:  # a full disk, or Ctrl-C mid-write: no temp file left behind
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise


def _check_name(name):
    if not isinstance(name, str) or not name.strip():
        raise HbmonError("a heartbeat name cannot be empty")
    if any(ord(c) < 32 or 127 <= ord(c) < 160 for c in name):
        raise HbmonError("heartbeat name %r has a control character" % name)
    try:
        name.encode("utf-8")
    except UnicodeEncodeError as e:  # from bytes decoded with surrogateescape (os.fsdecode)
        raise HbmonError(
            "heartbeat name %r has a lone surrogate at character %d, which UTF-8 cannot encode" % (name, e.start)
        ) from None


#: The longest span hbmon takes anywhere, as the Rust side's ``duration::MAX``: 366 days.
MAX_SPAN = 366 * 86400.0

_UNITS = (
    (("w",), 604800.0),
    (("d", "day", "days"), 86400.0),
    (("h", "hr", "hrs"), 3600.0),
    (("m", "min", "mins"), 60.0),
    (("s", "sec", "secs"), 1.0),
    (("ms",), 0.001),
)


def parse_duration(text):
    """Seconds in ``text`` under hbmon's one rule for spans (``30s``, ``5m30``, ``1h30m``,
    ``250ms``; a bare number is seconds): units largest first and each once, a number
    after the last unit is the next smaller one, no sign or exponent, at most 366d. Raises
    ``ValueError`` with the message hbmon's CLI, config and HTTP give."""

    def fail(why):
        return ValueError("invalid duration %s: %s (use e.g. 30s, 5m, 1h30m, 250ms, 7d)" % (json.dumps(text), why))

    rest = text.strip()
    if not rest:
        raise fail("empty")
    if rest.startswith("-"):
        raise fail("must not be negative")
    total, next_unit = 0.0, 0
    while rest:
        digits = re.match(r"[0-9.]*", rest).group(0)
        if not digits:
            raise fail("expected a number")
        if digits.startswith(".") or digits.endswith(".") or digits.count(".") > 1:
            raise fail("not a number")
        rest = rest[len(digits):]
        unit = re.match(r"[^0-9.]*", rest).group(0)
        if not unit:
            if total == 0 and next_unit == 0:
                index = 4
            elif next_unit < len(_UNITS):
                index = next_unit
            else:
                raise fail("nothing is smaller than ms")
        else:
            index = next((i for i, (names, _) in enumerate(_UNITS) if unit in names), None)
            if index is None:
                raise fail("unknown unit")
            if index < next_unit:
                raise fail("units go largest first, each once (1h30m, not 30m1h or 1h1h)")
        total += float(digits) * _UNITS[index][1]
        next_unit = index + 1
        rest = rest[len(unit):]
    if total > MAX_SPAN:
        raise fail("out of range: at most 366d")
    return total


def _check_interval(name, interval):
    """The interval in seconds: a number, or a string in hbmon's notation, more than zero
    and at most 366 days — the rule ``hbmon beat --interval`` applies."""
    if isinstance(interval, str):
        try:
            seconds = parse_duration(interval)
        except ValueError as e:
            raise HbmonError("heartbeat %r: interval: %s" % (name, e)) from None
    else:
        try:
            seconds = float(interval) if _number(interval) else math.nan
        except OverflowError:  # an int past any float
            seconds = math.inf
        if seconds > MAX_SPAN and seconds < math.inf:
            raise HbmonError("heartbeat %r: interval: invalid duration %r: out of range: at most 366d" % (name, interval))
    if not 0 < seconds <= MAX_SPAN:
        raise HbmonError("heartbeat %r: interval must be a positive number of seconds, not %r" % (name, interval))
    return seconds


def _error_text(error):
    """An error message as text UTF-8 can hold: an exception's message may carry a file
    name's undecodable bytes (lone surrogates), shown escaped rather than losing the beat."""
    return str(error).encode("utf-8", "backslashreplace").decode("utf-8")


# hbmon's readers decode at most 128 levels of nesting in an entry; data deeper than this
# would be an entry nobody can read.
MAX_DATA_DEPTH = 100


def _check_data(name, data):
    try:
        _dumps(data).encode("utf-8")
    except (TypeError, ValueError, RecursionError) as e:
        raise HbmonError("heartbeat %r: data is not representable as JSON: %s" % (name, e)) from e
    level, depth = [data], 0
    while level:
        depth += 1
        if depth > MAX_DATA_DEPTH:
            raise HbmonError("heartbeat %r: data nests deeper than %d levels" % (name, MAX_DATA_DEPTH))
        level = [
            child
            for value in level
            if isinstance(value, (dict, list))
            for child in (value.values() if isinstance(value, dict) else value)
        ]


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


# --- the API --------------------------------------------------------------------------------


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

    def _stop_by_signal(self, reason):
        """The ``stopped`` beat of a stop signal, ``reason`` in ``additional_data`` (with the
        data set but not yet written, if it is a dict; other pending data gives way)."""
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


# --- stop signals ---------------------------------------------------------------------------

#: The signals that ask a process to stop (``systemctl stop``, ``docker stop``, ``kill``,
#: Ctrl-C, a closed terminal): a Heartbeat turns each that has its default action into a
#: clean ``stopped`` beat (see Heartbeat). SIGQUIT is not one: it asks for a core dump.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)

#: Seconds the ``stopped`` beat of a stop signal waits for the file's lock: the process is
#: ending, and a supervisor gives it seconds (``docker stop``: 10) before SIGKILL.
SIGNAL_STOP_LOCK_TIMEOUT = 2.0

# Running heartbeats that handle stop signals, and the signals this module's handler holds.
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
    """Writes ``stopped`` for every running heartbeat, then ends the process by ``signum``."""
    _ending.append(signum)
    with _registry_lock:
        live = list(_live)
    reason = "stopped by " + _describe(signum)
    for heartbeat in live:
        try:
            heartbeat._stop_by_signal(reason)
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


# The asyncio face sits on Heartbeat; imported last, as it needs the names above.
from ._aio import AsyncHeartbeat  # noqa: E402
from ._job import job  # noqa: E402
