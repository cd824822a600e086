"""The file on disk: the lock, the read, the atomic replace, and the rules for a directory
other users may write (no links followed, no special files, orphaned temp files swept)."""

import fcntl
import os
import re
import stat
import sys
import threading
import time

from ._base import MAX_FILE_SIZE, ORPHAN_SWEEP_INTERVAL, HbmonError
from ._scan import _BOM, _document, _parse
from ._signals import _section


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
