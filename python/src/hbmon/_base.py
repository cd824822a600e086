"""What every part of the writer shares: the protocol's constants, HbmonError, where the file
lives, and the checks of what a caller passes (a name, an interval, data)."""

import json
import math
import os
import re
import sys


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


def _number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _reject_constant(name):
    # json accepts NaN and Infinity; JSON (and hbmon) does not.
    raise ValueError("%s is not valid JSON" % name)


def _dumps(value):
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _in_range(number, text):
    # json reads 1e400 as infinity; hbmon (serde_json) refuses a number past a double's range.
    if math.isinf(float(text)):
        raise ValueError("number out of range: %s" % text[:40])
    return number


def _loads(text):
    return json.loads(
        text,
        parse_constant=_reject_constant,
        parse_float=lambda t: _in_range(float(t), t),
        parse_int=lambda t: _in_range(int(t), t),
    )


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
