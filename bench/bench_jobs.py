"""Job runs per second (no-op runner, one thread) and bytes committed per run.

Starts Zope in this process on a FileStorage in a temporary directory, creates
a Plone site with collective.cron, fills the crontab with N crons (10, then
10,000) that are not due, and runs a no-op cron due every second, moving the
clock one second per run. Each run is what the dispatcher does: a committed
claim, then a committed run (log, reschedule). The FileStorage's growth gives
the bytes committed per run; a bare one-object commit is measured beside it.

    .venv/bin/python bench/bench_jobs.py [--runs 300] [--repeat 3]
"""

from common import bare_commit_ms
from common import create_site
from common import register_noop
from common import start_zope
from datetime import datetime
from datetime import timedelta

import argparse
import statistics
import sys
import tempfile
import time


def fill_crontab(size):
    """`size` idle crons (due yearly) plus the no-op cron due every second."""
    from collective.cron.crontab import Cron
    from collective.cron.crontab import Crontab

    import transaction

    crontab = Crontab()
    for number in range(size):
        Cron(
            name=f"idle-{number}",
            periodicity="0 0 1 1 *",
            environ={"number": number},
            crontab=crontab,
        )
    noop = Cron(
        uid="noop", name="bench-noop", periodicity="* * * * * *", crontab=crontab
    )
    crontab.save()
    transaction.commit()
    return noop


def storage_size(site):
    return site._p_jar.db().storage.getSize()


def measure_runs(site, runs, start):
    from collective.cron.interfaces import IQueue
    from collective.cron.job import claim_and_run
    from collective.cron.testing import set_now

    queue = IQueue(site)
    before_size = storage_size(site)
    elapsed = 0.0
    done = 0
    for second in range(1, runs + 1):
        set_now(start + timedelta(seconds=second))
        [job] = queue.due_jobs()
        began = time.perf_counter()
        result = claim_and_run(site, job, "bench", timedelta(minutes=5))
        elapsed += time.perf_counter() - began
        done += result is not None and result[0] == 1
    bytes_per_run = (storage_size(site) - before_size) / runs
    return done, runs / elapsed, bytes_per_run


def summary(values, fmt):
    return f"{fmt(statistics.median(values))} ({fmt(min(values))}-{fmt(max(values))})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", default="10,10000")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]

    from collective.cron.testing import set_now

    with tempfile.TemporaryDirectory() as directory:
        app = start_zope(directory)
        site = create_site(app)
        register_noop()
        start = datetime(2030, 1, 1)
        rows = []
        for size in sizes:
            set_now(start)
            fill_crontab(size)
            rates, sizes_per_run = [], []
            for _ in range(args.repeat):
                done, rate, per_run = measure_runs(site, args.runs, start)
                if done != args.runs:
                    sys.exit(f"only {done} of {args.runs} runs ended OK")
                rates.append(rate)
                sizes_per_run.append(per_run)
                start += timedelta(seconds=args.runs + 1)
                set_now(start)
            rows.append((size, rates, sizes_per_run))
        bare = [bare_commit_ms(site._p_jar, 300) for _ in range(args.repeat)]
        set_now(None)
        site._p_jar.db().close()

    print(f"Job runs, one thread, FileStorage; {args.runs} runs x {args.repeat}")
    print("median (min-max); each run = committed claim + committed run")
    print(
        f"{'crons':>7} | {'runs/s':>22} | {'bytes committed/run':>26} | {'ms/run':>8}"
    )
    for size, rates, per_run in rows:
        ms = 1000 / statistics.median(rates)
        print(
            f"{size:>7} | {summary(rates, lambda v: f'{v:.0f}'):>22} | "
            f"{summary(per_run, lambda v: f'{v:.0f}'):>26} | {ms:8.2f}"
        )
    bare_ms = statistics.median(bare)
    bare_text = summary(bare, lambda v: f"{v:.2f}")
    print(f"bare one-object commit on the same FileStorage: {bare_text} ms")
    for size, rates, _ in rows:
        ms = 1000 / statistics.median(rates)
        print(f"  {size} crons: one run costs {ms / bare_ms:.1f}x a bare commit")
    if len(rows) == 2:
        ratio = statistics.median(rows[1][2]) / statistics.median(rows[0][2])
        print(f"bytes per run, {rows[1][0]} vs {rows[0][0]} crons: {ratio:.2f}x")


if __name__ == "__main__":
    main()
