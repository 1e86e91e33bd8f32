"""Pause and resume a cron: until a time or until resumed, with a reason;
automatic pause after failures in a row. Time moves with set_now."""

from collective.cron.audit import AuditTrail
from collective.cron.crontab import Cron
from collective.cron.crontab import Crontab
from collective.cron.errors import InvalidCron
from collective.cron.interfaces import ICronManager
from collective.cron.interfaces import IQueue
from collective.cron.manager import FOREVER
from collective.cron.status import Status
from collective.cron.testing import run_due_jobs
from collective.cron.testing import set_now
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from plone.app.testing import SITE_OWNER_NAME
from plone.app.testing import SITE_OWNER_PASSWORD
from plone.testing.zope import Browser
from tests.support.rest import rest_session
from zope.component import getMultiAdapter

import pytest
import transaction


T0 = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)  # a Monday


def at(minutes):
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def site(site, recording):
    set_now(T0)
    return site


def add_cron(**settings):
    crontab = Crontab.load()
    cron = Cron(
        name="mycronjob", periodicity="*/10 * * * *", crontab=crontab, **settings
    )
    crontab.save()
    transaction.commit()
    return cron


def manager(site, cron):
    return getMultiAdapter((site, cron), ICronManager)


def job(site, cron):
    transaction.begin()
    return IQueue(site).job(cron.uid)


def logs(cron):
    transaction.begin()
    return Crontab.load(uids=[cron.uid]).by_uid(cron.uid).logs


def runs_at(site, minutes):
    set_now(at(minutes))
    return [result[0] for result in run_due_jobs(site, commit=True)]


def test_pause_until_a_time_resumes_by_itself_without_late_runs(site, recording):
    cron = add_cron()
    assert manager(site, cron).pause(until=at(35), reason="migration", by="ops")
    transaction.commit()
    paused = job(site, cron).paused
    assert (paused["until"], paused["reason"], paused["by"]) == (
        at(35),
        "migration",
        "ops",
    )
    assert job(site, cron).begin_after == at(40)  # first slot at or after 08:35
    for minutes in (10, 20, 30):
        assert runs_at(site, minutes) == []
    assert runs_at(site, 40) == [Status.OK]
    [log] = logs(cron)
    assert "missed" not in log.details  # nothing ran late on resume
    assert job(site, cron).paused is None
    assert job(site, cron).begin_after == at(50)


def test_pause_until_resumed(site, recording):
    cron = add_cron()
    manager(site, cron).pause(reason="broken upstream")
    transaction.commit()
    assert job(site, cron).begin_after == FOREVER
    assert runs_at(site, 600) == []
    set_now(at(603))
    assert manager(site, cron).resume()
    transaction.commit()
    assert job(site, cron).begin_after == at(610)
    assert job(site, cron).paused is None
    assert runs_at(site, 610) == [Status.OK]
    assert "missed" not in logs(cron)[0].details


def test_saving_a_paused_cron_keeps_it_paused(site, recording):
    cron = add_cron()
    manager(site, cron).pause(until=at(35))
    transaction.commit()
    crontab = Crontab.load()
    crontab.by_uid(cron.uid).environ = {"edited": True}
    crontab.save()
    transaction.commit()
    assert job(site, cron).paused is not None
    assert job(site, cron).begin_after == at(40)
    crontab = Crontab.load()
    crontab.by_uid(cron.uid).periodicity = "*/15 * * * *"
    crontab.save()
    transaction.commit()
    # Still paused, resuming at the new schedule's first time after 08:35.
    assert job(site, cron).paused is not None
    assert job(site, cron).begin_after == at(45)


def test_run_now_while_paused_runs_once_and_stays_paused(site, recording):
    cron = add_cron()
    manager(site, cron).pause()
    manager(site, cron).register_job(force=True)
    transaction.commit()
    assert runs_at(site, 1) == [Status.OK]
    assert job(site, cron).paused is not None
    assert job(site, cron).begin_after == FOREVER


def test_pausing_a_running_job_applies_when_its_run_ends(site, recording):
    cron = add_cron()

    def pause_meanwhile(runner):
        manager(site, runner.cron).pause(until=at(45))

    recording.behaviour = pause_meanwhile
    assert runs_at(site, 10) == [Status.OK]
    assert job(site, cron).begin_after == at(50)
    assert job(site, cron).paused["until"] == at(45)


def test_paused_after_failures_in_a_row(site, recording):
    def fail(runner):
        raise RuntimeError("down")

    recording.behaviour = fail
    cron = add_cron(pause_after_failures=3)
    assert runs_at(site, 10) == [Status.FAILURE]
    recording.behaviour = None
    assert runs_at(site, 20) == [Status.OK]  # the count starts again
    recording.behaviour = fail
    for minutes in (30, 40, 50):
        assert runs_at(site, minutes) == [Status.FAILURE]
    third = logs(cron)[0]
    assert third.messages[-1] == (
        "The cron was paused after 3 failed runs in a row: resume it to run it again"
    )
    paused = job(site, cron).paused
    assert (paused["reason"], paused["by"]) == (
        "paused after 3 failed runs in a row",
        "collective.cron",
    )
    [entry] = AuditTrail(site).entries(cron.uid)[:1]
    assert (entry["action"], entry["who"]) == ("paused", "system")
    assert {
        "field": "paused_reason",
        "old": "",
        "new": "paused after 3 failed runs in a row",
    } in entry["changes"]
    assert runs_at(site, 120) == []


@pytest.mark.parametrize(
    "until,reason,message",
    [
        (
            T0 - timedelta(minutes=1),
            "",
            "Invalid paused_until '2026-10-05T07:59:00+00:00': is not in the future",
        ),
        ("tomorrow", "", "Invalid paused_until 'tomorrow': is not a date and time"),
        (None, "x" * 501, "Invalid paused_reason"),
    ],
)
def test_bad_pause_is_refused_and_named(site, until, reason, message):
    cron = add_cron()
    before = job(site, cron).begin_after
    with pytest.raises(InvalidCron) as error:
        manager(site, cron).pause(until=until, reason=reason)
    assert str(error.value).startswith(message)
    assert job(site, cron).paused is None
    assert job(site, cron).begin_after == before


def test_pause_and_resume_from_the_cron_page(site, functional_app):
    cron = add_cron(title="Import")
    browser = Browser(functional_app)
    browser.handleErrors = False
    browser.addHeader("Authorization", f"Basic {SITE_OWNER_NAME}:{SITE_OWNER_PASSWORD}")
    browser.open(f"{site.absolute_url()}/@@cron?uid={cron.uid}")
    # The form's time is the site's (UTC in the test site).
    browser.getControl(name="pause_until").value = "2026-10-05T09:30"
    browser.getControl(name="pause_reason").value = "database upgrade"
    browser.getControl("Pause", index=1).click()
    assert "was paused" in browser.contents
    assert "database upgrade" in browser.contents
    assert job(site, cron).paused["until"] == datetime(2026, 10, 5, 9, 30, tzinfo=UTC)
    browser.open(f"{site.absolute_url()}/@@cron-settings")
    assert "paused" in browser.contents
    browser.open(f"{site.absolute_url()}/@@cron?uid={cron.uid}")
    browser.getControl("Resume").click()
    assert "was resumed" in browser.contents
    assert job(site, cron).paused is None


def test_bad_pause_time_in_the_form_is_named(site, functional_app):
    cron = add_cron()
    browser = Browser(functional_app)
    browser.addHeader("Authorization", f"Basic {SITE_OWNER_NAME}:{SITE_OWNER_PASSWORD}")
    browser.open(f"{site.absolute_url()}/@@cron?uid={cron.uid}")
    browser.getControl(name="pause_until").value = "2020-01-01T00:00"
    browser.getControl("Pause", index=1).click()
    assert "is not in the future" in browser.contents
    assert job(site, cron).paused is None


def test_rest_shows_the_pause(site):
    cron = add_cron()
    manager(site, cron).pause(until=at(35), reason="migration", by="ops")
    transaction.commit()
    http = rest_session(site)
    paused = http.get(f"@crons/{cron.uid}").json()["job"]["paused"]
    assert paused == {
        "until": "2026-10-05T08:35:00+00:00",
        "reason": "migration",
        "by": "ops",
        "at": "2026-10-05T08:00:00+00:00",
    }


def test_run_now_with_an_environ_for_that_run_only(site, recording):
    cron = add_cron(environ={"list": "members", "dry": False})
    manager(site, cron).register_job(force=True, environ='{"list": "test"}')
    transaction.commit()
    assert runs_at(site, 1) == [Status.OK]
    [runner] = recording.calls
    assert runner.cron.environ == {"list": "test", "dry": False}
    [log] = logs(cron)
    assert log.details["environ_override"] == {"list": "test"}
    transaction.begin()
    assert Crontab.load().by_uid(cron.uid).environ == {"list": "members", "dry": False}
    assert IQueue(site).job(cron.uid).environ_override is None
    assert runs_at(site, 10) == [Status.OK]  # the next run: the cron's own environ
    assert recording.calls[-1].cron.environ == {"list": "members", "dry": False}


@pytest.mark.parametrize(
    "environ,message",
    [
        ("[1, 2]", "Invalid environ '[1, 2]': must be a JSON object"),
        ("{oops", "Invalid environ '{oops': is not valid JSON"),
    ],
)
def test_bad_run_environ_is_named_and_nothing_queued(site, environ, message):
    cron = add_cron()
    before = job(site, cron).begin_after
    with pytest.raises(InvalidCron) as error:
        manager(site, cron).register_job(force=True, environ=environ)
    assert str(error.value).startswith(message)
    assert job(site, cron).begin_after == before and not job(site, cron).forced


def test_run_now_with_environ_from_the_cron_page(site, functional_app, recording):
    cron = add_cron()
    browser = Browser(functional_app)
    browser.addHeader("Authorization", f"Basic {SITE_OWNER_NAME}:{SITE_OWNER_PASSWORD}")
    browser.open(f"{site.absolute_url()}/@@cron?uid={cron.uid}")
    browser.getControl(name="run_environ").value = '{"list": NaN}'
    browser.getControl("Run now").click()
    assert "Invalid environ" in browser.contents
    assert not job(site, cron).forced
    browser.getControl(name="run_environ").value = '{"list": "test"}'
    browser.getControl("Run now").click()
    assert "was queued" in browser.contents
    assert job(site, cron).environ_override == {"list": "test"}


def test_row_actions_on_the_dashboard(site, functional_app):
    cron = add_cron()
    browser = Browser(functional_app)
    browser.handleErrors = False
    browser.addHeader("Authorization", f"Basic {SITE_OWNER_NAME}:{SITE_OWNER_PASSWORD}")
    dashboard = f"{site.absolute_url()}/@@cron-settings"

    def click(action):
        """The row's button for `action` (the table has one row)."""
        browser.open(dashboard)
        for index in range(10):
            control = browser.getControl(name="row_action", index=index)
            if control.value == f"{action}:{cron.uid}":
                return control.click()
        raise AssertionError(f"no {action} button")

    click("pause")
    assert "was paused" in browser.contents and job(site, cron).paused is not None
    click("resume")
    assert "was resumed" in browser.contents and job(site, cron).paused is None
    click("run")
    assert "was queued" in browser.contents and job(site, cron).forced
    click("deactivate")
    assert "was deactivated" in browser.contents
    transaction.begin()
    assert Crontab.load().by_uid(cron.uid).activated is False
    click("activate")
    assert "was activated" in browser.contents
    transaction.begin()
    assert Crontab.load().by_uid(cron.uid).activated is True


def test_manual_only_cron_runs_only_when_run(site, recording, functional_app):
    crontab = Crontab.load()
    cron = Cron(name="mycronjob", periodicity="@manual", crontab=crontab)
    crontab.save()
    transaction.commit()
    assert cron.next is None
    assert job(site, cron) is None
    assert runs_at(site, 60 * 24 * 400) == []  # a year and more: nothing
    manager(site, cron).register_job(force=True)
    transaction.commit()
    assert runs_at(site, 60 * 24 * 400 + 1) == [Status.OK]
    assert job(site, cron) is None  # and nothing queued after it
    browser = Browser(functional_app)
    browser.addHeader("Authorization", f"Basic {SITE_OWNER_NAME}:{SITE_OWNER_PASSWORD}")
    browser.open(f"{site.absolute_url()}/@@cron-settings")
    assert "Manual only: runs when someone runs it" in browser.contents
    browser.open(f"{site.absolute_url()}/@@cron-explain?periodicity=@manual")
    explained = browser.contents
    if isinstance(explained, bytes):
        explained = explained.decode("utf-8")
    assert "Manual only" in explained


def test_pause_and_resume_over_rest(site):
    cron = add_cron()
    http = rest_session(site)
    response = http.post(
        f"@crons/{cron.uid}/@pause",
        json={"until": "2026-10-05T08:35:00+00:00", "reason": "migration"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["job"]["paused"]["reason"] == "migration"
    assert job(site, cron).begin_after == at(40)
    bad = http.post(f"@crons/{cron.uid}/@pause", json={"until": "yesterday"})
    assert bad.status_code == 400
    assert "Invalid paused_until 'yesterday'" in bad.json()["message"]
    assert http.post("@crons/nosuch/@pause", json={}).status_code == 404
    response = http.post(f"@crons/{cron.uid}/@resume")
    assert response.status_code == 200
    assert response.json()["job"]["paused"] is None
    assert job(site, cron).paused is None
    anonymous = rest_session(site, None)
    assert anonymous.post(f"@crons/{cron.uid}/@pause", json={}).status_code == 401
