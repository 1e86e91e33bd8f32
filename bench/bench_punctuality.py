"""Punctuality: how late runs start. 200 crons due every 2 s for 20 s, and one
cron alone due every second; ours beside APScheduler 3 + SQLite, same jobs.

Ours: Zope in this process on a FileStorage, one worker (dispatcher) with 4
threads; lateness = a run's start - its due time (from FinishedCronJobEvent,
counted when the run's transaction commits).
Peers: BackgroundScheduler, SQLAlchemyJobStore on SQLite, ThreadPoolExecutor(4),
CronTrigger(second="*/2"); lateness = the job's start - scheduled_run_time.
Then the same with APScheduler's MemoryJobStore (nothing durable: the floor a
scheduler in one process can reach).

    .venv/bin/python bench/bench_punctuality.py [--seconds 20] [--repeat 2]
"""

from common import create_site
from common import emit
from common import percentile
from common import register_noop
from common import start_dispatcher
from common import start_zope
from datetime import datetime

import argparse
import statistics
import tempfile
import threading
import time
import transaction


def ours(site, crons, periodicity, seconds, threads=4):
    from collective.cron.crontab import Cron
    from collective.cron.crontab import Crontab
    from collective.cron.interfaces import IFinishedCronJobEvent
    from zope.component import getGlobalSiteManager

    late = []
    lock = threading.Lock()

    def finished(event):
        due = datetime.fromisoformat(event.log.details["due"]).replace(
            tzinfo=event.log.date.tzinfo
        )
        lateness = (event.log.date - due).total_seconds() * 1000

        def committed(success):
            if success:  # a run counts once it is saved
                with lock:
                    late.append(lateness)

        transaction.get().addAfterCommitHook(committed)

    transaction.begin()
    crontab = Crontab()
    for number in range(crons):
        Cron(
            name="bench-noop",
            periodicity=periodicity,
            uid=f"p{number}",
            crontab=crontab,
        )
    crontab.save()
    transaction.commit()
    gsm = getGlobalSiteManager()
    gsm.registerHandler(finished, (IFinishedCronJobEvent,))
    dispatcher = start_dispatcher(
        site._p_jar.db(),
        threads=threads,
        poll_interval=1,
        heartbeat=60,
        misfire_grace=600,
    )
    time.sleep(seconds)  # the measurement window: real time
    dispatcher.stop()
    gsm.unregisterHandler(finished, (IFinishedCronJobEvent,))
    transaction.begin()
    Crontab().save()  # empty the crontab (and the queue) for the next scenario
    transaction.commit()
    return late


def peer(directory, crons, second, seconds, threads=4, store="sqlite"):
    from apscheduler.events import EVENT_JOB_EXECUTED
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.memory import MemoryJobStore
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    late, lock = [], STARTS_LOCK
    starts = STARTS
    starts.clear()

    def listener(event):
        with lock:
            started = starts.pop(
                (event.job_id, event.scheduled_run_time.timestamp()), None
            )
            if started is not None:
                late.append((started - event.scheduled_run_time.timestamp()) * 1000)

    if store == "memory":
        jobstore = MemoryJobStore()
    else:
        url = f"sqlite:///{directory}/aps-{time.time_ns()}.sqlite"
        jobstore = SQLAlchemyJobStore(url=url)
    scheduler = BackgroundScheduler(
        jobstores={"default": jobstore},
        executors={"default": ThreadPoolExecutor(threads)},
        job_defaults={"misfire_grace_time": None, "coalesce": False},
        timezone="UTC",
    )
    scheduler.add_listener(listener, EVENT_JOB_EXECUTED)
    for number in range(crons):
        scheduler.add_job(
            record, "cron", second=second, id=f"p{number}", args=[f"p{number}"]
        )
    scheduler.start()
    time.sleep(seconds)
    scheduler.shutdown(wait=True)
    return late


# The peer's jobs are pickled into SQLite: they reach these through the module.
STARTS = {}
STARTS_LOCK = threading.Lock()


def record(job_id):
    starts, lock = STARTS, STARTS_LOCK
    now = time.time()
    # The scheduled time is the last even (or whole) second: jobs due every
    # 1 or 2 s; the listener matches it with the event's scheduled_run_time.
    with lock:
        for step in (2, 1):
            scheduled = float(int(now) - int(now) % step)
            starts[(job_id, scheduled)] = now


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        app = start_zope(directory)
        site = create_site(app)
        register_noop()
        p50s, p99s, maxes, runs = [], [], [], []
        peer50, peer99, peermax, peer_runs = [], [], [], []
        memory50, memory99 = [], []
        for _ in range(args.repeat):
            late = ours(site, 200, "*/2 * * * * *", args.seconds)
            p50s.append(percentile(late, 0.5))
            p99s.append(percentile(late, 0.99))
            maxes.append(max(late))
            runs.append(len(late))
            late = peer(directory, 200, "*/2", args.seconds)
            peer50.append(percentile(late, 0.5))
            peer99.append(percentile(late, 0.99))
            peermax.append(max(late))
            peer_runs.append(len(late))
            late = peer(directory, 200, "*/2", args.seconds, store="memory")
            memory50.append(percentile(late, 0.5))
            memory99.append(percentile(late, 0.99))
        note = "peer: APScheduler 3 + SQLite"
        emit(
            "punctuality", "200 crons every 2 s: lateness p50", p50s, "ms", peer50, note
        )
        emit(
            "punctuality", "200 crons every 2 s: lateness p99", p99s, "ms", peer99, note
        )
        memory = "peer: APScheduler 3, in-memory job store"
        emit(
            "punctuality",
            "200 crons every 2 s: lateness p50 (peer: APScheduler in memory)",
            p50s,
            "ms",
            memory50,
            memory,
        )
        emit(
            "punctuality",
            "200 crons every 2 s: lateness p99 (peer: APScheduler in memory)",
            p99s,
            "ms",
            memory99,
            memory,
        )
        emit(
            "punctuality",
            "200 crons every 2 s: lateness max",
            maxes,
            "ms",
            peermax,
            note,
        )
        emit(
            "punctuality",
            f"200 crons every 2 s: runs in {args.seconds} s",
            runs,
            "runs",
            peer_runs,
        )
        single = [
            statistics.median(ours(site, 1, "* * * * * *", 10))
            for _ in range(args.repeat)
        ]
        emit("punctuality", "one cron alone every second: lateness p50", single, "ms")
        site._p_jar.db().close()


if __name__ == "__main__":
    main()
