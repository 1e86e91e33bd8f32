"""Throughput: N due no-op jobs run by one worker process, versus APScheduler.

Ours: Zope in this process (FileStorage, or a ZEO server on 127.0.0.1), a site
with N crons, a "Run now" job queued for each, then a dispatcher with 1 or 4
worker threads; the time until every job has run. Each run is a committed
claim and a committed run (log, reschedule). Runs dropped: jobs without a log.

Peer: APScheduler 3 BackgroundScheduler, SQLAlchemyJobStore on SQLite, a
ThreadPoolExecutor of the same size, N date jobs due at start, misfire grace
None (nothing may be dropped) -- and once more with its default grace of 1 s
to count what it drops. Each of its turns runs in a fresh Python process of
its own, so it never pays for the objects and threads our turns left in
this one.

Floor: a bare one-object commit on the same storage.

    .venv/bin/python bench/bench_throughput.py --storage fs [--jobs 2000]
"""

from common import bare_commit_ms
from common import create_site
from common import emit
from common import filestorage
from common import register_noop
from common import start_dispatcher
from common import start_zope
from common import wait_until
from common import zeo_server
from common import zeoclient
from concurrent.futures import ProcessPoolExecutor

import argparse
import gc
import multiprocessing
import statistics
import tempfile
import threading
import time
import transaction


def noop():
    """The peer's job: nothing."""


def queue_all(site, crontab):
    from collective.cron.interfaces import ICronManager
    from zope.component import getMultiAdapter

    for cron in crontab.crons.values():
        getMultiAdapter((site, cron), ICronManager).register_job(force=True)
    transaction.commit()


def clear_history(site):
    from collective.cron.history import History

    history = History(site)
    for uid in history.uids():
        history.clear(uid)
    transaction.commit()


class Finished:
    """Counts runs as their transaction commits (FinishedCronJobEvent, then
    an after-commit hook): no polling of the database while measuring, and a
    run counts only once it is saved."""

    def __init__(self):
        from collective.cron.interfaces import IFinishedCronJobEvent
        from zope.component import getGlobalSiteManager

        self.count = 0
        self.lock = threading.Lock()
        getGlobalSiteManager().registerHandler(self.handle, (IFinishedCronJobEvent,))

    def handle(self, event):
        transaction.get().addAfterCommitHook(self.committed)

    def committed(self, success):
        if success:
            with self.lock:
                self.count += 1


def count_runs(site, uids):
    from collective.cron.history import History

    transaction.begin()
    history = History(site)
    return sum(bool(history.logs(uid)) for uid in uids)


def run_ours(site, db, uids, crontab, threads, finished):
    clear_history(site)
    queue_all(site, crontab)
    finished.count = 0
    gc.collect()  # each turn starts clean: see main
    began = time.perf_counter()
    dispatcher = start_dispatcher(db, threads=threads, poll_interval=0.05, heartbeat=60)
    try:
        wait_until(lambda: finished.count >= len(uids), 600, interval=0.01)
        elapsed = time.perf_counter() - began
    finally:
        dispatcher.stop()
    done = count_runs(site, uids)
    return done / elapsed, len(uids) - done


def run_apscheduler(directory, jobs, threads, grace):
    from apscheduler.events import EVENT_JOB_EXECUTED
    from apscheduler.events import EVENT_JOB_MISSED
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler
    from datetime import UTC
    from datetime import datetime

    import os

    path = os.path.join(directory, f"aps-{threads}-{grace}-{time.time_ns()}.sqlite")
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=f"sqlite:///{path}")},
        executors={"default": ThreadPoolExecutor(threads)},
        job_defaults={"misfire_grace_time": grace, "coalesce": False},
        timezone="UTC",
    )
    counts = {"executed": 0, "missed": 0}
    lock = threading.Lock()

    def listener(event):
        with lock:
            counts["missed" if event.code == EVENT_JOB_MISSED else "executed"] += 1

    scheduler.add_listener(listener, EVENT_JOB_EXECUTED | EVENT_JOB_MISSED)
    now = datetime.now(UTC)
    for number in range(jobs):
        scheduler.add_job(noop, "date", run_date=now, id=f"job-{number}")
    gc.collect()  # as ours
    began = time.perf_counter()
    scheduler.start()
    try:
        wait_until(lambda: counts["executed"] + counts["missed"] >= jobs, 600, 0.02)
        elapsed = time.perf_counter() - began
    finally:
        scheduler.shutdown(wait=True)
    return counts["executed"] / elapsed, counts["missed"]


def run_apscheduler_alone(directory, jobs, threads, grace):
    """run_apscheduler in a new interpreter (spawned, not forked: a fork
    would hold this process's Zope objects)."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        return pool.submit(run_apscheduler, directory, jobs, threads, grace).result()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storage", choices=("fs", "zeo"), default="fs")
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", default="1,4")
    args = parser.parse_args()
    thread_counts = [int(n) for n in args.threads.split(",")]

    with tempfile.TemporaryDirectory() as directory:
        zeo = zeo_server(f"{directory}/zeo") if args.storage == "zeo" else None
        try:
            storage = zeoclient(directory, zeo.port) if zeo else filestorage(directory)
            app = start_zope(directory, storage)
            site = create_site(app)
            register_noop()
            from collective.cron.crontab import Cron
            from collective.cron.crontab import Crontab

            crontab = Crontab()
            for number in range(args.jobs):
                Cron(
                    name="bench-noop",
                    periodicity="@yearly",
                    uid=f"j{number}",
                    crontab=crontab,
                )
            crontab.save()
            transaction.commit()
            crontab = Crontab.load()
            uids = list(crontab.crons)
            db = site._p_jar.db()
            label = "FileStorage" if zeo is None else "ZEO"
            finished = Finished()
            bare = [bare_commit_ms(site._p_jar) for _ in range(args.repeat)]
            emit("floor", f"bare commit, {label}", bare, "ms")
            # Ours with each thread count in turn, then the peer (in processes
            # of its own, see above): a turn run after all the turns of
            # another count would pay for what those left behind (2,000
            # runs: 1 thread then 4 threads, 0.77-0.88x; taken in turns,
            # 0.99x). Each turn starts with the garbage of the one before
            # collected: whether a full collection falls in a turn of about
            # 3 s moved it by 20 %.
            ours = {threads: ([], []) for threads in thread_counts}
            for _ in range(args.repeat):
                for threads in thread_counts:
                    rate, dropped = run_ours(site, db, uids, crontab, threads, finished)
                    ours[threads][0].append(rate)
                    ours[threads][1].append(dropped)
            for threads in thread_counts:
                rates, drops = ours[threads]
                peer = peer_drops = None
                if zeo is None:
                    peer, peer_drops = [], []
                    for _ in range(args.repeat):
                        rate, missed = run_apscheduler_alone(
                            directory, args.jobs, threads, None
                        )
                        peer.append(rate)
                        peer_drops.append(missed)
                emit(
                    "throughput",
                    f"{args.jobs} no-op runs/s, {label}, {threads} thread(s)",
                    rates,
                    "runs/s",
                    peer,
                    "peer: APScheduler 3 + SQLite" if peer else "",
                )
                emit(
                    "throughput",
                    f"runs dropped, {label}, {threads} thread(s)",
                    drops,
                    "runs",
                    peer_drops,
                )
                if threads == 1:
                    per_run = [1000 / rate for rate in rates]
                    emit(
                        "floor",
                        f"one run (1 thread) as a multiple of a bare commit, {label}",
                        [ms / statistics.median(bare) for ms in per_run],
                        "x",
                    )
            if zeo is None:
                grace = [
                    run_apscheduler_alone(directory, args.jobs, 1, 1)[1]
                    for _ in range(args.repeat)
                ]
                emit(
                    "throughput",
                    f"runs dropped with the peer's default misfire_grace_time=1 "
                    f"({args.jobs} jobs, 1 thread; ours: misfire policy run once)",
                    [0],
                    "runs",
                    grace,
                )
            db.close()
        finally:
            if zeo is not None:
                zeo.stop()


if __name__ == "__main__":
    main()
