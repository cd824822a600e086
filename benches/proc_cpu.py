"""CPU time of processes and their threads from /proc (Linux), for the benchmarks in this
folder: utime+stime in clock ticks, and a window's share of one core."""

import os

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid):
    """utime+stime of process `pid`, its threads' past and present included."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def thread_ticks(pid):
    """utime+stime of each live thread of `pid`, by thread id: (name, ticks)."""
    threads = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                text = f.read()
        except OSError:
            continue  # ended since the listing
        comm = text[text.index("(") + 1 : text.rindex(")")]
        fields = text.rsplit(")", 1)[1].split()
        threads[tid] = (comm, int(fields[11]) + int(fields[12]))
    return threads


def percent(ticks, seconds):
    return ticks / TICKS / seconds * 100


def by_thread_name(before, after, total, seconds):
    """CPU % by thread name over the window, of the threads alive at both ends; what the
    threads that came or went in between used (a connection's, say) is `other`."""
    split = {}
    for tid, (comm, ticks) in after.items():
        if tid in before:
            split[comm] = split.get(comm, 0) + ticks - before[tid][1]
    split["other"] = total - sum(split.values())
    return {k: round(percent(v, seconds), 2) for k, v in sorted(split.items()) if v}
