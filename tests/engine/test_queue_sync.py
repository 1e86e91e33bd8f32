"""The queue follows the crontab: the 2.x API scenario with jobs (replaces zc.async)."""

from collective.cron import crontab as mcrontab
from collective.cron.interfaces import ICronManager
from collective.cron.interfaces import ICrontabManager
from collective.cron.interfaces import IQueue
from collective.cron.registry import RECORD_CRONTAB
from collective.cron.testing import run_due_jobs
from collective.cron.testing import set_now
from datetime import UTC
from datetime import datetime
from plone import api
from plone.app.testing import SITE_OWNER_NAME
from tests.support.versions import add_plone_site
from zope.component import getMultiAdapter

import gc
import json
import transaction


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def test_api_scenario_with_queue(portal, recording, get_jobs):
    set_now(datetime(2008, 1, 1, 1, 3))
    crt = mcrontab.Crontab()
    cron = mcrontab.Cron(
        name="mycronjob",
        activated=True,
        periodicity="*/1 * * * *",
        environ={"foo": "bar"},
        crontab=crt,
    )
    crt.save()
    [job] = get_jobs()
    assert (job.cron_uid, job.begin_after, job.status) == (
        cron.uid,
        utc(2008, 1, 1, 1, 4),
        "pending",
    )

    # Toggle the cron...
    cron.activated = False
    crt.save()
    assert get_jobs() == []
    cron.activated = True
    crt.save()
    assert len(get_jobs()) == 1
    # ...and the whole crontab.
    crt.activated = False
    crt.save()
    assert get_jobs() == []
    crt.activated = True
    crt.save()
    assert len(get_jobs()) == 1

    # Rename and re-time: the old job is gone, the new one is due.
    assert get_jobs()[0].begin_after == utc(2008, 1, 1, 1, 4)
    cron.name = "myfoojob"
    cron.periodicity = "*/10 * * * *"
    crt.save()
    [job] = get_jobs()
    assert job.begin_after == utc(2008, 1, 1, 1, 10)
    assert job.signature == ("myfoojob", "*/10 * * * *", None)

    # Run now.
    set_now(datetime(2008, 1, 1, 2, 4))
    manager = getMultiAdapter((portal, cron), ICronManager)
    assert manager.register_job(force=True) is True
    assert run_due_jobs(portal) == [(1, [], cron.uid, ("", "plone"))]
    assert len(recording.calls) == 1
    assert recording.calls[0].cron.environ == {"foo": "bar"}
    # Rescheduled, with the log recorded.
    [job] = get_jobs()
    assert job.begin_after == utc(2008, 1, 1, 2, 10)
    assert job.forced is False
    ncron = mcrontab.Crontab.load().by_uid(cron.uid)
    assert repr(ncron.logs) == "[log: 2008-01-01 02:04:00/OK]"
    assert repr(ncron).endswith("[ON:2008-01-01 02:10:00] (1 logs) {'foo': 'bar'}")

    # View and delete the log.
    ncron.logs.pop(0)
    ncron.save()
    assert mcrontab.Crontab.load().by_uid(cron.uid).logs == []

    # Delete the cron.
    del crt.crons[cron.uid]
    crt.save()
    assert get_jobs() == []


def test_one_pending_job_per_cron_ordered_by_due_time(portal):
    set_now(datetime(2026, 1, 1, 0, 0))
    crt = mcrontab.Crontab()
    hourly = mcrontab.Cron(name="a", periodicity="@hourly", crontab=crt)
    minutely = mcrontab.Cron(name="b", periodicity="* * * * *", crontab=crt)
    daily = mcrontab.Cron(name="c", periodicity="@daily", crontab=crt)
    crt.save()
    crt.save()  # saving again adds nothing
    queue = IQueue(portal)
    assert [job.cron_uid for job in queue.jobs] == [minutely.uid, hourly.uid, daily.uid]
    assert queue.is_job_present(hourly.uid)
    assert not queue.is_job_running(hourly.uid)
    assert queue.next_due() == utc(2026, 1, 1, 0, 1)


def test_due_job_survives_an_unrelated_save(portal, recording):
    """A save made just as a job falls due must not drop that run."""
    set_now(datetime(2026, 1, 1, 7, 59))
    crt = mcrontab.Crontab()
    cron = mcrontab.Cron(name="mycronjob", periodicity="0 8 * * *", crontab=crt)
    crt.save()
    set_now(datetime(2026, 1, 1, 8, 0, 1))
    cron.environ = {"edited": True}
    crt.save()
    assert [r[2] for r in run_due_jobs(portal)] == [cron.uid]


def test_finished_jobs_do_not_pile_up(portal, recording):
    set_now(datetime(2026, 1, 1))
    crt = mcrontab.Crontab()
    cron = mcrontab.Cron(name="mycronjob", periodicity="* * * * *", crontab=crt)
    crt.save()
    queue = IQueue(portal)
    for minute in range(1, 31):
        set_now(datetime(2026, 1, 1, 0, minute))
        assert len(run_due_jobs(portal)) == 1
    assert len(recording.calls) == 30
    assert len(queue) == 1
    assert queue.running_jobs() == []
    assert len(mcrontab.Crontab.load().by_uid(cron.uid).logs) == 5  # logs_limit


def test_registry_edit_synchronises(portal):
    """Records changed without the API (registry.xml, @registry) resync the queue."""
    set_now(datetime(2026, 1, 1))
    cron = mcrontab.Cron(uid="direct", name="x", periodicity="@daily")
    api.portal.set_registry_record(RECORD_CRONTAB, [json.dumps(cron.dump())])
    assert [job.cron_uid for job in IQueue(portal).jobs] == ["direct"]
    api.portal.set_registry_record(RECORD_CRONTAB, [])
    assert IQueue(portal).jobs == []


def test_synchronisation_drops_orphans_and_restores_missing(portal):
    from collective.cron.interfaces import ICrontabManager

    set_now(datetime(2026, 1, 1))
    crt = mcrontab.Crontab()
    cron = mcrontab.Cron(name="a", periodicity="@hourly", crontab=crt)
    crt.save()
    queue = IQueue(portal)
    queue.remove(cron.uid)
    queue.schedule("ghost", utc(2026, 1, 1, 5))
    getMultiAdapter((portal, mcrontab.Crontab.load()), ICrontabManager).synchronize()
    assert [job.cron_uid for job in queue.jobs] == [cron.uid]


def test_two_sites_keep_separate_queues(app, portal, recording):
    from zope.component.hooks import setSite

    set_now(datetime(2026, 1, 1))
    other = add_plone_site(app, "other", extension_ids=["collective.cron:default"])
    try:
        setSite(other)
        crt = mcrontab.Crontab()
        # The test user lives in the first site only: run as the Zope admin.
        other_cron = mcrontab.Cron(
            name="myfoojob", periodicity="* * * * *", user=SITE_OWNER_NAME, crontab=crt
        )
        crt.save()
        setSite(portal)
        crt = mcrontab.Crontab()
        cron = mcrontab.Cron(name="mycronjob", periodicity="*/5 * * * *", crontab=crt)
        crt.save()
        assert [j.cron_uid for j in IQueue(portal).jobs] == [cron.uid]
        assert [j.cron_uid for j in IQueue(other).jobs] == [other_cron.uid]

        set_now(datetime(2026, 1, 1, 0, 1))
        assert run_due_jobs(portal) == []
        assert run_due_jobs(other) == [(1, [], other_cron.uid, ("", "other"))]
        setSite(portal)
        assert mcrontab.Crontab.load().by_uid(cron.uid).logs == []
    finally:
        setSite(portal)
        app.manage_delObjects(["other"])


def test_jobs_are_durable(tmp_path):
    """Queued jobs survive closing and reopening a FileStorage, in due order."""
    from collective.cron.queue import Queue
    from persistent.mapping import PersistentMapping
    from zope.annotation.interfaces import IAnnotations
    from zope.interface import alsoProvides

    import ZODB
    import ZODB.FileStorage

    path = str(tmp_path / "Data.fs")
    db = ZODB.DB(ZODB.FileStorage.FileStorage(path))
    with db.transaction() as connection:
        # Stands in for a site: annotations are where the queue lives.
        annotations = connection.root()["site"] = PersistentMapping()
        alsoProvides(annotations, IAnnotations)
        Queue(annotations).schedule("late", utc(2026, 1, 1, 9))
        Queue(annotations).schedule("early", utc(2026, 1, 1, 7))
    db.close()
    transaction.abort()

    db = ZODB.DB(ZODB.FileStorage.FileStorage(path))
    try:
        with db.transaction() as connection:
            queue = Queue(connection.root()["site"])
            assert [job.cron_uid for job in queue.jobs] == ["early", "late"]
            assert queue.job("late").begin_after == utc(2026, 1, 1, 9)
            assert queue.next_due(utc(2026, 1, 1)) == utc(2026, 1, 1, 7)
    finally:
        db.close()


def test_uninstall_drops_jobs_and_history(portal, installer, recording):
    from collective.cron.history import ANNOTATION_KEY as HISTORY_KEY
    from collective.cron.queue import ANNOTATION_KEY as QUEUE_KEY
    from zope.annotation.interfaces import IAnnotations

    set_now(datetime(2026, 1, 1))
    crt = mcrontab.Crontab()
    cron = mcrontab.Cron(name="mycronjob", periodicity="* * * * *", crontab=crt)
    crt.save()
    set_now(datetime(2026, 1, 1, 0, 1))
    run_due_jobs(portal)
    annotations = IAnnotations(portal)
    assert QUEUE_KEY in annotations and HISTORY_KEY in annotations
    installer.uninstall_product("collective.cron")
    assert QUEUE_KEY not in annotations and HISTORY_KEY not in annotations
    assert not IQueue(portal).is_job_present(cron.uid)


def test_profile_reapplied_queues_existing_crons(portal, setup_tool):
    set_now(datetime(2026, 1, 1))
    cron = mcrontab.Cron(uid="kept", name="x", periodicity="@daily")
    api.portal.set_registry_record(RECORD_CRONTAB, [json.dumps(cron.dump())])
    IQueue(portal).clear()
    setup_tool.runAllImportStepsFromProfile("profile-collective.cron:default")
    assert [job.cron_uid for job in IQueue(portal).jobs] == ["kept"]


def test_uninstall_unmarks_the_site(portal, installer):
    from collective.cron.marker import marked_sites

    assert marked_sites(portal) == ["/plone"]
    installer.uninstall_product("collective.cron")
    assert marked_sites(portal) == []
    installer.install_product("collective.cron")
    assert marked_sites(portal) == ["/plone"]


def test_crons_of_one_schedule_in_other_zones_get_their_own_times(portal):
    # A full synchronisation computes a schedule's next time once per time
    # zone: 08:00 in Paris, in New York and in the site's zone (UTC) differ.
    set_now(datetime(2026, 6, 1, 12, 0))
    crontab = mcrontab.Crontab()
    for uid, zone in (("paris", "Europe/Paris"), ("ny", "America/New_York")):
        mcrontab.Cron(
            uid=uid, name=uid, periodicity="0 8 * * *", timezone=zone, crontab=crontab
        )
    mcrontab.Cron(uid="site", name="site", periodicity="0 8 * * *", crontab=crontab)
    mcrontab.Cron(uid="other", name="other", periodicity="30 8 * * *", crontab=crontab)
    crontab.save()
    queue = IQueue(portal)
    queue.clear()
    getMultiAdapter((portal, mcrontab.Crontab.load()), ICrontabManager).synchronize()
    due = {job.cron_uid: job.begin_after for job in queue.jobs}
    assert due == {
        "paris": utc(2026, 6, 2, 6, 0),
        "ny": utc(2026, 6, 2, 12, 0),
        "site": utc(2026, 6, 2, 8, 0),
        "other": utc(2026, 6, 2, 8, 30),
    }


def test_a_large_crontab_is_loaded_and_synchronised_whole(portal):
    # 1,500 crons: loading and synchronising them runs as bulk work (the
    # collector leaves older objects alone meanwhile, until the transaction
    # that commits the new jobs ends); every cron gets its job, and the
    # collector is handed everything back.
    set_now(datetime(2030, 1, 1))
    crontab = mcrontab.Crontab()
    for number in range(1500):
        mcrontab.Cron(
            name=f"many-{number}",
            periodicity=f"{number % 60} * * * *",
            crontab=crontab,
        )
    crontab.save()
    loaded = mcrontab.Crontab.load()
    assert list(loaded.crons) == list(crontab.crons)
    queue = IQueue(portal)
    queue.clear()
    getMultiAdapter((portal, loaded), ICrontabManager).synchronize()
    jobs = {job.cron_uid: job.begin_after for job in queue.jobs}
    assert jobs == {
        uid: cron.next_after(datetime(2030, 1, 1, tzinfo=UTC))
        for uid, cron in loaded.crons.items()
    }
    assert gc.get_freeze_count() > 0
    transaction.abort()
    assert gc.get_freeze_count() == 0
