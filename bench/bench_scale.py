"""Scale: 10, 1,000, 10,000 and 100,000 crons in a real Plone site.

Zope in this process on a FileStorage. For each size: Crontab.load() of all
crons and of one; saving one edited cron (commit included) and loading one
cron right after; a full synchronisation of an empty queue (commit
included); bytes committed and CPU time per run of a no-op cron due every
second (claim + run, as a worker does); a dispatcher's look at the queue
(what is due, when is the next) right after such a run, reading the index
whole and through the view a worker's dispatcher keeps from invalidations
(collective.cron.dueview, on a connection of its own); the dashboard's
first page rendered; and, on another connection, the first read after an
edit of Plone's language settings, which Plone reads at the start of every
request (plone.i18n): the registry keeps the crontab's list inline in one
of its buckets, which also holds settings of Plone's, so a request on any
page reads that bucket again after each edit. Each figure is the median of
--repeat turns; the first turn at a size is the first look of the process at
that crontab. The largest size is compared with 10 crons (issue 18 asks for
at most 1.2x; not for the request's first read, which the registry record
costs).

    .venv/bin/python bench/bench_scale.py [--repeat 3] [--sizes 10 1000 10000 100000]

Then, on the largest crontab, the run history views (issue 22): the dashboard
with a strip of the last 10 runs of each cron, and @@cron-runs.
"""

from common import create_site
from common import emit
from common import register_noop
from common import start_zope
from datetime import datetime
from datetime import timedelta

import argparse
import tempfile
import time
import transaction


SIZES = (10, 1_000, 10_000, 100_000)
LOOKS = 20


def timed(function):
    began = time.perf_counter()
    function()
    return (time.perf_counter() - began) * 1000


def fill(size):
    from collective.cron.crontab import Cron
    from collective.cron.crontab import Crontab

    transaction.begin()
    crontab = Crontab()
    for number in range(size):
        Cron(
            name=f"idle-{number}",
            periodicity="0 0 1 1 *",
            environ={"number": number, "target": "/Plone/news"},
            crontab=crontab,
        )
    Cron(uid="noop", name="bench-noop", periodicity="* * * * * *", crontab=crontab)
    crontab.save()
    transaction.commit()


def measure(site, size, repeat):
    from collective.cron.crontab import Crontab
    from collective.cron.interfaces import ICollectiveCronLayer
    from collective.cron.interfaces import ICrontabManager
    from collective.cron.interfaces import IQueue
    from collective.cron.job import claim_and_run
    from collective.cron.testing import set_now
    from zope.component import getMultiAdapter
    from zope.interface import alsoProvides

    results = {
        "load": [],
        "load_one": [],
        "load_one_after_save": [],
        "load_page_after_save": [],
        "save": [],
        "sync": [],
        "render": [],
        "bytes": [],
        "run_cpu": [],
        "look": [],
        "look_view": [],
        "request_start": [],
    }
    start = datetime(2030, 1, 1)
    set_now(start)
    fill(size)
    worker = Worker(site)
    other = OtherConnection(site)
    for turn in range(repeat):
        transaction.begin()
        results["load"].append(timed(Crontab.load))
        results["load_one"].append(timed(lambda: Crontab.load(uids=["noop"])))
        crontab = Crontab.load()
        cron = next(iter(crontab))
        page = list(crontab.crons)[-50:]

        def save_one(crontab=crontab, cron=cron, turn=turn):
            cron.environ = {"turn": turn}
            crontab.save()
            transaction.commit()

        other.request_start()  # read before the edit
        results["save"].append(timed(save_one))
        results["request_start"].append(other.request_start())
        # The first load of one cron after another was saved: what a run
        # pays once after an edit (the stored list is a new one).
        transaction.begin()
        results["load_one_after_save"].append(
            timed(lambda: Crontab.load(uids=["noop"]))
        )
        # A page's crons named (the dashboard's 50, @crons, @@cron-runs, the
        # silence and overdue checks), after the save too.
        results["load_page_after_save"].append(
            timed(lambda page=page: Crontab.load(uids=page, logs=False))
        )
        transaction.abort()

        def full_sync():
            IQueue(site).clear()
            # As the profile import step loads it: settings only.
            crontab = Crontab.load(strict=False, logs=False)
            getMultiAdapter((site, crontab), ICrontabManager).synchronize()
            transaction.commit()

        results["sync"].append(timed(full_sync))

        storage = site._p_jar.db().storage
        queue = IQueue(site)
        runs = 50
        before = storage.getSize()
        cpu = time.process_time()
        for _ in range(runs):
            start += timedelta(seconds=1)
            set_now(start)
            transaction.begin()
            job = queue.pending_job("noop")
            claim_and_run(site, job, "bench", timedelta(minutes=5))
        results["run_cpu"].append((time.process_time() - cpu) * 1000 / runs)
        results["bytes"].append((storage.getSize() - before) / runs)
        # Each look follows a run, as a dispatcher's does. The two kinds in
        # loops of their own: a full look reads every due time, which at
        # 100,000 crons leaves the CPU's caches cold for whatever comes
        # next (a view's look right after one took 1.7 times as long).
        looks, viewed = [], []
        for through_view in (True, False):
            for _ in range(LOOKS):
                start += timedelta(seconds=1)
                set_now(start)
                transaction.begin()
                claim_and_run(site, queue.pending_job("noop"), "bench", timedelta(1))
                transaction.begin()
                if through_view:
                    viewed.append(worker.look(start))
                else:
                    looks.append(timed(lambda now=start, q=queue: q.look(now)))
        results["look"].append(sorted(looks)[len(looks) // 2])
        results["look_view"].append(sorted(viewed)[len(viewed) // 2])
        # Last: rendering surveys the stored texts, which the runs above
        # found changed by save_one (as a worker does after an edit).
        transaction.begin()
        alsoProvides(site.REQUEST, ICollectiveCronLayer)  # as the publisher does
        view = site.restrictedTraverse("@@cron-settings")
        results["render"].append(timed(view))
        transaction.abort()
        start += timedelta(seconds=2)
        set_now(start)
    set_now(None)
    worker.close()
    other.close()
    return results


class OtherConnection:
    """Another connection of the process (a request thread's): what a
    request starts with, timed in a transaction of its own."""

    def __init__(self, site):
        self.manager = transaction.TransactionManager()
        self.connection = site._p_jar.db().open(self.manager)
        path = site.getPhysicalPath()[1:]
        self.site = self.connection.root()["Application"].unrestrictedTraverse(path)

    def request_start(self):
        """Plone's language settings read as plone.i18n reads them at the
        start of each request (ms)."""
        from plone.i18n.interfaces import ILanguageSchema
        from zope.globalrequest import getRequest
        from zope.globalrequest import setRequest

        self.manager.begin()
        registry = self.site.portal_registry
        # A new request's registry cache is empty: this process's long-lived
        # request (the bench's) would answer from its cache instead.
        request = getRequest()
        setRequest(None)
        try:
            began = time.perf_counter()
            settings = registry.forInterface(ILanguageSchema, prefix="plone")
            assert settings.always_show_selector in (True, False)
            elapsed = (time.perf_counter() - began) * 1000
        finally:
            setRequest(request)
            self.manager.abort()
        return elapsed

    def close(self):
        self.manager.abort()
        self.connection.close()


class Worker:
    """A dispatcher's connection: it looks through its DueView."""

    def __init__(self, site):
        from collective.cron.dueview import InvalidationLog

        self.manager = transaction.TransactionManager()
        self.connection = site._p_jar.db().open(transaction_manager=self.manager)
        self.view = InvalidationLog(self.connection).view()
        self.path = "/".join(site.getPhysicalPath())

    def look(self, now):
        """ms of one look, in a new transaction (as the dispatcher's)."""
        from collective.cron.interfaces import IQueue

        self.manager.begin()
        site = self.connection.root()["Application"].unrestrictedTraverse(self.path)
        queue = IQueue(site)
        took = timed(lambda: queue.look(now, self.view))
        self.manager.abort()
        return took

    def close(self):
        self.manager.abort()
        self.connection.close()


def measure_history(site, size, repeat, runs=10):
    """The run history views once every cron has `runs` logs: the dashboard
    (strip of the last runs), @@cron-runs and its failures (issue 22)."""
    from collective.cron.crontab import Crontab
    from collective.cron.crontab import Log
    from collective.cron.history import History
    from collective.cron.status import Status

    transaction.begin()
    history = History(site)
    start = datetime(2030, 1, 1)
    statuses = [Status.OK, Status.OK, Status.WARN, Status.FAILURE]
    for number, uid in enumerate(Crontab.load(logs=False).crons):
        history.set(
            uid,
            [
                Log(
                    date=start - timedelta(minutes=number + 60 * turn),
                    status=statuses[(number + turn) % 4],
                    messages=["done"],
                    duration=0.25,
                )
                for turn in range(runs)
            ],
        )
    transaction.commit()
    results = {"dashboard": [], "runs": [], "failures": []}
    for _ in range(repeat):
        for key, name in (
            ("dashboard", "@@cron-settings"),
            ("runs", "@@cron-runs"),
            ("failures", "@@cron-runs"),
        ):
            transaction.begin()
            site.REQUEST.form.clear()
            if key == "failures":
                site.REQUEST.form["status"] = "failure"
            view = site.restrictedTraverse(name)
            results[key].append(timed(view))
            transaction.abort()
    site.REQUEST.form.clear()
    return results


def ratios(by_size, largest, key):
    """Each turn's figure at the largest size over the same turn's at 10."""
    return [
        big / small
        for big, small in zip(by_size[largest][key], by_size[10][key], strict=True)
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=SIZES, help="numbers of crons"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        app = start_zope(directory)
        site = create_site(app)
        register_noop()
        # Warm up: the first render compiles the page templates.
        from collective.cron.interfaces import ICollectiveCronLayer
        from zope.interface import alsoProvides

        alsoProvides(site.REQUEST, ICollectiveCronLayer)
        site.restrictedTraverse("@@cron-settings")()
        transaction.abort()
        by_size = {}
        for size in args.sizes:
            results = measure(site, size, args.repeat)
            by_size[size] = results
            emit("scale", f"Crontab.load(), {size} crons", results["load"], "ms")
            emit(
                "scale",
                f"save one edited cron + commit, {size} crons",
                results["save"],
                "ms",
            )
            emit(
                "scale",
                f"full synchronisation + commit, {size} crons",
                results["sync"],
                "ms",
            )
            emit(
                "scale",
                f"dashboard first page render, {size} crons",
                results["render"],
                "ms",
            )
            emit(
                "scale",
                f"bytes committed per run, {size} crons",
                results["bytes"],
                "bytes",
            )
            emit(
                "scale",
                f"Crontab.load() of one cron, {size} crons",
                results["load_one"],
                "ms",
            )
            emit(
                "scale",
                f"Crontab.load() of one cron after another was saved, {size} crons",
                results["load_one_after_save"],
                "ms",
            )
            emit(
                "scale",
                f"Crontab.load() of 50 named crons after a save, {size} crons",
                results["load_page_after_save"],
                "ms",
            )
            emit(
                "scale",
                f"a request's first read of Plone's language settings after "
                f"a crontab edit, another connection, {size} crons",
                results["request_start"],
                "ms",
            )
            emit("scale", f"CPU per run, {size} crons", results["run_cpu"], "ms")
            emit(
                "scale",
                f"dispatcher look (due jobs, next due), {size} crons",
                results["look"],
                "ms",
            )
            emit(
                "scale",
                f"dispatcher look through its view, {size} crons",
                results["look_view"],
                "ms",
            )
        largest = max(args.sizes)
        if 10 in by_size and largest != 10:
            for key, what in (
                ("bytes", "bytes per run"),
                ("run_cpu", "CPU per run"),
                ("look", "dispatcher look"),
                ("look_view", "dispatcher look through its view"),
                ("load_one", "Crontab.load() of one cron"),
                ("load_one_after_save", "Crontab.load() of one cron after a save"),
                (
                    "load_page_after_save",
                    "Crontab.load() of 50 named crons after a save",
                ),
            ):
                emit(
                    "scale",
                    f"{what}, {largest:,} crons / 10 crons",
                    ratios(by_size, largest, key),
                    "x",
                )
            # Not one of issue 18's goals: what the 2.x record, inline in a
            # registry bucket that Plone reads at each request, costs.
            emit(
                "scale",
                f"a request's first read of Plone's settings after an edit, "
                f"{largest:,} crons / 10 crons (not a goal: the registry record)",
                ratios(by_size, largest, "request_start"),
                "x",
            )
        # The run history views, on the largest crontab measured (its crons
        # stay in the site): the strip must keep the dashboard in its budget.
        size = max(args.sizes)
        history = measure_history(site, size, args.repeat)
        emit(
            "scale",
            f"dashboard first page render with a 10-run strip per cron, {size} crons",
            history["dashboard"],
            "ms",
        )
        emit(
            "scale",
            f"recent runs (@@cron-runs) first page, {size} crons x 10 runs",
            history["runs"],
            "ms",
        )
        emit(
            "scale",
            f"recent failures (@@cron-runs?status=failure), {size} crons x 10 runs",
            history["failures"],
            "ms",
        )
        site._p_jar.db().close()


if __name__ == "__main__":
    main()
