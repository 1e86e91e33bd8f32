"""Where a run's time goes: cProfile over N no-op runs on the worker's run
path (claim_and_run_many: a claim commit, then the runs and their commits),
Zope in this process on a FileStorage, one site with --crons crons, of which
--batch no-op crons due every second, claimed and run as one batch (saved
together with --group-commit seconds, as the dispatcher does; 0: each run
commits alone).

    .venv/bin/python bench/profile_run.py [--runs 2000] [--crons 10] [--top 25]
        [--batch 1] [--group-commit 0.2]
"""

from common import create_site
from common import register_noop
from common import start_zope
from datetime import datetime
from datetime import timedelta

import argparse
import cProfile
import io
import pstats
import tempfile
import time
import transaction


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--crons", type=int, default=10)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--group-commit", type=float, default=0.2)
    parser.add_argument(
        "--callees", help="also print what functions matching this call"
    )
    parser.add_argument(
        "--no-profiler",
        action="store_true",
        help="only time the runs (the profiler slows Python code down)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        site = create_site(start_zope(directory))
        register_noop()
        from collective.cron.crontab import Cron
        from collective.cron.crontab import Crontab
        from collective.cron.interfaces import IQueue
        from collective.cron.job import claim_and_run_many
        from collective.cron.testing import set_now

        start = datetime(2030, 1, 1)
        set_now(start)
        crontab = Crontab()
        for number in range(args.crons - args.batch):
            Cron(name=f"idle-{number}", periodicity="0 0 1 1 *", crontab=crontab)
        uids = [f"noop{number}" for number in range(args.batch)]
        for uid in uids:
            Cron(uid=uid, name="bench-noop", periodicity="* * * * * *", crontab=crontab)
        crontab.save()
        transaction.commit()
        queue = IQueue(site)

        def runs():
            now = start
            for _ in range(args.runs // args.batch):
                now += timedelta(seconds=1)
                set_now(now)
                transaction.begin()
                jobs = [queue.pending_job(uid) for uid in uids]
                claim_and_run_many(
                    site,
                    jobs,
                    "bench",
                    timedelta(minutes=5),
                    group_commit=args.group_commit,
                )

        if args.no_profiler:
            began = time.perf_counter()
            runs()
            elapsed = time.perf_counter() - began
            set_now(None)
            print(
                f"{args.runs} runs in {elapsed:.2f} s: "
                f"{elapsed / args.runs * 1000:.3f} ms a run"
            )
            return
        profiler = cProfile.Profile()
        began = time.perf_counter()
        profiler.runcall(runs)
        elapsed = time.perf_counter() - began
        set_now(None)
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
        stats.print_stats(args.top)
        if args.callees:
            stats.print_callees(args.callees)
        print(out.getvalue())
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(args.top)
        print(out.getvalue())
        print(
            f"{args.runs} runs in {elapsed:.2f} s under the profiler:"
            f" {elapsed / args.runs * 1000:.2f} ms a run"
        )


if __name__ == "__main__":
    main()
