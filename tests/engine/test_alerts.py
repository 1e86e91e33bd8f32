"""E-mail alerts through the site's real MailHost to an SMTP server on
127.0.0.1: failure, recovery, reminders without a storm, "no success since",
and bad settings refused on every channel."""

from collective.cron import config
from collective.cron.alerts import check_silence
from collective.cron.crontab import Cron
from collective.cron.crontab import Crontab
from collective.cron.crontab import Runner
from collective.cron.dispatcher import Dispatcher
from collective.cron.errors import InvalidCron
from collective.cron.exportimport import CronsXMLError
from collective.cron.interfaces import ICronManager
from collective.cron.interfaces import IExportImporter
from collective.cron.status import Status
from collective.cron.stored import TextFacts
from collective.cron.testing import run_due_jobs
from collective.cron.testing import set_now
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from plone import api
from tests.support.instances import wait_for
from tests.support.smtp import site_mail_to_sink
from types import SimpleNamespace
from zope.component import getMultiAdapter

import pytest
import transaction


T0 = datetime(2026, 9, 1, 6, 0, tzinfo=UTC)


class Broken(Runner):
    def run(self):
        raise RuntimeError("the feed is down")


@pytest.fixture
def site(site):
    site.setTitle("Intranet")
    return site


@pytest.fixture
def smtp(site):
    with site_mail_to_sink("site@example.org", "Intranet") as sink:
        yield sink


def add_cron(**settings):
    crontab = Crontab.load()
    cron = Cron(crontab=crontab, **settings)
    crontab.save()
    transaction.commit()
    return cron


def test_failure_mail_from_a_real_worker_says_what_happened(
    site, smtp, start_dispatcher, register_runner
):
    register_runner(Broken, "feed-import")
    cron = add_cron(
        uid="feed",
        name="feed-import",
        title="Import the news feed",
        periodicity="@yearly",
        notify="failure",
        recipients=["ops@example.org", "web@example.org"],
    )
    getMultiAdapter((site, cron), ICronManager).register_job(force=True)
    transaction.commit()
    start_dispatcher()
    wait_for(lambda: smtp.messages, 30, interval=0.05, message="the alert")
    [(_, recipients, message)] = smtp.messages
    assert sorted(recipients) == ["ops@example.org", "web@example.org"]
    assert message["Subject"] == "[Intranet] cron Import the news feed: FAILURE"
    body = message.get_content()
    for expected in (
        "Site: Intranet (http://",
        "Cron: Import the news feed (name feed-import, uid feed)",
        "/plone/@@cron?uid=feed",
        "Status: FAILURE",
        "Scheduled: run now (queued ",
        "Started: ",
        "Duration: ",
        "RuntimeError: the feed is down",
        "Traceback (last lines):",
        'raise RuntimeError("the feed is down")',
    ):
        assert expected in body, expected


def test_a_cron_failing_for_two_hours_sends_no_storm(site, smtp, recording):
    """60 failing runs, two minutes apart (06:02 to 08:00): one mail when it
    starts failing, one reminder an hour later, one "recovered"."""

    def fail(runner):
        raise RuntimeError("still down")

    recording.behaviour = fail
    set_now(T0)
    add_cron(
        name="mycronjob",
        periodicity="*/2 * * * *",
        notify="failure_recovery",
        recipients="ops@example.org",
    )
    statuses = []
    for step in range(1, 61):
        set_now(T0 + timedelta(minutes=2 * step))
        statuses += [result[0] for result in run_due_jobs(site, commit=True)]
    assert statuses == [Status.FAILURE] * 60
    assert smtp.subjects() == [
        "[Intranet] cron mycronjob: FAILURE",
        "[Intranet] cron mycronjob: still failing since 2026-09-01 06:02:00",
    ]
    recording.behaviour = None
    set_now(T0 + timedelta(minutes=122))
    assert [result[0] for result in run_due_jobs(site, commit=True)] == [Status.OK]
    set_now(T0 + timedelta(minutes=124))
    run_due_jobs(site, commit=True)  # OK again: nothing to say
    assert smtp.subjects()[2:] == ["[Intranet] cron mycronjob: recovered"]


def test_failure_mode_sends_no_recovery_and_always_mode_mails_every_run(
    site, smtp, recording
):
    set_now(T0)
    add_cron(uid="quiet", name="mycronjob", periodicity="* * * * *", notify="failure")
    add_cron(uid="chatty", name="myfoojob", periodicity="* * * * *", notify="always")
    recording.behaviour = lambda runner: (_ for _ in ()).throw(RuntimeError("x"))
    set_now(T0 + timedelta(minutes=1))
    run_due_jobs(site, commit=True)
    recording.behaviour = None
    for minute in (2, 3):
        set_now(T0 + timedelta(minutes=minute))
        run_due_jobs(site, commit=True)
    subjects = sorted(smtp.subjects())
    assert subjects == sorted(
        [
            "[Intranet] cron mycronjob: FAILURE",
            "[Intranet] cron myfoojob: FAILURE",
            "[Intranet] cron myfoojob: recovered",
            "[Intranet] cron myfoojob: OK",
        ]
    )


def test_no_success_since_alert_then_reminder_then_recovered(site, smtp, recording):
    set_now(T0)
    cron = add_cron(
        name="mycronjob",
        periodicity="@yearly",
        alert_after=60,
        recipients="ops@example.org",
    )

    def silence_check_at(minutes):
        set_now(T0 + timedelta(minutes=minutes))
        transaction.begin()
        check_silence(site, Crontab.load(logs=False))
        transaction.commit()

    silence_check_at(59)
    assert smtp.messages == []
    silence_check_at(61)
    silence_check_at(90)  # not an hour since the alert
    silence_check_at(122)
    assert smtp.subjects() == [
        "[Intranet] cron mycronjob: no successful run since it was added",
        "[Intranet] cron mycronjob: no successful run since it was added",
    ]
    assert "no successful run for 60 minutes" in smtp.messages[0][2].get_content()
    getMultiAdapter((site, cron), ICronManager).register_job(force=True)
    run_due_jobs(site, commit=True)
    assert smtp.subjects()[2:] == ["[Intranet] cron mycronjob: recovered"]
    silence_check_at(130)  # it ran 8 minutes ago: quiet
    assert len(smtp.messages) == 3


def test_worker_checks_silence_by_itself(site, smtp, start_dispatcher):
    set_now(T0 - timedelta(days=2))  # added two days ago, never ran since
    add_cron(name="mycronjob", periodicity="@yearly", alert_after=1560)
    set_now(None)
    start_dispatcher()
    wait_for(lambda: smtp.messages, 30, interval=0.05, message="the silence alert")
    [(_, recipients, _)] = smtp.messages
    assert recipients == ["site@example.org"]  # no recipients: the site's sender


def test_the_workers_silence_check_loads_only_the_crons_that_ask_for_it(
    site, smtp, monkeypatch
):
    set_now(T0 - timedelta(days=2))  # added two days ago, never ran since
    watched = add_cron(name="mycronjob", periodicity="@yearly", alert_after=1560)
    for _ in range(3):
        add_cron(name="mycronjob", periodicity="@yearly")
    set_now(T0)
    loaded = []
    load = TextFacts.load

    def recording_load(facts, crontab=None):
        loaded.append(facts.uid)
        return load(facts, crontab)

    monkeypatch.setattr(TextFacts, "load", recording_load)
    dispatcher = Dispatcher(None, config.load({"worker": "on"}, environ={}))
    session = SimpleNamespace(manager=transaction.manager)
    transaction.begin()
    # What a worker's look does once a minute, for each site.
    dispatcher._check_silence(session, site, "/".join(site.getPhysicalPath()))
    transaction.abort()
    # At 100,000 crons the others cost seconds a minute to load.
    assert loaded == [watched.uid]
    assert smtp.subjects() == [
        "[Intranet] cron mycronjob: no successful run since it was added"
    ]


def test_alert_without_any_address_is_logged_not_fatal(site, recording):
    api.portal.set_registry_record("plone.email_from_address", "")
    set_now(T0)
    add_cron(name="mycronjob", periodicity="* * * * *", notify="always")
    set_now(T0 + timedelta(minutes=1))
    assert [r[0] for r in run_due_jobs(site, commit=True)] == [Status.OK]


def test_alert_not_sent_for_lack_of_an_address_is_sent_once_there_is_one(
    site, smtp, recording
):
    """The first failure finds no sender address: the next failure, once mail
    is set up, is mailed at once (not an hour later as a reminder)."""

    def fail(runner):
        raise RuntimeError("down")

    recording.behaviour = fail
    api.portal.set_registry_record("plone.email_from_address", "")
    transaction.commit()
    set_now(T0)
    add_cron(name="mycronjob", periodicity="* * * * *", notify="failure")
    set_now(T0 + timedelta(minutes=1))
    assert [r[0] for r in run_due_jobs(site, commit=True)] == [Status.FAILURE]
    assert smtp.subjects() == []
    api.portal.set_registry_record("plone.email_from_address", "site@example.org")
    transaction.commit()
    set_now(T0 + timedelta(minutes=2))
    assert [r[0] for r in run_due_jobs(site, commit=True)] == [Status.FAILURE]
    assert smtp.subjects() == [
        "[Intranet] cron mycronjob: still failing since 2026-09-01 06:01:00"
    ]
    set_now(T0 + timedelta(minutes=3))
    run_due_jobs(site, commit=True)
    assert len(smtp.subjects()) == 1  # then the hourly reminder rule holds


@pytest.mark.parametrize(
    "setting,value,message",
    [
        ("notify", "sometimes", "Invalid notify 'sometimes': must be one of never"),
        ("recipients", "ops@example.org, nobody", "Invalid recipients 'nobody'"),
        ("recipients", ["a@b.org", "<x>@y.org"], "Invalid recipients '<x>@y.org'"),
        ("alert_after", -5, "Invalid alert_after -5: must be between 1 and"),
        ("alert_after", 10**9, "Invalid alert_after 1000000000"),
        ("alert_after", "soon", "Invalid alert_after 'soon': must be a whole"),
        ("title", "two\nlines", "Invalid title 'two\\nlines': must be one line"),
    ],
)
def test_bad_alert_settings_are_refused_in_python_and_crons_xml(
    site, setting, value, message
):
    with pytest.raises(InvalidCron) as error:
        Cron(name="x", periodicity="@daily", **{setting: value})
    assert str(error.value).startswith(message)
    if not isinstance(value, str):
        return
    xml = (
        '<crons><cron uid="x" name="x" periodicity="@daily" '
        f'{setting}="{value.replace(chr(10), "&#10;")}" /></crons>'
    )
    importer = getMultiAdapter((site, Crontab.load()), IExportImporter)
    with pytest.raises(CronsXMLError) as refused:
        importer.do_import(xml)
    assert message in str(refused.value)
    assert Crontab.load().crons == {}  # nothing half-written, even unsaved


def test_alert_settings_round_trip_through_crons_xml(site):
    add_cron(
        uid="feed",
        name="feed-import",
        periodicity="@daily",
        title="Import the feed",
        description="Ask the web team.",
        notify="failure_recovery",
        recipients=["ops@example.org", "web@example.org"],
        alert_after=1560,
    )
    exported = getMultiAdapter((site, Crontab.load()), IExportImporter).do_export()
    assert 'notify="failure_recovery"' in exported
    assert 'recipients="ops@example.org, web@example.org"' in exported
    assert 'alert_after="1560"' in exported
    crontab = Crontab.load()
    crontab.crons.clear()
    crontab.save()
    transaction.commit()
    # Imported crons are added deactivated unless the file says otherwise.
    getMultiAdapter((site, Crontab.load()), IExportImporter).do_import(exported)
    transaction.commit()
    cron = Crontab.load().by_uid("feed")
    assert (cron.title, cron.notify, cron.recipients, cron.alert_after) == (
        "Import the feed",
        "failure_recovery",
        ["ops@example.org", "web@example.org"],
        1560,
    )


def test_dashboard_and_cron_page_show_title_alerts_and_overdue(
    site, functional_app, recording
):
    from plone.app.testing import SITE_OWNER_NAME
    from plone.app.testing import SITE_OWNER_PASSWORD
    from plone.testing.zope import Browser

    set_now(T0)
    add_cron(
        uid="feed",
        name="feed-import",
        periodicity="0 7 * * *",
        title="Import the news feed",
        description="Ask the web team before changing it.",
        notify="failure_recovery",
        recipients="ops@example.org",
        alert_after=1560,
    )
    set_now(T0 + timedelta(hours=1, minutes=5))  # due 07:00, nobody ran it
    browser = Browser(functional_app)
    browser.handleErrors = False
    browser.addHeader("Authorization", f"Basic {SITE_OWNER_NAME}:{SITE_OWNER_PASSWORD}")
    browser.open(f"{site.absolute_url()}/@@cron-settings")
    assert "Import the news feed" in browser.contents
    assert "Ask the web team before changing it." in browser.contents
    assert "overdue" in browser.contents
    browser.getLink("Import the news feed").click()
    page = browser.contents
    assert "When a run fails, and when it recovers" in page
    assert "ops@example.org" in page
    assert "1560" in page and "minutes without a successful run" in page


class Newsletter(Runner):
    title = "Send the newsletter"
    description = "Mails this week's news to the readers."

    def run(self):
        return None


def test_add_form_lists_runners_with_their_titles(
    site, functional_app, register_runner
):
    from plone.app.testing import SITE_OWNER_NAME
    from plone.app.testing import SITE_OWNER_PASSWORD
    from plone.testing.zope import Browser

    register_runner(Newsletter, "newsletter")
    transaction.commit()
    browser = Browser(functional_app)
    browser.addHeader("Authorization", f"Basic {SITE_OWNER_NAME}:{SITE_OWNER_PASSWORD}")
    browser.open(f"{site.absolute_url()}/@@cron-add")
    assert '<option value="newsletter" label="Send the newsletter">' in browser.contents
    assert "Mails this week&#x27;s news to the readers." in browser.contents or (
        "Mails this week's news to the readers." in browser.contents
    )


def test_warn_runs_do_not_end_a_silence_alert(site, smtp, recording):
    """A runner that only ever warns has had no successful run: one alert,
    no "recovered" after each warning."""
    recording.behaviour = lambda runner: ["3 items skipped"]
    set_now(T0)
    cron = add_cron(name="mycronjob", periodicity="@yearly", alert_after=60)
    set_now(T0 + timedelta(minutes=61))
    transaction.begin()
    check_silence(site, Crontab.load(logs=False))
    transaction.commit()
    getMultiAdapter((site, cron), ICronManager).register_job(force=True)
    assert [r[0] for r in run_due_jobs(site, commit=True)] == [Status.WARN]
    set_now(T0 + timedelta(minutes=70))
    transaction.begin()
    check_silence(site, Crontab.load(logs=False))  # reminder not due yet
    transaction.commit()
    assert len(smtp.messages) == 1
    assert "no successful run" in smtp.subjects()[0]


def test_turning_alert_after_on_reads_the_last_ok_log(site, smtp, recording):
    set_now(T0)
    cron = add_cron(name="mycronjob", periodicity="@yearly")
    getMultiAdapter((site, cron), ICronManager).register_job(force=True)
    run_due_jobs(site, commit=True)  # OK, with no alert settings
    set_now(T0 + timedelta(days=30))
    crontab = Crontab.load()
    crontab.by_uid(cron.uid).alert_after = 60 * 24 * 40  # 40 days
    crontab.save()
    transaction.commit()
    transaction.begin()
    check_silence(site, Crontab.load(logs=False))
    transaction.commit()
    assert smtp.messages == []  # its last OK run was 30 days ago


def test_a_deactivated_crontab_sends_no_silence_alert(site, smtp):
    set_now(T0)
    add_cron(name="mycronjob", periodicity="@yearly", alert_after=1)
    crontab = Crontab.load()
    crontab.activated = False
    crontab.save()
    transaction.commit()
    set_now(T0 + timedelta(hours=5))
    transaction.begin()
    check_silence(site, Crontab.load(logs=False))
    transaction.commit()
    assert smtp.messages == []
