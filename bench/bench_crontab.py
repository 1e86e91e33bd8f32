"""How long Crontab.load() and save() take for 10, 1,000 and 10,000 crons.

A real plone.registry Registry in a FileStorage (temporary directory), registered
as the IRegistry utility, holds the crontab records; saves are committed.

    .venv/bin/python bench/bench_crontab.py [--repeat 5]

Prints medians with min/max over the repeats, in milliseconds.
"""

from collective.cron.crontab import Cron
from collective.cron.crontab import Crontab
from collective.cron.interfaces import IRegistryCrontab
from collective.cron.registry import CrontabRegistryManager
from plone.registry import Registry
from plone.registry.interfaces import IRegistry
from zope.component import getGlobalSiteManager
from zope.configuration import xmlconfig

import argparse
import os
import plone.registry
import statistics
import tempfile
import time
import transaction
import ZODB
import ZODB.FileStorage
import zope.component


SIZES = (10, 1_000, 10_000)


def build_database(directory, size):
    storage = ZODB.FileStorage.FileStorage(os.path.join(directory, f"{size}.fs"))
    db = ZODB.DB(storage, cache_size=50_000)
    connection = db.open()
    registry = Registry()
    registry.registerInterface(IRegistryCrontab)
    connection.root()["registry"] = registry
    transaction.commit()
    getGlobalSiteManager().registerUtility(registry, IRegistry)
    crontab = Crontab()
    for number in range(size):
        Cron(
            name=f"job-{number}",
            periodicity="*/5 * * * *",
            environ={"number": number, "target": "/plone/news"},
            crontab=crontab,
        )
    crontab.save()
    transaction.commit()
    return db, connection, registry


def timed(function):
    start = time.perf_counter()
    function()
    return (time.perf_counter() - start) * 1000


def measure(size, repeat, directory):
    db, connection, registry = build_database(directory, size)
    loads, edits, rewrites = [], [], []
    try:
        for turn in range(repeat):
            loads.append(timed(Crontab.load))
            crontab = Crontab.load()
            cron = next(iter(crontab))

            def save_one_edit(crontab=crontab, cron=cron, turn=turn):
                cron.environ = {"turn": turn}
                crontab.save()
                transaction.commit()

            edits.append(timed(save_one_edit))

            def save_whole(crontab=crontab):
                fresh = Crontab(crons=[Cron.load(c.dump()) for c in crontab])
                fresh.save()
                transaction.commit()

            rewrites.append(timed(save_whole))
    finally:
        getGlobalSiteManager().unregisterUtility(registry, IRegistry)
        connection.close()
        db.close()
    return loads, edits, rewrites


def summary(values):
    return f"{statistics.median(values):9.1f} ({min(values):.1f}-{max(values):.1f})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    # plone.registry's persistent field adapters (and the directives they need).
    context = xmlconfig.file("meta.zcml", zope.component)
    xmlconfig.file("configure.zcml", plone.registry, context=context)
    # The crontab's storage adapter, as collective.cron's ZCML registers it.
    getGlobalSiteManager().registerAdapter(CrontabRegistryManager)
    print("Crontab load/save, ms: median (min-max) over", args.repeat, "runs")
    columns = ("load()", "edit 1 + save + commit", "replace all + commit")
    print(f"{'crons':>7} | " + " | ".join(f"{title:>22}" for title in columns))
    with tempfile.TemporaryDirectory() as directory:
        for size in SIZES:
            loads, edits, rewrites = measure(size, args.repeat, directory)
            cells = (summary(values) for values in (loads, edits, rewrites))
            print(f"{size:>7} | " + " | ".join(f"{cell:>22}" for cell in cells))


if __name__ == "__main__":
    main()
