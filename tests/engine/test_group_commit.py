"""Group commit: the runs of a claimed batch saved in one transaction.

Real dispatcher threads on the functional layer's database run batches of
crons queued in a known order; what a user sees afterwards is read from a
new transaction: the catalog, the ZODB, the database's transaction history,
mail that reached a real SMTP server through the site's MailHost.
"""

from collective.cron import dispatcher as dispatcher_module
from collective.cron import job as job_module
from collective.cron.crontab import Cron
from collective.cron.crontab import Crontab
from collective.cron.crontab import Log
from collective.cron.crontab import Runner
from collective.cron.dispatcher import BATCH_SIZE
from collective.cron.history import History
from collective.cron.interfaces import IQueue
from collective.cron.status import Status
from datetime import timedelta
from persistent.mapping import PersistentMapping
from plone import api
from plone.app.testing import TEST_USER_ID
from plone.app.testing import TEST_USER_NAME
from tests.engine.test_run_path import AbortHalfway
from tests.engine.test_run_path import CommitHalfway
from tests.engine.test_run_path import CreateDocument
from tests.engine.test_run_path import Doomed
from tests.engine.test_run_path import catalogued
from tests.engine.test_run_path import documented_runner
from tests.support.instances import wait_for
from tests.support.smtp import site_mail_to_sink

import collective.cron.clock as clock
import pytest
import threading
import time
import transaction


@pytest.fixture
def smtp(site):
    with site_mail_to_sink("cron@example.org", "Cron") as sink:
        yield sink


@pytest.fixture(autouse=True)
def forget_runs_alone():
    before = set(job_module.RUN_ALONE)
    yield
    job_module.RUN_ALONE.intersection_update(before)


def queue_batch(site, *specs, user=None):
    """Crons (name, environ, user) with "Run now" jobs due in this order."""
    crontab = Crontab.load()
    crons = []
    for name, environ, *rest in specs:
        cron = Cron(name=name, periodicity="@yearly", environ=environ, crontab=crontab)
        if rest:
            cron.user = rest[0]
        crons.append(cron)
    crontab.save()
    queue = IQueue(site)
    now = clock.now()
    for position, cron in enumerate(crons):
        due = now - timedelta(seconds=len(crons) - position)
        queue.schedule(cron.uid, due, forced=True)
    transaction.commit()
    return [cron.uid for cron in crons]


def logs_of(uids):
    transaction.begin()
    crontab = Crontab.load(uids=uids)
    return {uid: crontab.by_uid(uid).logs for uid in uids}


def wait_for_logs(uids, timeout=30):
    def every_one_logged():
        logs = logs_of(uids)
        return logs if all(logs.values()) else None

    return wait_for(every_one_logged, timeout, interval=0.05, message="every log")


def run_transactions(db, before):
    """(description, user) of the transactions that saved runs, oldest first."""
    return [
        (t.description.decode(), t.user.decode())
        for t in db.storage.iterator()
        if t.tid > before and t.description.startswith(b"collective.cron: ")
    ]


def create(name_of_document):
    return ("create-document", {"id": name_of_document})


@pytest.fixture
def runners(register_runner):
    register_runner(CreateDocument, "create-document")


# 600: a budget no run reaches (a first document made in a process is slow).
@pytest.mark.parametrize("group_commit", ["600", "0"])
def test_runs_of_a_batch_are_saved_together_unless_turned_off(
    site, runners, start_dispatcher, group_commit
):
    uids = queue_batch(site, *(create(f"doc-{n}") for n in range(5)))
    db = site._p_jar.db()
    before = db.lastTransaction()
    start_dispatcher(**{"group-commit": group_commit})
    logs = wait_for_logs(uids)
    assert [logs[uid][0].status for uid in uids] == [Status.OK] * 5
    assert catalogued(*(f"doc-{n}" for n in range(5))) == {f"doc-{n}" for n in range(5)}
    saved = run_transactions(db, before)
    notes = [f"collective.cron: create-document ({uid})" for uid in uids]
    if group_commit == "0":
        assert [description for description, _ in saved] == notes
    else:
        # One transaction names every run, in the order they ran.
        assert [description for description, _ in saved] == ["\n".join(notes)]
    assert {user for _, user in saved} == {f"/plone {TEST_USER_NAME}"}


class FailingNewsletter(Runner):
    """Mails, creates a document, adds an after-commit hook, then fails."""

    hook_calls = []

    def run(self):
        documented_runner("Sending mail from a runner")["Newsletter"](
            self.context, self.cron
        ).run()
        api.content.create(container=self.context, type="Document", id="failed")
        transaction.get().addAfterCommitHook(self.hook_calls.append)
        raise RuntimeError("the newsletter broke after sending")


def test_a_failing_run_is_rolled_back_alone(
    site, smtp, runners, register_runner, start_dispatcher
):
    newsletter = documented_runner("Sending mail from a runner")["Newsletter"]
    register_runner(newsletter, "newsletter")
    register_runner(FailingNewsletter, "failing-newsletter")
    FailingNewsletter.hook_calls.clear()
    to = "reader@example.org"
    uids = queue_batch(
        site,
        create("before"),
        ("newsletter", {"to": to, "subject": "First"}),
        ("failing-newsletter", {"to": to, "subject": "Never"}),
        ("newsletter", {"to": to, "subject": "Last"}),
        create("after"),
    )
    db = site._p_jar.db()
    before = db.lastTransaction()
    # A budget no run reaches: the default 0.2 s split this group on a slow
    # CI machine (a first document and a first mail in a process are slow).
    start_dispatcher(**{"group-commit": "600"})
    logs = wait_for_logs(uids)
    statuses = [logs[uid][0].status for uid in uids]
    assert statuses == [Status.OK, Status.OK, Status.FAILURE, Status.OK, Status.OK]
    assert "the newsletter broke after sending" in logs[uids[2]][0].messages[0]
    assert catalogued("before", "failed", "after") == {"before", "after"}
    wait_for(lambda: len(smtp.messages) >= 2, 20, interval=0.05, message="mail")
    assert sorted(smtp.subjects()) == ["First", "Last"]
    assert FailingNewsletter.hook_calls == []
    # The failure did not split the group: one transaction saved all five.
    assert len(run_transactions(db, before)) == 1


CALLS = []
CONFLICTED = []


class CountInSite(Runner):
    """Counts its runs in a mapping of the site; the runner named
    "conflicting" also changes that mapping from another connection, once,
    so the group's commit meets a ConflictError."""

    def run(self):
        name = self.cron.environ["key"]
        CALLS.append(name)
        counts = self.context._group_counts
        counts[name] = counts.get(name, 0) + 1
        if self.cron.environ.get("conflict") and not CONFLICTED:
            CONFLICTED.append(name)
            other = self.context._p_jar.db().open(
                transaction_manager=transaction.TransactionManager()
            )
            try:
                outside = other.get(counts._p_oid)
                outside["outside"] = 1
                other.transaction_manager.commit()
            finally:
                other.close()


def test_a_conflict_at_the_group_commit_runs_each_again_alone(
    site, register_runner, start_dispatcher
):
    register_runner(CountInSite, "count")
    CALLS.clear()
    CONFLICTED.clear()
    site._group_counts = PersistentMapping()
    transaction.commit()
    uids = queue_batch(
        site,
        ("count", {"key": "a"}),
        ("count", {"key": "b"}),
        ("count", {"key": "c", "conflict": True}),
    )
    # A budget no run reaches, so the three are one group however slow.
    start_dispatcher(**{"group-commit": "600"})
    logs = wait_for_logs(uids)
    assert [len(logs[uid]) for uid in uids] == [1, 1, 1]
    assert [logs[uid][0].status for uid in uids] == [Status.OK] * 3
    transaction.begin()
    # Each cron's change saved once: none lost with the group, none doubled.
    assert dict(site._group_counts) == {"a": 1, "b": 1, "c": 1, "outside": 1}
    # The group ran each runner, then each ran again in a transaction alone.
    assert CALLS == ["a", "b", "c", "a", "b", "c"]


class AbortThenRaise(Runner):
    """The usual `except: transaction.abort(); raise`."""

    def run(self):
        api.content.create(container=self.context, type="Document", id="half-done")
        transaction.abort()
        raise RuntimeError("gave up")


@pytest.mark.parametrize(
    ("runner", "name", "status", "kept", "lost"),
    [
        (AbortHalfway, "aborts", Status.WARN, {"after-abort"}, {"aborted"}),
        (Doomed, "doomed", Status.WARN, set(), {"doomed"}),
        (AbortThenRaise, "gives-up", Status.FAILURE, set(), {"half-done"}),
        (CommitHalfway, "batch", Status.OK, {"first-half", "second-half"}, set()),
    ],
)
def test_a_runner_that_ends_the_transaction_loses_no_other_run(
    site, runners, register_runner, start_dispatcher, runner, name, status, kept, lost
):
    register_runner(runner, name)
    uids = queue_batch(site, create("one"), (name, {}), create("two"))
    dispatcher = start_dispatcher()
    logs = wait_for_logs(uids)
    assert [len(logs[uid]) for uid in uids] == [1, 1, 1]
    assert logs[uids[0]][0].status == Status.OK
    assert logs[uids[2]][0].status == Status.OK
    ended = logs[uids[1]][0]
    assert ended.status == status
    if status == Status.WARN:
        assert "aborted the transaction" in ended.messages[-1]
    assert catalogued("one", "two", *kept, *lost) == {"one", "two", *kept}
    # This process now runs that cron alone, its neighbours still grouped.
    assert uids[1] in job_module.RUN_ALONE
    assert uids[0] not in job_module.RUN_ALONE
    transaction.begin()
    assert not any(IQueue(site).job(uid).running for uid in uids)
    assert dispatcher.in_flight == set()


def test_runs_as_other_users_are_saved_in_transactions_of_their_own(
    site, runners, start_dispatcher
):
    api.user.create(email="editor@example.org", username="editor", password="x" * 12)
    api.user.grant_roles(username="editor", roles=["Manager"])
    transaction.commit()
    uids = queue_batch(
        site,
        ("create-document", {"id": "one"}, TEST_USER_NAME),
        ("create-document", {"id": "two"}, TEST_USER_NAME),
        ("create-document", {"id": "three"}, "editor"),
        ("create-document", {"id": "four"}, TEST_USER_NAME),
    )
    db = site._p_jar.db()
    before = db.lastTransaction()
    # A budget no run reaches (a first document made in a process is slow).
    start_dispatcher(**{"group-commit": "600"})
    wait_for_logs(uids)
    saved = run_transactions(db, before)
    note = "collective.cron: create-document ({})".format
    assert saved == [
        (f"{note(uids[0])}\n{note(uids[1])}", f"/plone {TEST_USER_NAME}"),
        (note(uids[2]), "/plone editor"),
        (note(uids[3]), f"/plone {TEST_USER_NAME}"),
    ]
    transaction.begin()
    # The second run as a user in a group switches to the user found by the
    # first (run_as's cache): each document is still made by its cron's user.
    creators = {id: site[id].Creator() for id in ("one", "two", "three", "four")}
    assert creators == {
        "one": TEST_USER_ID,
        "two": TEST_USER_ID,
        "three": "editor",
        "four": TEST_USER_ID,
    }


def test_runs_before_a_cron_whose_last_run_was_slow_do_not_wait_for_it(
    site, runners, start_dispatcher
):
    uids = queue_batch(site, create("quick"), create("slow-last-time"))
    History(site).set(uids[1], [Log(date=clock.now(), status=Status.OK, duration=30.0)])
    transaction.commit()
    db = site._p_jar.db()
    before = db.lastTransaction()
    start_dispatcher()
    wait_for(
        lambda: len(logs_of(uids)[uids[1]]) == 2, 30, interval=0.05, message="its run"
    )
    saved = [description for description, _ in run_transactions(db, before)]
    assert saved == [f"collective.cron: create-document ({uid})" for uid in uids]


def test_a_skipped_misfire_is_named_in_its_group_transaction(
    site, runners, start_dispatcher
):
    [quick] = queue_batch(site, create("quick"))
    crontab = Crontab.load()
    cron = Cron(name="create-document", periodicity="0 * * * *", crontab=crontab)
    cron.misfire = "skip"
    crontab.save()
    IQueue(site).schedule(cron.uid, clock.now() - timedelta(hours=2))
    transaction.commit()
    db = site._p_jar.db()
    before = db.lastTransaction()
    start_dispatcher()
    logs = wait_for_logs([quick, cron.uid])
    assert logs[cron.uid][0].status == Status.NOTRUN
    assert logs[cron.uid][0].messages[0].startswith("Skipped (misfire policy 'skip')")
    notes = "\n".join(description for description, _ in run_transactions(db, before))
    assert f"collective.cron: create-document ({cron.uid})" in notes
    assert f"collective.cron: create-document ({quick})" in notes


class EditOwnCron(Runner):
    """Changes its own cron: "stored" saves a new periodicity through the
    crontab API; "in memory" switches the cron and its crontab off in
    memory only, saving nothing."""

    def run(self):
        if self.cron.environ["how"] == "stored":
            cron = Crontab.load(uids=[self.cron.uid]).by_uid(self.cron.uid)
            cron.periodicity = "0 12 * * *"
            cron.save()
        else:
            self.cron.activated = False
            self.cron.crontab.activated = False


def test_the_next_run_is_queued_from_the_settings_stored_at_the_end_of_the_run(
    site, runners, register_runner, start_dispatcher
):
    # The runs of a group share a transaction: what one run's runner saved
    # in it is what the next run is queued from; what it changed in memory
    # only is not.
    register_runner(EditOwnCron, "edit-own")
    uids = queue_batch(
        site,
        create("first"),
        ("edit-own", {"how": "stored"}),
        ("edit-own", {"how": "in memory"}),
        create("last"),
    )
    for uid in uids:  # scheduled crons, run now
        IQueue(site).schedule(uid, clock.now() - timedelta(seconds=1), forced=True)
    transaction.commit()
    start_dispatcher()
    logs = wait_for_logs(uids)
    assert [logs[uid][0].status for uid in uids] == [Status.OK] * 4
    transaction.begin()
    crontab = Crontab.load()
    assert crontab.activated
    queue = IQueue(site)
    stored, in_memory = (crontab.by_uid(uid) for uid in uids[1:3])
    assert stored.periodicity == "0 12 * * *"
    assert in_memory.activated and in_memory.periodicity == "@yearly"
    edited_next = queue.pending_job(stored.uid).begin_after
    assert edited_next == stored.next_after(logs[stored.uid][0].date)
    assert (edited_next.hour, edited_next.minute) == (12, 0)
    kept_next = queue.pending_job(in_memory.uid).begin_after
    assert kept_next == in_memory.next_after(logs[in_memory.uid][0].date)
    assert (kept_next.month, kept_next.day) == (1, 1)


def test_a_thread_handed_many_due_jobs_claims_and_saves_them_in_batches(
    site, runners, start_dispatcher
):
    # 40 jobs due at once go to the one thread as one task; it claims and
    # saves them a batch (at most BATCH_SIZE runs) at a time.
    uids = queue_batch(site, *(create(f"many-{n}") for n in range(40)))
    db = site._p_jar.db()
    before = db.lastTransaction()
    # A budget no batch reaches: only the batches' ends save their runs.
    dispatcher = start_dispatcher(threads="1", **{"group-commit": "600"})
    logs = wait_for_logs(uids, timeout=60)
    assert all(logs[uid][0].status == Status.OK for uid in uids)
    saved = [notes.splitlines() for notes, _ in run_transactions(db, before)]
    assert sorted(line for lines in saved for line in lines) == sorted(
        f"collective.cron: create-document ({uid})" for uid in uids
    )
    assert len(saved) >= -(-40 // BATCH_SIZE)
    assert max(len(lines) for lines in saved) <= BATCH_SIZE
    # The pace the dispatcher measures once the task ends: seconds a job.
    wait_for(lambda: dispatcher.pace, 20, interval=0.05, message="the pace")
    [pace] = dispatcher.pace.values()
    assert 0 < pace < 60


def test_a_task_held_too_long_gives_its_next_batches_back(
    site, runners, start_dispatcher, monkeypatch
):
    # Every task counts as held too long after its first batch: the jobs of
    # its other batches go back and are handed out again; each runs once.
    monkeypatch.setattr(dispatcher_module, "HELD_TOO_LONG", 0.0)
    uids = queue_batch(site, *(create(f"given-back-{n}") for n in range(40)))
    # One thread: documents made in one folder by two threads at once
    # conflict (the runners' own writes), which is not the point here.
    start_dispatcher(threads="1", **{"group-commit": "600"})
    logs = wait_for_logs(uids, timeout=60)
    transaction.begin()
    assert {uid: len(logs[uid]) for uid in uids} == dict.fromkeys(uids, 1)
    assert {logs[uid][0].status for uid in uids} == {Status.OK}, [
        (logs[uid][0].status, logs[uid][0].messages, logs[uid][0].details)
        for uid in uids
        if logs[uid][0].status != Status.OK
    ]
    assert catalogued(*(f"given-back-{n}" for n in range(40))) == {
        f"given-back-{n}" for n in range(40)
    }


def run_tasks(monkeypatch):
    """How many jobs each task of the dispatcher's threads ran, in the order
    they ended (a look may hand out a job that just ran: none of a task)."""
    tasks = []
    run_task = dispatcher_module.Dispatcher._run_task

    def counted(self, session, path, uids, batch=None):
        ran = run_task(self, session, path, uids, batch)
        if ran:
            tasks.append(ran)
        return ran

    monkeypatch.setattr(dispatcher_module.Dispatcher, "_run_task", counted)
    return tasks


class WhichThread(Runner):
    """A quick run that remembers the worker thread it ran in."""

    threads = []

    def run(self):
        type(self).threads.append(threading.current_thread().name)


def test_a_sites_quick_runs_stay_on_the_thread_that_ran_them(
    site, register_runner, start_dispatcher, monkeypatch
):
    # Three threads, 100 quick jobs due at once: a first job tells the pace,
    # then tasks of the 99 others, each to the thread that ran the last one
    # (its connection holds what that one wrote). Every pace counts as quick
    # and no task as held too long, however slow this machine is today.
    monkeypatch.setattr(dispatcher_module, "QUICK_PACE", 600.0)
    monkeypatch.setattr(dispatcher_module, "HELD_TOO_LONG", 600.0)
    tasks = run_tasks(monkeypatch)
    register_runner(WhichThread, "which-thread")
    WhichThread.threads = []
    uids = queue_batch(site, *(("which-thread", {}) for _ in range(100)))
    start_dispatcher(threads="3", **{"group-commit": "600"})
    wait_for_logs(uids, timeout=60)
    assert len(WhichThread.threads) == 100
    assert tasks[0] == 1 and sum(tasks) == 100 and len(tasks) >= 2, tasks
    assert len(set(WhichThread.threads)) == 1, WhichThread.threads


class SlowOnce(Runner):
    """A run that takes `first` seconds the first time, `then` after (a
    thread's first run of a site, which loads the site's objects, is slower
    than the next); remembers the worker thread of each run."""

    first, then = 0.0, 0.0
    threads = []

    def run(self):
        cls = type(self)
        time.sleep(cls.then if cls.threads else cls.first)
        cls.threads.append(threading.current_thread().name)


def test_a_slow_first_run_on_a_cold_thread_does_not_spread_quick_runs(
    site, register_runner, start_dispatcher, monkeypatch
):
    # The first run after the process started pays for a cold connection.
    # Taken as the site's pace, it spread quick runs over every thread,
    # where they only contend (the first slot of 200 quick crons started
    # its last run twice as late). The next job is tried on that thread,
    # now warm; quick, the others follow it there.
    monkeypatch.setattr(dispatcher_module, "QUICK_PACE", 0.5)
    monkeypatch.setattr(dispatcher_module, "HELD_TOO_LONG", 600.0)
    tasks = run_tasks(monkeypatch)
    register_runner(SlowOnce, "slow-once")
    # Not 1 s: the dispatcher looks each second while a task holds a job.
    monkeypatch.setattr(SlowOnce, "first", 0.7)
    monkeypatch.setattr(SlowOnce, "threads", [])
    uids = queue_batch(site, *(("slow-once", {}) for _ in range(40)))
    dispatcher = start_dispatcher(threads="3", **{"group-commit": "600"})
    wait_for_logs(uids, timeout=60)
    assert len(SlowOnce.threads) == 40
    assert tasks[:3] == [1, 1, 38], tasks
    assert len(set(SlowOnce.threads)) == 1, SlowOnce.threads
    [pace] = dispatcher.pace.values()
    assert pace <= 0.5


def test_runs_slow_on_a_warm_thread_too_are_spread_over_the_threads(
    site, register_runner, start_dispatcher, monkeypatch
):
    # Slow again on the warm thread: the site is slow, its runs are spread.
    monkeypatch.setattr(dispatcher_module, "QUICK_PACE", 0.05)
    monkeypatch.setattr(dispatcher_module, "HELD_TOO_LONG", 600.0)
    tasks = run_tasks(monkeypatch)
    register_runner(SlowOnce, "slow-always")
    monkeypatch.setattr(SlowOnce, "first", 0.1)
    monkeypatch.setattr(SlowOnce, "then", 0.1)
    monkeypatch.setattr(SlowOnce, "threads", [])
    uids = queue_batch(site, *(("slow-always", {}) for _ in range(12)))
    start_dispatcher(threads="3", **{"group-commit": "600"})
    wait_for_logs(uids, timeout=60)
    assert len(SlowOnce.threads) == 12
    assert tasks[:2] == [1, 1], tasks
    assert sorted(tasks[2:5]) == [2, 4, 4], tasks
    assert len(set(SlowOnce.threads[2:])) == 3, SlowOnce.threads
