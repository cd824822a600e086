"""One entry: which fields it has and what each accepts, and what a beat makes of it (the
same rules as hbmon's ``Beat::apply``)."""

import json
import math
import time

from ._base import KINDS, _dumps, _loads, _number


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
