"""Differential check of `hbmon schedule --json` against cronsim (healthchecks.io's engine).

Usage: cronsim_check.py HBMON [CASES]. Random five-field expressions (a fixed seed; some
deliberately invalid) x zones x instants near DST changes: cronsim's next fire times
against hbmon's, and cronsim's refusals against hbmon's exit code 2. Prints every
difference with the expression, zone, instant and both answers, and exits 1 on any.

One documented difference is applied to cronsim's answers (docs/schedules.md): hbmon
returns only fire times strictly after the instant, so a time cronsim gives at or before
it (its walk restarted on the second pass of a repeated hour) is dropped.
"""

import random
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from cronsim import CronSim, CronSimError

SEED = 20260329
FIRES = 6
ZONES = [
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "UTC",
]
MONTHS = "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split()
DAYS = "SUN MON TUE WED THU FRI SAT".split()


def transitions(zone, years=range(2025, 2028)):
    """The instants (UTC) where the zone's offset changes in `years`, to the hour."""
    tz = ZoneInfo(zone)
    found = []
    for year in years:
        t = datetime(year, 1, 1, tzinfo=timezone.utc)
        end = datetime(year + 1, 1, 1, tzinfo=timezone.utc)
        while t < end:
            nxt = t + timedelta(hours=1)
            if t.astimezone(tz).utcoffset() != nxt.astimezone(tz).utcoffset():
                found.append(nxt)
            t = nxt
    return found


def value(rng, lo, hi, names=None, offset=0):
    if names and rng.random() < 0.3:
        name = rng.choice(names)
        return name.lower() if rng.random() < 0.2 else name
    return str(rng.randint(lo, hi))


def item(rng, lo, hi, names=None, bad=False):
    """One list item of a field whose values run lo..hi."""
    if bad:
        return rng.choice(
            [str(hi + rng.randint(1, 30)), f"{hi}-{lo}", "*/0", "x", "", "1-", "?", "5/"]
        )
    kind = rng.random()
    if kind < 0.3:
        return value(rng, lo, hi, names)
    if kind < 0.5:
        a = rng.randint(lo, hi)
        b = rng.randint(a, hi)
        return f"{a}-{b}"
    if kind < 0.65:
        return f"*/{rng.randint(1, hi - lo + 2)}"
    if kind < 0.8:
        a = rng.randint(lo, hi)
        b = rng.randint(a, hi)
        return f"{a}-{b}/{rng.randint(1, 12)}"
    if kind < 0.9:
        return f"{rng.randint(lo, hi)}/{rng.randint(1, 15)}"
    return "*"


def field(rng, lo, hi, names=None, bad=False, star=0.35):
    if not bad and rng.random() < star:
        return "*"
    count = 1 if rng.random() < 0.6 else rng.randint(2, 4)
    items = [item(rng, lo, hi, names) for _ in range(count)]
    if bad:
        items[rng.randrange(count)] = item(rng, lo, hi, names, bad=True)
    return ",".join(items)


def expression(rng):
    bad = rng.random() < 0.08
    which = rng.randrange(5) if bad else -1
    minute = field(rng, 0, 59, bad=which == 0, star=0.25)
    hour = field(rng, 0, 23, bad=which == 1, star=0.4)
    day = field(rng, 1, 31, bad=which == 2, star=0.6)
    if rng.random() < 0.08:
        day = rng.choice(["L", "LW", "1,L", "15,LW", "L/3", "l"])
    month = field(rng, 1, 12, MONTHS, bad=which == 3, star=0.7)
    weekday = field(rng, 0, 7, DAYS, bad=which == 4, star=0.6)
    if rng.random() < 0.08:
        weekday = rng.choice(
            [f"{rng.randint(0, 7)}L", f"{rng.choice(DAYS)}#{rng.randint(1, 5)}",
             f"{rng.randint(0, 7)}#{rng.randint(1, 5)},{rng.randint(0, 7)}", "5l", "1#6"]
        )
    return f"{minute} {hour} {day} {month} {weekday}"


def instant(rng, zone, changes):
    if changes and rng.random() < 0.85:
        t = rng.choice(changes) + timedelta(minutes=rng.randint(-36 * 60, 36 * 60))
    else:
        t = datetime(2020, 1, 1, tzinfo=timezone.utc) + timedelta(
            minutes=rng.randint(0, 10 * 365 * 24 * 60)
        )
    if rng.random() < 0.2:
        t += timedelta(seconds=rng.randint(1, 59))
    return t


def cronsim_answer(expr, zone, start):
    try:
        it = CronSim(expr, start.astimezone(ZoneInfo(zone)))
    except CronSimError:
        return "refused"
    fires = []
    for fire in it:
        ts = int(fire.timestamp())
        if ts > start.timestamp():
            fires.append(ts)
        if len(fires) == FIRES:
            break
    return fires


def hbmon_answer(hbmon, expr, zone, start):
    out = subprocess.run(
        [hbmon, "schedule", expr, "--tz", zone, "--count", str(FIRES), "--json",
         "--after", start.strftime("%Y-%m-%dT%H:%M:%SZ")],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode == 2 and out.stdout == "":
        return "refused"
    if out.returncode != 0:
        return f"exit {out.returncode}: {out.stderr.strip()}"
    import json

    return [row["unix"] for row in json.loads(out.stdout)]


def main():
    hbmon = sys.argv[1]
    cases = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
    rng = random.Random(SEED)
    changes = {zone: transitions(zone) for zone in ZONES}
    work = []
    for _ in range(cases):
        zone = rng.choice(ZONES)
        work.append((expression(rng), zone, instant(rng, zone, changes[zone])))
    with ThreadPoolExecutor(max_workers=4) as pool:
        theirs = list(pool.map(lambda w: hbmon_answer(hbmon, *w), work))
    differences = 0
    refused = 0
    for (expr, zone, start), got in zip(work, theirs):
        want = cronsim_answer(expr, zone, start)
        refused += want == "refused"
        if got != want:
            differences += 1
            if differences <= 25:
                print(
                    f"{expr!r} in {zone} after {start.isoformat()}: cronsim {want}, hbmon {got}"
                )
    print(f"{cases} cases ({refused} refused by cronsim), {differences} differences")
    sys.exit(1 if differences else 0)


if __name__ == "__main__":
    main()
