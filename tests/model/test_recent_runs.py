"""The index of each cron's newest runs (collective.cron.recent): @@cron-runs
lists what a merge of every cron's logs would, reads only the history records
it needs, and a run's write to the index never conflicts with another's."""

from collective.cron.browser.runs import CronRuns
from collective.cron.crontab import Cron
from collective.cron.crontab import Crontab
from collective.cron.crontab import Log
from collective.cron.history import History
from collective.cron.recent import ANNOTATION_KEY
from collective.cron.recent import RunBounds
from collective.cron.recent import merge_bounds
from collective.cron.status import Status
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from tests.support.clients import Client
from ZODB.POSException import ConflictError
from zope.annotation.interfaces import IAnnotations
from zope.component.hooks import setSite
from zope.publisher.browser import TestRequest

import itertools
import pytest
import random
import transaction


START = datetime(2026, 3, 1, tzinfo=UTC)
STATUSES = list(Status)


def fill(site, crons, logs_each, seed=7):
    """`crons` crons whose logs have distinct random dates and statuses;
    returns every (date, status, uid) written."""
    setSite(site)
    rng = random.Random(seed)
    minutes = rng.sample(range(crons * logs_each * 10), crons * logs_each)
    crontab = Crontab.load()
    for number in range(crons):
        Cron(
            uid=f"c{number:04d}",
            name=f"c{number}",
            periodicity="@daily",
            crontab=crontab,
        )
    crontab.save()
    written = []
    history = History(site)
    for number in range(crons):
        uid = f"c{number:04d}"
        mine = sorted(minutes[number * logs_each : (number + 1) * logs_each])
        logs = [
            Log(date=START + timedelta(minutes=m), status=rng.choice(STATUSES))
            for m in mine
        ]
        logs.reverse()  # newest first
        history.set(uid, logs)
        written += [(log.date, log.status, uid) for log in logs]
    return written


def fill_committed(db, crons, logs_each):
    """fill(), committed through a connection of its own."""
    setup = Client(db)
    try:
        with setup:
            fill(setup.portal, crons=crons, logs_each=logs_each)
        setup.tm.commit()
    finally:
        setup.close()


def listed(site, status="", count=None):
    """What @@cron-runs lists, as (date, status, uid), newest first."""
    view = CronRuns(site, TestRequest())
    view.status = status
    runs = view._runs() if count is None else itertools.islice(view._runs(), count)
    return [(log.date, log.status, uid) for log, uid in runs]


def expected(written, status=""):
    wanted = Status[status.upper()] if status else None
    return sorted(
        (run for run in written if wanted is None or run[1] == wanted),
        reverse=True,
    )


@pytest.mark.parametrize("status", ["", "ok", "failure", "warn", "notrun"])
def test_listing_is_every_cron_logs_merged_newest_first(portal, status):
    written = fill(portal, crons=40, logs_each=6)
    assert listed(portal, status) == expected(written, status)


def test_deleted_and_trimmed_logs_leave_the_listing_right(portal):
    written = fill(portal, crons=20, logs_each=5)
    history = History(portal)
    newest_date, _status, newest_uid = max(written)
    history.delete(newest_uid, [0, 1])  # the site's newest run among them
    gone = {
        (run[0], run[2])
        for run in expected([run for run in written if run[2] == newest_uid])[:2]
    }
    history.add("c0003", Log(date=START + timedelta(days=90), status=Status.OK), 5)
    # c0003 kept its limit of 5: its oldest log fell off.
    kept = history.stored("c0003")
    remaining = [
        run for run in written if (run[0], run[2]) not in gone and run[2] != "c0003"
    ]
    remaining += [
        (Log.load(item).date, Log.load(item).status, "c0003") for item in kept
    ]
    for status in ("", "ok", "failure"):
        assert listed(portal, status) == expected(remaining, status)
    assert newest_date not in [run[0] for run in listed(portal)]
    assert len(kept) == 5


def test_a_site_without_the_index_lists_the_same_and_writes_nothing(portal):
    written = fill(portal, crons=15, logs_each=4)
    del IAnnotations(portal)[ANNOTATION_KEY]
    transaction.savepoint()
    assert not portal._p_jar._registered_objects
    assert listed(portal) == expected(written)
    assert listed(portal, "warn") == expected(written, "warn")
    assert ANNOTATION_KEY not in IAnnotations(portal)
    assert not portal._p_jar._registered_objects  # a GET writes nothing


def test_first_page_reads_the_records_it_shows_only(functional):
    db = functional["zodbDB"]
    fill_committed(db, crons=300, logs_each=3)
    reader = Client(db)
    try:
        reader.connection.cacheMinimize()
        with reader:
            page = listed(reader.portal, count=51)
            records = History(reader.portal)._storage()
            read = [
                uid for uid, record in records.items() if record._p_changed is not None
            ]
        assert len(page) == 51
        assert len({uid for _date, _status, uid in page}) <= len(read)
        # The crons shown, and the few whose bound joined the merge: not 300.
        assert len(read) <= 60
    finally:
        reader.close()
        setSite(None)


def test_runs_of_two_crons_and_a_flag_at_once_all_commit(functional):
    """Three transactions raise bounds in one bucket at once: two crons'
    runs, and an overdue flag on one of them logged as the same status at
    another second. All commit; the higher bound wins."""
    db = functional["zodbDB"]
    fill_committed(db, crons=4, logs_each=1)
    clients = [Client(db) for _ in range(3)]
    try:
        writes = [
            ("c0001", START + timedelta(days=9, seconds=5)),
            ("c0002", START + timedelta(days=9, seconds=6)),
            ("c0001", START + timedelta(days=9, seconds=8)),
        ]
        for client, (uid, date) in zip(clients, writes, strict=True):
            with client:
                History(client.portal).add(uid, Log(date=date, status=Status.WARN), 5)
        for client in clients:
            client.tm.commit()  # no ConflictError
        reader = Client(db)
        with reader:
            runs = listed(reader.portal, "warn", count=3)
        reader.close()
        assert [(date, uid) for date, _status, uid in runs] == [
            (writes[2][1], "c0001"),
            (writes[1][1], "c0002"),
            (writes[0][1], "c0001"),
        ]
    finally:
        for client in clients:
            client.close()
        setSite(None)


def test_bounds_merge_rules():
    old = (("a", 1, "b", 2, "c", 3),)
    ours = (("a", 5, "b", 2, "c", 3),)
    theirs = (("a", 4, "b", 9),)  # c deleted: the cron is gone
    assert merge_bounds(old, ours, theirs) == (("a", 5, "b", 9),)
    with pytest.raises(ConflictError):
        merge_bounds(old, (("a", 1),), ((),))  # the bucket would be empty
    assert merge_bounds(None, (("a", 1),), (("b", 2),)) == (("a", 1, "b", 2),)


def test_a_tree_grown_to_many_buckets_keeps_its_bucket_type():
    tree = RunBounds()
    for number in range(100):
        tree[f"u{number:03d}"] = number
    assert type(tree._firstbucket).__name__ == "RunBoundsBucket"
    assert tree["u042"] == 42


def test_upgrade_to_1005_builds_the_index(portal, setup_tool):
    written = fill(portal, crons=12, logs_each=3)
    del IAnnotations(portal)[ANNOTATION_KEY]
    setup_tool.setLastVersionForProfile("collective.cron:default", "1004")
    setup_tool.upgradeProfile("collective.cron:default")
    assert setup_tool.getLastVersionForProfile("collective.cron:default") >= ("1005",)
    assert ANNOTATION_KEY in IAnnotations(portal)
    assert listed(portal, "ok") == expected(written, "ok")


def test_uninstall_drops_the_index(portal, installer, package_name):
    fill(portal, crons=2, logs_each=1)
    assert ANNOTATION_KEY in IAnnotations(portal)
    installer.uninstall_product(package_name)
    assert ANNOTATION_KEY not in IAnnotations(portal)
    installer.install_product(package_name)
