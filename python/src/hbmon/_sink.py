"""serve's beat sink: one beat as one line on ``<file>.sock`` when an ``hbmon serve``
answers there (docs/serve.md, "The line protocol"), the entry it wrote back; ``None`` when
none answers, and the caller writes the file itself, as ``hbmon beat`` does."""

import json
import os
import socket
import stat
import struct
import sys

from ._base import HbmonError

#: A sink that is there answers a connect at once; one that is not is refused at once.
CONNECT_TIMEOUT = 0.05
#: How long the written entry may take to come back: a waited-for beat is flushed at once,
#: one file write.
REPLY_TIMEOUT = 5.0
#: The most of a reply read (an entry is far smaller).
MAX_REPLY = 1 << 20


def _debug(message):
    # HBMON_DEBUG=1 says which way each beat went, as the Node package and `hbmon beat -v`.
    if os.environ.get("HBMON_DEBUG"):
        print("hbmon: " + message, file=sys.stderr)


def _listener_ok(sock, path):
    """The listener is this user, root or the directory's owner: only a process that
    could write the file anyway is handed beats (``SO_PEERCRED``, Linux)."""
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    uid = struct.unpack("3i", creds)[1]
    owner = os.stat(os.path.dirname(os.path.abspath(path)) or ".").st_uid
    return uid in (os.geteuid(), 0, owner)


def send(path, request, timeout=None):
    """The entry serve's sink wrote for ``request`` (the line protocol's fields), or
    ``None`` when no sink answers or it refused (said under ``HBMON_DEBUG``). A sink that
    took the beat and then did not answer in time is an error, not a fallback: writing the
    file too would beat twice."""
    if os.environ.get("HBMON_SINK") == "0":
        return None
    if not hasattr(socket, "SO_PEERCRED") or not hasattr(socket, "AF_UNIX"):
        return None
    sock_path = path + ".sock"
    try:
        # Never a link, nothing but a socket: what a serve made.
        if not stat.S_ISSOCK(os.lstat(sock_path).st_mode):
            _debug("writing the file itself: %s is not a socket" % sock_path)
            return None
    except OSError:
        _debug("writing the file itself: no beat sink at %s" % sock_path)
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(CONNECT_TIMEOUT)
        try:
            sock.connect(sock_path)
            if not _listener_ok(sock, path):
                _debug("writing the file itself: %s is another user's" % sock_path)
                return None
        except OSError as e:
            _debug("writing the file itself: %s: %s" % (sock_path, e))
            return None
        line = json.dumps(dict(request, wait=True), ensure_ascii=False, allow_nan=False)
        sock.settimeout(REPLY_TIMEOUT if timeout is None else min(timeout, REPLY_TIMEOUT))
        try:
            sock.sendall(line.encode("utf-8") + b"\n")
            reply = b""
            while not reply.endswith(b"\n") and len(reply) < MAX_REPLY:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                reply += chunk
        except OSError as e:
            raise HbmonError(
                "heartbeat %r: serve's beat sink at %s took the beat but did not say it was "
                "written: %s" % (request.get("name"), sock_path, e)
            ) from None
        text = reply.decode("utf-8", "replace").rstrip("\n")
        if text.startswith("ok "):
            _debug("beat %r through hbmon serve's beat sink" % request.get("name"))
            return json.loads(text[3:])
        _debug("writing the file itself: the beat sink said %r" % text[:200])
        return None
    finally:
        sock.close()


def request(name, status, data, merge, error, pid, interval, kind, host, schedule, keep):
    """The line-protocol request of one beat, or ``None`` for one the sink has no words
    for (a job run's beats, which go to the file as ``hbmon run`` writes them)."""
    if status not in ("alive", "error", "stopped") or (status == "error" and not isinstance(error, str)):
        return None
    line = {"name": name, "host": host}
    if pid is not None:
        line["pid"] = pid
    if interval is not None:
        line["interval"] = interval
    if schedule is not None:
        line["schedule"], tz = schedule
        if tz is not None:
            line["tz"] = tz
    if data is not keep:
        if merge:
            if not isinstance(data, dict):
                return None
            line["set"] = data
        else:
            line["data"] = data
    if status == "error":
        line["error"] = error
    if status == "stopped":
        line["stopped"] = True
    if kind is not None:
        line["kind"] = kind
    return line
