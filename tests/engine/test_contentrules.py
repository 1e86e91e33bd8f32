"""Content rules on cron runs, as a site admin sets them up with no code:
Plone's own Send email action, our events, conditions and substitutions,
through a real dispatcher thread, a real MailHost and an SMTP server."""

from collective.cron.contentrules.conditions import CronNameCondition
from collective.cron.contentrules.conditions import CronStatusCondition
from collective.cron.crontab import Cron
from collective.cron.crontab import Crontab
from collective.cron.crontab import Runner
from collective.cron.interfaces import ICronJobFailedEvent
from collective.cron.interfaces import ICronManager
from collective.cron.interfaces import IFinishedCronJobEvent
from collective.cron.status import Status
from plone import api
from plone.app.contentrules.actions.mail import MailAction
from plone.app.contentrules.api import assign_rule
from plone.app.contentrules.rule import Rule
from plone.contentrules.engine.interfaces import IRuleStorage
from tests.support.instances import wait_for
from tests.support.smtp import site_mail_to_sink
from zope.component import getMultiAdapter
from zope.component import getUtility
from zope.schema.interfaces import IVocabularyFactory

import pytest
import transaction


class Fails(Runner):
    def run(self):
        raise RuntimeError("the feed is down")


class Works(Runner):
    def run(self):
        return None


@pytest.fixture
def smtp(site):
    with site_mail_to_sink("site@example.org", "Site") as sink:
        yield sink


def add_rule(site, rule_id, event, conditions, subject):
    rule = Rule()
    rule.title = rule_id
    rule.event = event
    rule.conditions.extend(conditions)
    action = MailAction()
    action.source = ""
    action.recipients = "ops@example.org"
    action.exclude_actor = False
    action.subject = subject
    action.message = "${cron_messages}\nSee ${cron_url}"
    rule.actions.append(action)
    getUtility(IRuleStorage)[rule_id] = rule
    assign_rule(site, rule_id)


def queue_runs(site, *names):
    crontab = Crontab.load()
    crons = [Cron(name=name, periodicity="@yearly", crontab=crontab) for name in names]
    crontab.save()
    for cron in crons:
        getMultiAdapter((site, cron), ICronManager).register_job(force=True)
    transaction.commit()
    return [cron.uid for cron in crons]


def logged(uid):
    transaction.begin()
    return Crontab.load(uids=[uid]).by_uid(uid).logs


def test_our_events_are_offered_in_site_setup(site):
    events = getUtility(IVocabularyFactory, "plone.contentrules.events")(site)
    titles = {term.title for term in events}
    assert {"Cron job finished", "Cron job failed"} <= titles


def test_failed_rule_mails_through_plones_send_email_action(
    site, smtp, start_dispatcher, register_runner
):
    register_runner(Fails, "feed-import")
    register_runner(Works, "newsletter")
    add_rule(
        site,
        "cron-failures",
        ICronJobFailedEvent,
        [],
        "Cron ${cron_name} ended ${cron_status}",
    )
    failing, working = queue_runs(site, "feed-import", "newsletter")
    start_dispatcher()
    for uid in (failing, working):
        wait_for(lambda uid=uid: logged(uid), 30, interval=0.05, message="the runs")
    assert logged(failing)[0].status == Status.FAILURE
    wait_for(lambda: smtp.messages, 20, interval=0.05, message="the rule's mail")
    [(_, recipients, message)] = smtp.messages
    assert recipients == ["ops@example.org"]
    assert message["Subject"] == "Cron feed-import ended FAILURE"
    body = message.get_content()
    assert "RuntimeError: the feed is down" in body
    assert f"/@@cron?uid={failing}" in body


def test_finished_rule_with_status_and_name_conditions(
    site, smtp, start_dispatcher, register_runner
):
    register_runner(Fails, "feed-import")
    register_runner(Works, "newsletter")
    register_runner(Works, "cleanup")
    status = CronStatusCondition()
    status.statuses = {"OK"}
    name = CronNameCondition()
    name.names = ["news*"]
    add_rule(
        site, "newsletter-done", IFinishedCronJobEvent, [status, name], "${cron_name}"
    )
    uids = queue_runs(site, "feed-import", "newsletter", "cleanup")
    start_dispatcher()
    for uid in uids:
        wait_for(lambda uid=uid: logged(uid), 30, interval=0.05, message="the runs")
    wait_for(lambda: smtp.messages, 20, interval=0.05, message="the rule's mail")
    # The mail goes out during the rule's run: all runs are logged, so all
    # mails that would be sent are in.
    assert smtp.subjects() == ["newsletter"]


def test_a_broken_rule_does_not_break_runs(site, start_dispatcher, register_runner):
    register_runner(Works, "newsletter")
    # No SMTP server listens on this port: the Send email action fails.
    api.portal.set_registry_record("plone.smtp_port", 9)
    api.portal.set_registry_record("plone.email_from_address", "site@example.org")
    add_rule(site, "broken", IFinishedCronJobEvent, [], "${cron_name}")
    [uid] = queue_runs(site, "newsletter")
    start_dispatcher()
    [log] = wait_for(lambda: logged(uid), 30, interval=0.05, message="the run")
    assert log.status == Status.OK


class Counts(Runner):
    runs = []

    def run(self):
        Counts.runs.append(self.cron.uid)


def test_runs_in_a_site_without_rules_leave_its_annotations_alone(
    site, start_dispatcher, register_runner
):
    """Plone's rule executor stores an empty assignment list on first use: in
    a site with no rule, that would be a write of the site's annotations on
    its first runs, conflicting between runs of different crons (each
    conflict runs a runner again)."""
    from plone.contentrules.engine.assignments import KEY

    register_runner(Counts, "counted")
    Counts.runs = []
    uids = queue_runs(site, *["counted"] * 8)
    annotations = site.__annotations__
    assert KEY not in annotations
    serial = annotations._p_serial
    start_dispatcher(threads="4")
    for uid in uids:
        wait_for(lambda uid=uid: logged(uid), 30, interval=0.05, message="the runs")
    transaction.begin()
    assert KEY not in site.__annotations__
    assert site.__annotations__._p_serial == serial  # no run wrote them
    assert sorted(Counts.runs) == sorted(uids)  # each runner ran once
