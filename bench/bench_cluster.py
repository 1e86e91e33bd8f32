"""Cluster: a ZEO server (or PostgreSQL for RelStorage) and 1, 2, then 3
worker processes (1 thread each) running 100 ms jobs; runs per second and an
exactly-once check.

Each round queues a "Run now" job for each of N fresh crons (a zconsole
script), then waits until every cron has a log. Duplicates: logs beyond one
per cron; misses: crons without a log.

    .venv/bin/python bench/bench_cluster.py [--crons 150] [--storage relstorage]
"""

from common import REPO
from common import emit
from contextlib import ExitStack

import argparse
import sys
import tempfile
import time


sys.path.insert(0, str(REPO))

QUEUE_SCRIPT = """
import os, transaction
from collective.cron.crontab import Crontab
from collective.cron.interfaces import ICronManager
from zope.component import getMultiAdapter
from zope.component.hooks import setSite
site = app["Plone"]
setSite(site)
prefix = os.environ["BENCH_PREFIX"]
crontab = Crontab.load()
for cron in crontab.crons.values():
    if cron.uid.startswith(prefix):
        getMultiAdapter((site, cron), ICronManager).register_job(force=True)
transaction.commit()
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crons", type=int, default=150)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--storage", choices=["zeo", "relstorage"], default="zeo")
    args = parser.parse_args()
    from tests.support.instances import Instance
    from tests.support.instances import ZEOServer
    from tests.support.postgres import PostgreSQLServer
    from tests.support.postgres import unavailable

    settings = {
        "worker": "on",
        "threads": "1",
        "poll-interval": "0.2",
        "heartbeat": "1",
    }
    if args.storage == "relstorage" and unavailable():
        sys.exit(f"cannot bench RelStorage: {unavailable()}")
    label = {"zeo": "ZEO", "relstorage": "RelStorage"}[args.storage]
    with tempfile.TemporaryDirectory() as directory, ExitStack() as servers:
        script = f"{directory}/queue.py"
        with open(script, "w") as file:
            file.write(QUEUE_SCRIPT)
        if args.storage == "zeo":
            zeo = ZEOServer(f"{directory}/zeo").start()
            servers.callback(zeo.stop)
            storage = {"zeo": zeo}
        else:
            postgresql = PostgreSQLServer(directory)
            servers.callback(postgresql.stop)
            postgresql.start()
            storage = {"relstorage": postgresql.create_database("plone")}
        workers = []
        rates = {}
        try:
            for count in range(1, args.workers + 1):
                worker = Instance(
                    f"{directory}/w{count}", product_config=settings, **storage
                )
                if count == 1:
                    worker.create_site()
                worker.start()
                workers.append(worker)
                prefix = f"r{count}-"
                uids = [f"{prefix}{n}" for n in range(args.crons)]
                workers[0].set_crons(
                    [
                        {
                            "uid": uid,
                            "name": "collective.cron.demo",
                            "periodicity": "@yearly",
                            "activated": True,
                            "environ": {"sleep": 0.1},
                        }
                        for uid in uids
                    ]
                )
                workers[0].zconsole(script, {"BENCH_PREFIX": prefix})
                began = time.monotonic()
                deadline = began + 600
                while time.monotonic() < deadline:
                    listing = workers[0].request("GET", f"@crons?b_size={args.crons}")
                    done = sum(item["last"] is not None for item in listing["items"])
                    if done >= len(uids):
                        break
                    time.sleep(0.2)
                elapsed = time.monotonic() - began
                logs = [len(workers[-1].cron(uid)["logs"]) for uid in uids]
                rates[count] = len(uids) / elapsed
                emit(
                    "cluster",
                    f"100 ms jobs, {count} {label} worker(s): runs/s",
                    [rates[count]],
                    "runs/s",
                )
                emit(
                    "cluster",
                    f"{count} {label} worker(s): duplicates / misses",
                    [sum(n - 1 for n in logs if n > 1) + sum(n == 0 for n in logs)],
                    "runs",
                    note=f"duplicates {sum(n - 1 for n in logs if n > 1)}, "
                    f"misses {sum(n == 0 for n in logs)}",
                )
            emit(
                "cluster",
                f"{label}: {args.workers} workers / 1 worker",
                [rates[args.workers] / rates[1]],
                "x",
            )
        finally:
            for worker in workers:
                worker.stop()


if __name__ == "__main__":
    main()
