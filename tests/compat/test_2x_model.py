"""2.x model behaviour kept on today's API: read-only crontabs, the shapes
Crontab.load accepts, CronManager.register_job(begin_after=...)."""

from collective.cron.crontab import Cron
from collective.cron.crontab import Crontab
from collective.cron.crontab import ReadOnlyCrontab
from collective.cron.errors import InvalidCron
from collective.cron.interfaces import ICronManager
from collective.cron.interfaces import IQueue
from collective.cron.registry import RECORD_CRONTAB
from collective.cron.testing import set_now
from datetime import UTC
from datetime import datetime
from plone import api
from zope.component import getMultiAdapter

import json
import pytest


@pytest.fixture
def saved(portal):
    set_now(datetime(2008, 1, 1, 1, 3))
    crontab = Crontab()
    cron = Cron(name="mycronjob", periodicity="*/5 * * * *", crontab=crontab)
    crontab.save()
    return cron


def test_read_only_crontab_refuses_to_save(saved):
    before = api.portal.get_registry_record(RECORD_CRONTAB)
    crontab = Crontab.load(read_only=True)
    assert crontab.read_only and crontab.manager.read_only
    cron = crontab.by_uid(saved.uid)
    cron.periodicity = "@daily"
    with pytest.raises(ReadOnlyCrontab, match=r"read-only .*refused"):
        crontab.save()
    with pytest.raises(ReadOnlyCrontab):
        cron.save()
    assert api.portal.get_registry_record(RECORD_CRONTAB) == before
    # The same crontab, switched back (2.x set the flag on the manager).
    crontab.manager.read_only = False
    crontab.save()
    assert Crontab.load().by_uid(saved.uid).periodicity == "@daily"


def test_load_round_trips_dumps(saved):
    crontab = Crontab.load()
    crontab.activated = False
    for data in (
        crontab.dump(),  # today's shape
        json.dumps(crontab.dump()),
        [cron.dump() for cron in crontab],  # 2.x's dump: a list of crons
        {cron.uid: cron.dump() for cron in crontab},  # 2.x: uid -> cron
    ):
        again = Crontab.load(data)
        assert [c.uid for c in again] == [saved.uid]
        assert again.by_uid(saved.uid).similar(saved)
    assert Crontab.load(crontab.dump()).activated is False
    assert Crontab.load(crontab) is crontab


def test_load_names_bad_data():
    with pytest.raises(InvalidCron, match=r"Invalid crontab 'nope': is not valid JSON"):
        Crontab.load("nope")
    with pytest.raises(InvalidCron, match=r"Invalid crontab 3: must be a list"):
        Crontab.load(3)


def test_register_job_begin_after(portal, saved):
    manager = getMultiAdapter((portal, saved), ICronManager)
    when = datetime(2008, 1, 1, 4, 0, tzinfo=UTC)
    assert manager.register_job(when) is True  # 2.x's first argument
    [job] = IQueue(portal).jobs
    assert (job.begin_after, job.forced) == (when, False)
    with pytest.raises(InvalidCron, match=r"Invalid begin_after 'tomorrow'"):
        manager.register_job(begin_after="tomorrow")
    assert IQueue(portal).jobs[0].begin_after == when


def test_register_job_begin_after_forced_survives_a_save(portal, saved):
    manager = getMultiAdapter((portal, saved), ICronManager)
    when = datetime(2008, 1, 1, 4, 0, tzinfo=UTC)
    assert manager.register_job(begin_after=when, force=True) is True
    crontab = Crontab.load()
    crontab.by_uid(saved.uid).periodicity = "@hourly"
    crontab.save()  # synchronises the cron's job
    [job] = IQueue(portal).jobs
    assert (job.begin_after, job.forced) == (when, True)


# What collective.cron 2.x (Python 2 json.dumps) left in the registry.
CRON_2X = (
    '{"uid": "1fd5b1c0f1d211e1", "name": "mycronjob", "user": null, '
    '"activated": true, "periodicity": "*/1 * * * *", "logs_limit": 25, '
    '"logs": [{"date": "2008-01-01 02:04:00", "status": 1, "messages": []}], '
    '"environ": {"foo": "bar"}}'
)


def test_reinstalling_keeps_2x_records(portal, setup_tool):
    """Installing 3.x on a migrated 2.x site keeps its crontab records."""
    api.portal.set_registry_record(RECORD_CRONTAB, [CRON_2X])
    setup_tool.runImportStepFromProfile(
        "profile-collective.cron:default", "plone.app.registry"
    )
    assert api.portal.get_registry_record(RECORD_CRONTAB) == [CRON_2X]
    cron = Crontab.load().by_uid("1fd5b1c0f1d211e1")
    assert (cron.environ, cron.last.status) == ({"foo": "bar"}, 1)
