"""Idle: ZODB transactions an idle worker writes per minute.

Zope in this process on a FileStorage, 100 crons due once a year, one
dispatcher with its default settings (poll 5 s, heartbeat 60 s); after its
start-up (2 s: restart synchronisation, first heartbeat), every transaction
written in the next 62 s is counted.

    .venv/bin/python bench/bench_idle.py [--seconds 62]
"""

from common import create_site
from common import emit
from common import register_noop
from common import start_dispatcher
from common import start_zope

import argparse
import tempfile
import time
import transaction


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=62)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        app = start_zope(directory)
        site = create_site(app)
        register_noop()
        from collective.cron.crontab import Cron
        from collective.cron.crontab import Crontab

        crontab = Crontab()
        for number in range(100):
            Cron(
                name="bench-noop",
                periodicity="@yearly",
                uid=f"i{number}",
                crontab=crontab,
            )
        crontab.save()
        transaction.commit()
        storage = site._p_jar.db().storage
        dispatcher = start_dispatcher(site._p_jar.db())
        time.sleep(2)  # start-up: the restart synchronisation and a first heartbeat
        before = storage.lastTransaction()
        polls = dispatcher.polls
        time.sleep(args.seconds)  # the measurement window: real time
        polls = dispatcher.polls - polls
        dispatcher.stop()
        written = sum(1 for record in storage.iterator() if record.tid > before)
        per_minute = written * 60 / args.seconds
        emit(
            "idle",
            f"transactions per minute, idle worker ({polls} polls)",
            [per_minute],
            "txn/min",
        )
        site._p_jar.db().close()


if __name__ == "__main__":
    main()
