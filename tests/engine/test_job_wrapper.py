"""The job wrapper: runners, statuses, retries, users, misfires, transactions."""

from collective.cron import crontab as mcrontab
from collective.cron.interfaces import ICronManager
from collective.cron.interfaces import IFinishedCronJobEvent
from collective.cron.interfaces import IQueue
from collective.cron.interfaces import IStartedCronJobEvent
from collective.cron.registry import RECORD_CRONTAB
from collective.cron.status import Status
from collective.cron.testing import run_due_jobs
from collective.cron.testing import set_now
from datetime import UTC
from datetime import datetime
from plone import api
from plone.app.testing import TEST_USER_ID
from plone.app.testing import TEST_USER_NAME
from plone.app.testing import setRoles
from Products.Five import BrowserView
from Products.PythonScripts.PythonScript import manage_addPythonScript
from ZODB.POSException import ConflictError
from zope.component import getGlobalSiteManager
from zope.component import getMultiAdapter
from zope.globalrequest import getRequest
from zope.interface import Interface
from zope.publisher.interfaces.browser import IDefaultBrowserLayer

import pytest


NOW = datetime(2026, 1, 1, 8, 0)


def add_cron(**settings):
    crontab = mcrontab.Crontab.load()
    cron = mcrontab.Cron(crontab=crontab, **settings)
    crontab.save()
    return cron


def run_now(portal, cron):
    getMultiAdapter((portal, cron), ICronManager).register_job(force=True)
    return run_due_jobs(portal)


def logs_of(cron):
    return mcrontab.Crontab.load().by_uid(cron.uid).logs


@pytest.fixture(autouse=True)
def frozen():
    set_now(NOW)


class TestStatuses:
    def test_ok(self, portal, recording):
        cron = add_cron(name="mycronjob", periodicity="@daily")
        assert run_now(portal, cron) == [(Status.OK, [], cron.uid, ("", "plone"))]
        [log] = logs_of(cron)
        assert (log.status, log.messages, log.date) == (
            Status.OK,
            [],
            NOW.replace(tzinfo=UTC),
        )
        assert log.details["duration"] >= 0
        assert log.details["forced"] is True

    def test_messages_make_a_warning(self, portal, recording):
        recording.behaviour = lambda runner: ["sent 3 mails", "1 bounced"]
        cron = add_cron(name="mycronjob", periodicity="@daily")
        [(status, messages, _, _)] = run_now(portal, cron)
        assert (status, messages) == (Status.WARN, ["sent 3 mails", "1 bounced"])

    def test_non_text_output_is_kept_as_text(self, portal, recording):
        recording.behaviour = lambda runner: {"sent": 3}
        cron = add_cron(name="mycronjob", periodicity="@daily")
        [(status, messages, _, _)] = run_now(portal, cron)
        assert (status, messages) == (Status.WARN, ["{'sent': 3}"])

    def test_huge_output_is_bounded(self, portal, recording):
        recording.behaviour = lambda runner: ["x" * 100_000] * 500
        cron = add_cron(name="mycronjob", periodicity="@daily")
        run_now(portal, cron)
        [log] = logs_of(cron)
        assert len(log.messages) == 51
        assert log.messages[-1] == "... 450 more messages cut"
        assert sum(map(len, log.messages)) < 250_000

    def test_exception_is_a_failure_with_traceback(self, portal, recording):
        def explode(runner):
            raise ValueError("no newsletter template")

        recording.behaviour = explode
        cron = add_cron(name="mycronjob", periodicity="@daily")
        [(status, messages, _, _)] = run_now(portal, cron)
        assert (status, messages) == (
            Status.FAILURE,
            ["ValueError: no newsletter template"],
        )
        [log] = logs_of(cron)
        assert "Traceback (most recent call last)" in log.details["traceback"]
        assert "explode" in log.details["traceback"]
        assert IQueue(portal).pending_job(cron.uid) is not None  # still rescheduled

    def test_no_runner_is_notrun(self, portal):
        cron = add_cron(name="nothing/here", periodicity="@daily")
        [(status, messages, _, _)] = run_now(portal, cron)
        assert status == Status.NOTRUN
        assert messages == [
            "no runner named 'nothing/here': no IJobRunner adapter of that name, "
            "and no script or view at that path below the site"
        ]


class TestRunnersByPath:
    def test_python_script(self, portal):
        setRoles(portal, TEST_USER_ID, ["Manager"])
        manage_addPythonScript(portal, "cron_script")
        portal.cron_script.ZPythonScript_edit("", "return 'ran in ' + context.getId()")
        cron = add_cron(name="cron_script", periodicity="@daily")
        [(status, messages, _, _)] = run_now(portal, cron)
        assert (status, messages) == (Status.WARN, ["ran in plone"])

    def test_view(self, portal):
        class CronView(BrowserView):
            def __call__(self):
                return None

        gsm = getGlobalSiteManager()
        gsm.registerAdapter(
            CronView, (Interface, IDefaultBrowserLayer), Interface, "cron-view"
        )
        try:
            cron = add_cron(name="@@cron-view", periodicity="@daily")
            assert run_now(portal, cron)[0][:2] == (Status.OK, [])
        finally:
            gsm.unregisterAdapter(
                CronView, (Interface, IDefaultBrowserLayer), Interface, "cron-view"
            )


class TestTransactions:
    def make_document(self, runner, fail):
        api.content.create(container=runner.context, type="Document", id="made-by-cron")
        if fail:
            raise RuntimeError("after creating the document")

    def test_changes_kept_on_success(self, portal, recording):
        setRoles(portal, TEST_USER_ID, ["Manager"])
        recording.behaviour = lambda runner: self.make_document(runner, fail=False)
        cron = add_cron(name="mycronjob", periodicity="@daily")
        assert run_now(portal, cron)[0][0] == Status.OK
        assert "made-by-cron" in portal

    def test_changes_undone_on_failure(self, portal, recording):
        setRoles(portal, TEST_USER_ID, ["Manager"])
        recording.behaviour = lambda runner: self.make_document(runner, fail=True)
        cron = add_cron(name="mycronjob", periodicity="@daily")
        assert run_now(portal, cron)[0][0] == Status.FAILURE
        assert "made-by-cron" not in portal
        assert logs_of(cron)[0].status == Status.FAILURE

    def test_conflict_is_retried(self, portal, recording):
        def conflict_once(runner):
            if len(recording.calls) == 1:
                raise ConflictError("simulated")
            return None

        recording.behaviour = conflict_once
        cron = add_cron(name="mycronjob", periodicity="@daily")
        assert run_now(portal, cron)[0][:2] == (Status.OK, [])
        assert len(recording.calls) == 2
        assert len(logs_of(cron)) == 1

    def test_conflict_three_times_is_a_failure(self, portal, recording):
        def always(runner):
            raise ConflictError("simulated")

        recording.behaviour = always
        cron = add_cron(name="mycronjob", periodicity="@daily")
        [(status, messages, _, _)] = run_now(portal, cron)
        assert status == Status.FAILURE
        assert messages[0].startswith("ConflictError: gave up after 3 tries")
        assert len(recording.calls) == 3

    def test_a_run_does_not_rewrite_the_crontab(self, portal, recording):
        add_cron(name="other", periodicity="@hourly", environ={"keep": 1})
        cron = add_cron(name="mycronjob", periodicity="@daily")
        before = api.portal.get_registry_record(RECORD_CRONTAB)
        run_now(portal, cron)
        assert api.portal.get_registry_record(RECORD_CRONTAB) == before


class TestUsers:
    def whoami(self, runner):
        user = api.user.get_current()
        can_manage = api.user.has_permission("Manage portal", obj=runner.context)
        return [user.getUserName(), f"manage portal: {can_manage}"]

    def test_runs_as_cron_user_with_that_users_rights(self, portal, recording):
        api.user.create(
            email="bob@example.org", username="bob", password="secret-bob-1"
        )
        recording.behaviour = self.whoami
        cron = add_cron(name="mycronjob", periodicity="@daily", user="bob")
        assert run_now(portal, cron)[0][1] == ["bob", "manage portal: False"]

    def test_runs_as_who_saved_it_by_default(self, portal, recording):
        setRoles(portal, TEST_USER_ID, ["Manager"])
        recording.behaviour = self.whoami
        cron = add_cron(name="mycronjob", periodicity="@daily")
        assert mcrontab.Crontab.load().by_uid(cron.uid).saved_by == TEST_USER_NAME
        assert run_now(portal, cron)[0][1] == [TEST_USER_NAME, "manage portal: True"]

    def test_unknown_user_does_not_run(self, portal, recording):
        cron = add_cron(name="mycronjob", periodicity="@daily", user="ghost")
        [(status, messages, _, _)] = run_now(portal, cron)
        assert (status, messages) == (
            Status.FAILURE,
            ["user 'ghost' does not exist: the job did not run"],
        )
        assert recording.calls == []

    def test_request_and_urls_work(self, portal, recording):
        recording.behaviour = lambda runner: [
            runner.context.absolute_url(),
            str(getRequest() is not None),
        ]
        cron = add_cron(name="mycronjob", periodicity="@daily")
        [url, has_request] = run_now(portal, cron)[0][1]
        assert url.startswith("http://") and url.endswith("/plone")
        assert has_request == "True"


class TestEvents:
    def test_started_then_finished_with_log(self, portal, recording):
        seen = []
        gsm = getGlobalSiteManager()

        def started(event):
            seen.append(("started", event.object, event.cron.uid))

        def finished(event):
            seen.append(("finished", event.object, event.cron.uid, event.log.status))

        gsm.registerHandler(started, (IStartedCronJobEvent,))
        gsm.registerHandler(finished, (IFinishedCronJobEvent,))
        try:
            cron = add_cron(name="mycronjob", periodicity="@daily")
            run_now(portal, cron)
        finally:
            gsm.unregisterHandler(started, (IStartedCronJobEvent,))
            gsm.unregisterHandler(finished, (IFinishedCronJobEvent,))
        assert seen == [
            ("started", portal, cron.uid),
            ("finished", portal, cron.uid, Status.OK),
        ]


class TestMisfires:
    def test_late_job_runs_once_and_says_so(self, portal, recording):
        cron = add_cron(name="mycronjob", periodicity="0 * * * *")  # due 09:00
        set_now(datetime(2026, 1, 1, 12, 30))  # the site was down
        [(status, messages, _, _)] = run_due_jobs(portal)
        assert status == Status.OK
        assert messages == [
            "Ran 3h 30m 0s late; stands for 4 scheduled runs "
            "(2026-01-01 09:00:00, 2026-01-01 10:00:00, 2026-01-01 11:00:00, "
            "2026-01-01 12:00:00)"
        ]
        assert len(recording.calls) == 1
        [log] = logs_of(cron)
        assert (log.details["missed"], log.details["late_by"]) == (4, 12600.0)
        [job] = IQueue(portal).jobs
        assert job.begin_after == datetime(2026, 1, 1, 13, 0, tzinfo=UTC)

    def test_skip_policy_records_notrun(self, portal, recording):
        add_cron(name="mycronjob", periodicity="0 * * * *", misfire="skip")
        set_now(datetime(2026, 1, 1, 12, 30))
        [(status, messages, _, _)] = run_due_jobs(portal)
        assert status == Status.NOTRUN
        assert messages[0].startswith(
            "Skipped (misfire policy 'skip'): 4 scheduled runs (2026-01-01 09:00:00"
        )
        assert recording.calls == []
        [job] = IQueue(portal).jobs
        assert job.begin_after == datetime(2026, 1, 1, 13, 0, tzinfo=UTC)

    def test_on_time_job_is_not_a_misfire(self, portal, recording):
        add_cron(name="mycronjob", periodicity="0 * * * *")
        set_now(datetime(2026, 1, 1, 9, 0, 30))
        assert run_due_jobs(portal)[0][:2] == (Status.OK, [])


class TestOverrun:
    def test_followed_by_one_run_and_skipped_slots_logged(self, portal, recording):
        def long_run(runner):
            set_now(datetime(2026, 1, 1, 8, 3, 30))  # the run took 2.5 minutes

        recording.behaviour = long_run
        cron = add_cron(name="mycronjob", periodicity="* * * * *")  # due 08:01
        set_now(datetime(2026, 1, 1, 8, 1))
        assert run_due_jobs(portal)[0][:2] == (Status.OK, [])
        skipped, ran = logs_of(cron)
        assert ran.status == Status.OK
        assert skipped.status == Status.NOTRUN
        assert skipped.messages == [
            "Skipped 2 scheduled runs (2026-01-01 08:02:00, 2026-01-01 08:03:00): "
            "the previous run was still running"
        ]
        [job] = IQueue(portal).jobs
        assert job.begin_after == datetime(2026, 1, 1, 8, 4, tzinfo=UTC)
        recording.behaviour = None
        set_now(datetime(2026, 1, 1, 8, 4))
        assert len(run_due_jobs(portal)) == 1  # one run, not a pile-up


class TestHistoryApi:
    def test_delete_some_and_all_logs(self, portal, recording):
        from collective.cron.history import History

        cron = add_cron(name="mycronjob", periodicity="@daily", logs_limit=10)
        for minute in range(4):
            set_now(datetime(2026, 1, 1, 8, minute))
            run_now(portal, cron)
        history = History(portal)
        assert [log.date.minute for log in logs_of(cron)] == [3, 2, 1, 0]
        history.delete(cron.uid, [0, 2])
        assert [log.date.minute for log in logs_of(cron)] == [2, 0]
        history.clear(cron.uid)
        assert logs_of(cron) == []


class TestRunnerResults:
    """collective.cron.Result and CronWarning: say how a run went."""

    def run_with(self, portal, recording, behaviour):
        setRoles(portal, TEST_USER_ID, ["Manager"])  # may add content
        recording.behaviour = behaviour
        cron = add_cron(name="mycronjob", periodicity="@daily")
        [(status, messages, _, _)] = run_now(portal, cron)
        return status, messages, logs_of(cron)[0]

    def test_ok_with_a_message(self, portal, recording):
        from collective.cron import Result

        status, messages, log = self.run_with(
            portal, recording, lambda runner: Result("OK", "sent 3 mails")
        )
        assert (status, messages) == (Status.OK, ["sent 3 mails"])
        assert log.status == Status.OK

    def test_warn_with_messages(self, portal, recording):
        from collective.cron import Result

        status, messages, _ = self.run_with(
            portal, recording, lambda runner: Result(Status.WARN, ["a", "b"])
        )
        assert (status, messages) == (Status.WARN, ["a", "b"])

    def test_failure_without_raising_keeps_the_changes(self, portal, recording):
        from collective.cron import Result

        def behaviour(runner):
            api.content.create(container=portal, type="Document", id="kept")
            return Result("failure", "the feed was empty")

        status, messages, log = self.run_with(portal, recording, behaviour)
        assert (status, messages) == (Status.FAILURE, ["the feed was empty"])
        assert "traceback" not in log.details
        assert "kept" in portal.objectIds()

    def test_cron_warning_undoes_the_changes(self, portal, recording):
        from collective.cron import CronWarning

        def behaviour(runner):
            api.content.create(container=portal, type="Document", id="undone")
            raise CronWarning("nothing to import today")

        status, messages, log = self.run_with(portal, recording, behaviour)
        assert (status, messages) == (Status.WARN, ["nothing to import today"])
        assert "traceback" not in log.details
        assert "undone" not in portal.objectIds()

    def test_unknown_result_status_is_a_named_failure(self, portal, recording):
        from collective.cron import Result

        status, messages, _ = self.run_with(
            portal, recording, lambda runner: Result("SOMETIMES")
        )
        assert status == Status.FAILURE
        assert messages == [
            "ValueError: Result status 'SOMETIMES' is not one of "
            "FAILURE, OK, WARN, NOTRUN"
        ]
