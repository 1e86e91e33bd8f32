"""The job wrapper: run one due job of a site and record what happened.

For a claimed job it loads the cron, handles a misfire (a run found late), runs
the runner as the cron's user with StartedCronJobEvent / FinishedCronJobEvent
around it, retries on ConflictError, records a log in the history, and queues
the cron's next run. The runner's database changes are kept only when it
succeeds: a failure is recorded in a transaction of its own.

Transactions are handled by a policy object: `GroupCommit` (the dispatcher's
way: the runs of a claimed batch in one transaction, each in a savepoint),
`Commits` (each run committed alone: one-job batches, the command line, and
runners known to end their transaction themselves) or `Savepoints` (one outer
transaction that is never committed, used by tests through
collective.cron.testing.run_due_jobs).
"""

from AccessControl.SecurityManagement import getSecurityManager
from AccessControl.SecurityManagement import newSecurityManager
from AccessControl.SecurityManagement import setSecurityManager
from collective.cron import alerts
from collective.cron import audit
from collective.cron import clock
from collective.cron import logger
from collective.cron.crontab import Crontab
from collective.cron.crontab import Log
from collective.cron.crontab import Runner
from collective.cron.crontab import format_date
from collective.cron.events import FinishedCronJobEvent
from collective.cron.events import StartedCronJobEvent
from collective.cron.history import History
from collective.cron.interfaces import IQueue
from collective.cron.manager import FOREVER
from collective.cron.manager import is_scheduled
from collective.cron.manager import signature
from collective.cron.results import CronWarning
from collective.cron.results import Result
from collective.cron.runners import describe_missing
from collective.cron.runners import find_runner
from collective.cron.status import Status
from collective.cron.stored import changes_seen
from contextlib import contextmanager
from datetime import timedelta
from plone import api
from plone.api.exc import UserNotFoundError
from Products.CMFCore.indexing import processQueue
from transaction._transaction import Status as TxnStatus
from ZODB.POSException import ConflictError
from zope.component.hooks import getSite
from zope.component.hooks import setSite
from zope.event import notify
from zope.globalrequest import getRequest

import copy
import time
import traceback
import transaction


CONFLICT_TRIES = 3
# A job found due for longer than this was missed (no worker ran): misfire.
MISFIRE_GRACE = timedelta(seconds=60)
# Missed fire times counted at most (a seconds-level cron down for a day).
MAX_MISSED_COUNTED = 1000
MISSED_LISTED = 10


class Synchroniser:
    """A transaction synchroniser (transaction.interfaces.ISynchronizer) of
    `self.manager`, registered while used as a context manager; subclasses
    say what a transaction's end means to them (afterCompletion)."""

    def __enter__(self):
        self.manager.registerSynch(self)
        return self

    def __exit__(self, *exc_info):
        self.manager.unregisterSynch(self)

    def newTransaction(self, txn):
        pass

    def beforeCompletion(self, txn):
        pass

    def afterCompletion(self, txn):
        pass


class Policy:
    """What the transaction policies share: a run names itself in the
    transaction, and run_as looks each user up (`users`: see run_as)."""

    manager = transaction.manager
    users = None

    def describe(self, site, cron, login):
        _describe_transaction(self.manager.get(), site, cron, login)


class Savepoints(Policy):
    """Run inside the current transaction; undo a failed runner with a savepoint."""

    def begin(self):
        self._savepoint = transaction.savepoint(optimistic=True)
        return transaction.get()

    def commit(self):
        pass

    def abort(self, conflict=False):
        self._savepoint.rollback()


class Commits(Policy):
    """Each step in a transaction of its own, committed.

    `manager` defaults to `transaction.manager`, the thread's own: the one
    Plone code (catalog indexing, zope.sendmail, commit hooks) joins.
    """

    def __init__(self, manager=None):
        self.manager = manager or transaction.manager

    def begin(self):
        return self.manager.begin()

    def commit(self):
        self.manager.commit()

    def abort(self, conflict=False):
        self.manager.abort()


# The hook lists of a transaction (transaction 5) that a savepoint keeps and
# a rolled-back run's hooks must leave.
_HOOK_LISTS = ("_before_commit", "_after_commit", "_before_abort", "_after_abort")

# Crons whose runner committed, aborted or doomed the transaction of a group:
# this process runs them alone from then on (uids; a set is thread-safe for
# add and `in`).
RUN_ALONE = set()


class GroupCommit(Policy, Synchroniser):
    """The runs of one claimed batch in one transaction, each in a savepoint.

    A commit costs the same for one run as for thirty-two (its `fsync` most of
    all), so the dispatcher saves the runs of a batch together: when the
    batch ends, when the group has been open for `budget` seconds, or before
    a run as another user (a transaction names one user in the undo log).

    - A failing run is rolled back to its savepoint: the others keep theirs,
      and the after-commit hooks it added are dropped (mail it sent through
      the MailHost joined after the savepoint and goes with it).
    - When the group's transaction cannot be saved (a ConflictError at its
      commit) or was lost (a runner aborted or doomed it), the runs it held
      are listed in `to_rerun`: the caller runs each again in a transaction
      of its own, so one cron's conflict never loses or repeats another's
      database changes or mail.
    - A runner that commits saves the group's earlier runs with it; its own
      run is then committed at once, as `Commits` would.

    Also a transaction synchroniser (transaction.interfaces.ISynchronizer),
    registered while a run executes, to see a runner end the transaction.
    """

    def __init__(self, manager, budget):
        self.manager = manager
        self.budget = budget
        self.current = None  # the JobRun executing
        self.pending = []  # JobRuns whose work is in the open transaction
        self.to_rerun = []  # jobs whose run was lost with a transaction
        self.opened = None  # time.monotonic() of the group's first run
        self.user = None  # whom the group's runs ran as
        self.users = {}  # the users they adopted (see run_as)
        self.ended_by_runner = False
        self._txn = None
        self._savepoint = None
        self._hooks = ()
        self._own = False

    # -- synchroniser: a runner ending the transaction -------------------------

    def afterCompletion(self, txn):
        if self._own:
            return
        if txn.status != TxnStatus.COMMITTED:
            self.to_rerun.extend(run.job for run in self.pending)
        self._closed()
        self.ended_by_runner = True
        if self.current is not None:
            # Seen here, not when the runner returns: one that aborts and
            # then raises ended the group as well.
            RUN_ALONE.add(self.current.job.cron_uid)

    # -- the policy of a run -------------------------------------------------

    def begin(self):
        txn = self.manager.get()
        if self.opened is None:
            self.opened = time.monotonic()
        self._txn = txn
        if self.pending:
            # Index what the runs before wrote: on Plone 6.0 and 6.1, rolling
            # back a savepoint drops catalog work still queued before it.
            processQueue()
        self._savepoint = txn.savepoint(optimistic=True)
        self._hooks = tuple(len(getattr(txn, name, ())) for name in _HOOK_LISTS)
        return txn

    def commit(self):
        """The run ends: its work waits for the group's commit."""
        if self.ended_by_runner:
            # The runner ended the group's transaction: what the run wrote
            # since is alone in a new one. Save it now, as Commits would.
            self.ended_by_runner = False
            self._complete(self.manager.commit)
            self._closed()
            return
        if self.current is not None and self.current not in self.pending:
            self.pending.append(self.current)

    def abort(self, conflict=False):
        """Undo the current run: back to its savepoint; or, after a conflict
        (the transaction's view is stale) or when the savepoint cannot be
        rolled back, the whole transaction (the group's other runs are then
        to be run again)."""
        txn = self.manager.get()
        if txn.isDoomed() and self.current is not None:
            RUN_ALONE.add(self.current.job.cron_uid)  # as afterCompletion
        savepoint = self._savepoint
        if (
            not conflict
            and txn is self._txn
            and savepoint is not None
            and savepoint.valid
            and not txn.isDoomed()
        ):
            try:
                savepoint.rollback()
            except Exception:
                logger.info("Cron run: savepoint rollback failed", exc_info=True)
            else:
                # Hooks the run added go with it (a savepoint keeps them).
                for name, length in zip(_HOOK_LISTS, self._hooks, strict=True):
                    del getattr(txn, name, [])[length:]
                return
        self.abandon()

    def describe(self, site, cron, login):
        """Name the run in the transaction; first save the group's runs
        when this one is by another user (one user a transaction in the
        undo log), or when its last run was slow: finished runs must not
        wait for a long one, their crons would look running meanwhile."""
        if self.pending and (self.user != login or self._slow(site, cron)):
            self.flush()
            self.opened = time.monotonic()
        _describe_transaction(self.manager.get(), site, cron, login)
        self.user = login

    def _slow(self, site, cron):
        # The newest log as stored, when the cron's logs are not read yet: a
        # run does not parse them.
        stored = History(site).stored(cron.uid) if cron.logs_unread else ()
        if stored:
            newest = stored[0]
            duration = newest.get("duration") if isinstance(newest, dict) else None
        else:
            last = cron.logs[0] if cron.logs else None
            duration = last.details.get("duration") if last is not None else None
        return isinstance(duration, int | float) and duration >= self.budget

    # -- the group -------------------------------------------------------------

    def due(self):
        """True when the group has been open for its budget."""
        return self.opened is not None and time.monotonic() - self.opened >= self.budget

    def flush(self):
        """Commit the group's runs. If that fails, they are to be run again."""
        if self.pending:
            try:
                self._complete(self.manager.commit)
            except Exception as error:
                self._complete(self.manager.abort)
                logger.info(
                    "Group of %d run(s) not saved (%s: %s): each runs again alone",
                    len(self.pending),
                    type(error).__name__,
                    error,
                )
                self.to_rerun.extend(run.job for run in self.pending)
        self._closed()

    def abandon(self):
        """Abort the group's transaction; its runs are to be run again."""
        self._complete(self.manager.abort)
        self.to_rerun.extend(run.job for run in self.pending if run is not self.current)
        self._closed()

    def _complete(self, end):
        self._own = True
        try:
            end()
        finally:
            self._own = False

    def _closed(self):
        self.ended_by_runner = False
        self.pending = []
        self.opened = None
        self.user = None
        self.users = {}
        self._txn = self._savepoint = None


class TransactionWatch(Synchroniser):
    """Counts the commits and aborts a runner makes of its own, registered
    on the thread's manager only while the runner runs."""

    def __init__(self, manager):
        self.manager = manager
        self.commits = 0
        self.aborts = 0

    def afterCompletion(self, txn):
        if txn.status == TxnStatus.COMMITTED:
            self.commits += 1
        else:
            self.aborts += 1

    def message(self):
        """What a log says of the runner's own transaction handling, or None."""
        if self.aborts:
            return (
                f"The runner aborted the transaction {self.aborts} time(s): "
                "what it changed before the last abort was not saved"
            )
        return None


class UserMissing(Exception):
    """The user a job must run as does not exist."""


_SITE_OWNER = object()  # key of the site owner in run_as's `users`


def login_of(site, cron):
    """Whom a run of the cron acts as (see run_as)."""
    return cron.user or cron.saved_by or site.getOwner().getUserName()


@contextmanager
def run_as(site, cron, users=None):
    """Act as the cron's user, else who last saved it, else the site owner.

    Never as anyone with more rights: the user's own roles apply.
    `users`: what earlier runs of the same transaction adopted (login or
    _SITE_OWNER -> (login, user)); plone.api looks the user up through PAS
    at every switch, most of a switch's cost, so a group's runs as the same
    user look it up once.
    """
    login = cron.user or cron.saved_by
    key = login or _SITE_OWNER
    found = users.get(key) if users is not None else None
    if found is not None:
        login, user = found
        previous = getSecurityManager()
        newSecurityManager(getRequest(), user)
        try:
            yield login
        finally:
            setSecurityManager(previous)
        return
    if login:
        try:
            adopted = api.env.adopt_user(username=login)  # looks the user up now
        except UserNotFoundError:
            raise UserMissing(f"user {login!r} does not exist: the job did not run")
    else:
        owner = site.getOwner()
        login = owner.getUserName()
        adopted = api.env.adopt_user(user=owner)
    with adopted:
        if users is not None:
            users[key] = (login, getSecurityManager().getUser())
        yield login


def missed_times(cron, job, now, grace=MISFIRE_GRACE):
    """Fire times a late job stands for: [] when it is on time or forced.

    A job is late when it is due for longer than `grace` (a misfire), or when
    later fire times of its cron have passed too (a cron every 2 s started
    7 s late stands for 4 of them): every one of them is named in its log.
    """
    if job.forced:
        return []
    times = [job.begin_after]
    current = job.begin_after
    while len(times) < MAX_MISSED_COUNTED:
        current = cron.next_after(current)
        if current is None or current > now:
            break
        times.append(current)
    if len(times) == 1 and now - job.begin_after <= grace:
        return []
    return times


def is_misfire(job, now, grace=MISFIRE_GRACE):
    """True when the job is due for longer than `grace`: no worker ran it."""
    return not job.forced and now - job.begin_after > grace


def _describe_missed(times):
    listed = ", ".join(format_date(t) for t in times[:MISSED_LISTED])
    more = (
        f" and {len(times) - MISSED_LISTED} more" if len(times) > MISSED_LISTED else ""
    )
    plural = "s" if len(times) != 1 else ""
    return f"{len(times)} scheduled run{plural} ({listed}{more})"


def _late_details(times, now):
    return {
        "late_by": round((now - times[0]).total_seconds(), 3),
        "missed": len(times),
        "scheduled": [format_date(t) for t in times[:MISSED_LISTED]],
    }


def _human(delta):
    seconds = int(delta.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{hours}h"] if hours else []
    if minutes or hours:
        parts.append(f"{minutes}m")
    parts.append(f"{seconds}s")
    return " ".join(parts)


def _severity(status):
    """Order of statuses by how bad they are, for "the worse of two"."""
    return {Status.OK: 0, Status.NOTRUN: 1, Status.WARN: 2, Status.FAILURE: 3}[
        Status(status)
    ]


def _describe_transaction(txn, site, cron, login):
    """Name the run in the transaction, as the publisher names a request:
    the undo log and the database's history then say what did it."""
    if txn is None or not hasattr(txn, "note"):
        return
    txn.note(f"collective.cron: {cron.name} ({cron.uid})")
    txn.setUser(login, "/".join(site.getPhysicalPath()))


class JobRun:
    """One execution of a claimed job."""

    # The cron's logs as loaded (Cron.logs_state()), set when the run starts.
    logs_as_loaded = None

    def __init__(
        self,
        site,
        job,
        policy,
        worker=None,
        misfire_grace=MISFIRE_GRACE,
        token=None,
        queue=None,
    ):
        self.site = site
        self.job = job
        self.policy = policy
        self.worker = worker
        self.token = token
        self.misfire_grace = misfire_grace
        # `queue`: the site's, when the caller has it (the runs of a batch
        # share one: adapting a Dexterity site computes its interfaces).
        self.queue = queue if queue is not None else IQueue(site)
        self.history = History(site)

    def _still_ours(self):
        """False when the job was taken from us (our lease expired)."""
        job = self.queue.job(self.job.cron_uid)
        if self.worker is None:
            return job is self.job
        return (
            job is self.job
            and job.running
            and job.worker == self.worker
            and job.worker_token == self.token
        )

    @property
    def result_path(self):
        return tuple(self.site.getPhysicalPath())

    def execute(self):
        """Run the job; return (status, messages, cron_uid, site_path) or None.

        None: the cron is gone or no longer scheduled; the job is dropped.
        """
        job = self.job
        started = clock.now()
        crontab = Crontab.load(uids=[job.cron_uid], strict=False)
        cron = crontab.crons.get(job.cron_uid)
        if cron is None or not crontab.activated or not (cron.activated or job.forced):
            self.policy.begin()
            self.queue.finish(job)  # dropped
            self.policy.commit()
            return None
        self._keep_as_read(crontab, cron)
        # The logs as loaded (still unread: a run does not parse them), put
        # back before each try: a failed try must not leave its log in
        # memory. Those from 2.x registry data are for a cron whose history
        # has no record.
        self.logs_as_loaded = cron.logs_state()
        if job.slot is not None:
            following = cron.next_after(job.slot)
            if following is not None and following <= started:
                return self._retry_overtaken(cron, started, following)
        if job.environ_override:
            # "Run now" with arguments: this run only, never saved.
            cron.environ = {**cron.environ, **job.environ_override}
        # A retry is no scheduled time: late or not, it stands for its slot
        # alone (a retry the next slot overtook was handled above).
        missed = (
            []
            if job.slot is not None
            else missed_times(cron, job, started, self.misfire_grace)
        )
        if (
            missed
            and cron.misfire == "skip"
            and is_misfire(job, started, self.misfire_grace)
        ):
            message = (
                f"Skipped (misfire policy 'skip'): {_describe_missed(missed)} "
                "missed while no worker ran"
            )
            self.policy.begin()
            self.policy.describe(self.site, cron, login_of(self.site, cron))
            log = self._record(cron, Status.NOTRUN, [message], started, 0.0, missed)
            self._notify_finished(cron, log)
            self.policy.commit()
            return self._result(log)
        return self._run(cron, started, missed)

    def _run(self, cron, started, missed):
        failure = None
        committed_midway = False
        for attempt in range(1, CONFLICT_TRIES + 1):
            self.policy.begin()
            cron.restore_logs(self.logs_as_loaded)
            if not self._still_ours():
                logger.warning("Cron %s: job reclaimed from us, not run", cron.uid)
                self.policy.abort()
                return None
            clock_start = time.monotonic()
            watch = None
            try:
                with run_as(self.site, cron, self.policy.users) as login:
                    self.policy.describe(self.site, cron, login)
                    notify(StartedCronJobEvent(self.site, cron))
                    with TransactionWatch(self.policy.manager) as watch:
                        status, messages = self._call_runner(cron)
                    if transaction.get().isDoomed():
                        # Plone's way of saying "never commit this": honour
                        # it, and record the run in a transaction of its own.
                        self.policy.abort()
                        self.policy.begin()
                        watch.aborts += 1
                    if watch.message():
                        status = max(status, Status.WARN, key=_severity)
                        messages = [*messages, watch.message()]
                    duration = time.monotonic() - clock_start
                    log = self._record(
                        cron, status, messages, started, duration, missed
                    )
                    notify(FinishedCronJobEvent(self.site, cron, log))
                self.policy.commit()
                return self._result(log)
            except ConflictError as error:
                self.policy.abort(conflict=True)
                if watch is not None and watch.commits:
                    # Its committed work stays: running it again would
                    # repeat it. Record the run as it stands instead.
                    committed_midway = True
                    failure = (
                        error,
                        traceback.format_exc(),
                        time.monotonic() - clock_start,
                    )
                    break
                logger.info(
                    "Cron %s: conflict on try %d of %d: %s",
                    cron.uid,
                    attempt,
                    CONFLICT_TRIES,
                    error,
                )
                failure = (
                    error,
                    traceback.format_exc(),
                    time.monotonic() - clock_start,
                )
            except (UserMissing, CronWarning) as error:
                self.policy.abort()
                failure = (error, None, time.monotonic() - clock_start)
                break
            except Exception as error:
                self.policy.abort()
                failure = (
                    error,
                    traceback.format_exc(),
                    time.monotonic() - clock_start,
                )
                break
        error, trace, duration = failure
        self.policy.begin()
        cron.restore_logs(self.logs_as_loaded)
        if not self._still_ours():
            self.policy.abort()
            return None
        if committed_midway:
            message = (
                f"ConflictError after the runner committed part of its work: "
                f"not run again, to not repeat it ({error})"
            )
        elif isinstance(error, ConflictError):
            message = f"ConflictError: gave up after {CONFLICT_TRIES} tries ({error})"
        elif isinstance(error, (UserMissing, CronWarning)):
            message = str(error)
        else:
            message = f"{type(error).__name__}: {error}"
        status = Status.WARN if isinstance(error, CronWarning) else Status.FAILURE
        logger.warning(
            "Cron %s (%s) ended %s: %s", cron.uid, cron.name, status.name, message
        )
        details = {"traceback": trace} if trace else {}
        if status == Status.FAILURE and not committed_midway:
            retry_at = self._retry_time(cron, clock.now())
            if retry_at is not None:
                return self._retry(cron, started, duration, message, details, retry_at)
        log = self._record(
            cron, status, [message], started, duration, missed, **details
        )
        self._notify_finished(cron, log)
        self.policy.commit()
        return self._result(log)

    def _retry_time(self, cron, now):
        """When to try the failed run again, or None (no retry left, or it
        would reach the next scheduled run)."""
        attempt = self.job.attempt
        if attempt > cron.retries:
            return None
        slot = self.job.slot or self.job.begin_after
        following = cron.next_after(slot)
        delay = timedelta(seconds=cron.retry_delay * 2 ** (attempt - 1))
        if following is not None:
            delay = min(delay, following - slot)  # at most one interval
        retry_at = now + delay
        if following is not None and retry_at >= following:
            return None
        return retry_at

    def _retry(self, cron, started, duration, message, details, retry_at):
        """Log a failed attempt and queue the next one (same transaction).

        The log names the attempt; it is not the slot's log (the last attempt
        writes that one), so it has no `due`, and it sends no alert and no
        FinishedCronJobEvent.
        """
        attempt, attempts = self.job.attempt, cron.retries + 1
        log = Log(
            date=started,
            status=Status.WARN,
            messages=[
                f"Attempt {attempt} of {attempts} failed: {message}",
                f"Retrying at {format_date(retry_at)} UTC",
            ],
            duration=round(duration, 3),
            attempt=attempt,
            attempts=attempts,
            retry_at=format_date(retry_at),
            **({"worker": self.worker} if self.worker is not None else {}),
            **details,
        )
        self._add_log(cron, log)
        self.queue.retry(self.job, retry_at)
        self.policy.commit()
        return self._result(log)

    def _retry_overtaken(self, cron, started, following):
        """A retry that did not run before the next scheduled run: its slot
        ends FAILURE, and the schedule goes on from the next slot."""
        self.policy.begin()
        self.policy.describe(self.site, cron, login_of(self.site, cron))
        cron.restore_logs(self.logs_as_loaded)
        job = self.job
        log = Log(
            date=started,
            status=Status.FAILURE,
            messages=[
                f"Attempt {job.attempt} of {cron.retries + 1} not run: the next "
                f"scheduled run ({format_date(following)}) was due first"
            ],
            due=format_date(job.slot),
            attempt=job.attempt,
            **({"worker": self.worker} if self.worker is not None else {}),
        )
        self._count_failures(cron, log, started)
        self._add_log(cron, log)
        self._alert(cron, log)
        self.queue.finish(job, following, signature(cron))
        self._notify_finished(cron, log)
        self.policy.commit()
        return self._result(log)

    def _call_runner(self, cron):
        runner = find_runner(self.site, cron)
        if runner is None:
            return Status.NOTRUN, [describe_missing(cron)]
        owner = getattr(runner, "__self__", None)
        if cron.timeout and isinstance(owner, Runner):
            owner.deadline = clock.now() + timedelta(seconds=cron.timeout)
        output = runner()
        if isinstance(output, Result):
            return output.status, output.messages
        if output is None or output == [] or output == ():
            return Status.OK, []
        return Status.WARN, output

    def _record(self, cron, status, messages, started, duration, missed, **details):
        """Log the run, finish the job, queue the next run (same transaction)."""
        now = clock.now()
        if missed:
            details.update(_late_details(missed, started))
        details["due"] = format_date(self.job.slot or self.job.begin_after)
        if self.job.attempt > 1:
            details["attempt"] = self.job.attempt
            messages = [
                *messages,
                f"Attempt {self.job.attempt} of {cron.retries + 1}",
            ]
        if self.worker is not None:
            details["worker"] = self.worker
        if self.job.forced:
            details["forced"] = True
        if self.job.environ_override:
            details["environ_override"] = dict(self.job.environ_override)
        log = Log(
            date=started,
            status=status,
            messages=messages,
            duration=round(duration, 3),
            **details,
        )
        if missed and status != Status.NOTRUN:
            log.messages.append(
                f"Ran {_human(started - missed[0])} late; "
                f"stands for {_describe_missed(missed)}"
            )
        self._count_failures(cron, log, now)  # may add a message: first
        self._add_log(cron, log)
        self._alert(cron, log)
        swallowed = self._swallowed(cron, started, now)
        if swallowed:
            self._add_log(
                cron,
                Log(
                    date=now,
                    status=Status.NOTRUN,
                    messages=[
                        f"Skipped {_describe_missed(swallowed)}: "
                        "the previous run was still running"
                    ],
                    due=format_date(swallowed[0]),
                    missed=len(swallowed),
                    scheduled=[format_date(t) for t in swallowed[:MISSED_LISTED]],
                ),
            )
        self._reschedule(now)
        return log

    def _count_failures(self, cron, log, now):
        """Pause the cron after `pause_after_failures` failed runs in a row.

        The count lives in the cron's history record, which the run writes
        anyway; it is written only while failures go on or end.
        """
        limit = cron.pause_after_failures
        history = self.history
        failures = history.alerts(cron.uid).get("failures", 0)
        if log.status != Status.FAILURE:
            if failures:
                history.set_alerts(cron.uid, failures=0)
            return
        failures += 1
        history.set_alerts(cron.uid, failures=failures)
        if limit and failures >= limit and self.job.paused is None:
            reason = f"paused after {failures} failed runs in a row"
            self.queue.pause(
                self.job,
                {
                    "until": None,
                    "reason": reason,
                    "by": "collective.cron",
                    "at": now,
                    "resume_at": FOREVER,
                },
            )
            log.messages.append(f"The cron was {reason}: resume it to run it again")
            logger.warning("Cron %s: %s", cron.uid, reason)
            audit.AuditTrail(self.site).record(
                audit.PAUSED,
                uid=cron.uid,
                name=cron.name,
                changes=audit.pause_changes(None, None, reason),
                who=audit.SYSTEM,
            )

    def _notify_finished(self, cron, log):
        """FinishedCronJobEvent outside the run: as the cron's user where it
        exists (content rules act with its rights), else as the caller."""
        try:
            with run_as(self.site, cron, self.policy.users):
                notify(FinishedCronJobEvent(self.site, cron, log))
        except UserMissing:
            notify(FinishedCronJobEvent(self.site, cron, log))

    def _alert(self, cron, log):
        """Queue the run's alert mails; a broken alert never fails the run."""
        try:
            alerts.after_run(self.site, cron, log)
        except ConflictError:
            raise
        except Exception:
            logger.exception("Cron %s: deciding its alerts failed", cron.uid)

    def _add_log(self, cron, log):
        # Logs in the cron's stored text: the history's first record when it
        # has none yet (2.x data). While unread, the cron holds just those.
        loaded = self.logs_as_loaded
        legacy = loaded[0] if loaded is not None else cron.logs
        self.history.add(cron.uid, log, cron.logs_limit, legacy=legacy)
        if cron.logs_unread:
            return  # read later, from the history, which now holds it
        cron.logs.insert(0, log)
        del cron.logs[cron.logs_limit :]

    @staticmethod
    def _swallowed(cron, started, ended):
        """Fire times that passed while the run ran (it overran its slot)."""
        times = []
        current = cron.next_after(started)
        while (
            current is not None and current <= ended and len(times) < MAX_MISSED_COUNTED
        ):
            times.append(current)
            current = cron.next_after(current)
        return times

    def interrupted(
        self, reason, token=None, lease_ended=True, worker=None, prefix=None
    ):
        """Record a run whose worker was lost, and queue the next one.

        The log carries the slot the run stood for (`due`); the next run is
        queued at the cron's fire time after that slot, so that fire times
        that passed meanwhile are run late or skipped per the cron's misfire
        policy, and logged either way. `token` (and `worker`, when given):
        the lost process as the caller saw it; `lease_ended=False` when the
        caller knows the process is gone whatever the lease says (its name
        was taken over, or it is the caller, whose run broke). `prefix`: the
        log's first words.
        Returns False when the job is no longer lost (its worker finished it,
        or another worker reclaimed it first).
        """
        self.policy.begin()
        job = self.job
        now = clock.now()
        if not (
            self.queue.job(job.cron_uid) is job
            and job.running
            and job.worker_token == token
            and (worker is None or job.worker == worker)
            and (job.lease_until < now or not lease_ended)
        ):
            self.policy.abort()
            return False
        crontab = Crontab.load(uids=[job.cron_uid], strict=False)
        cron = crontab.crons.get(job.cron_uid)
        if cron is not None:
            claimed = format_date(job.claimed_at) if job.claimed_at else "?"
            details = {"due": format_date(job.begin_after), "worker": job.worker}
            if job.claimed_at is not None:
                details["claimed_at"] = claimed
            if job.forced:
                details["forced"] = True
            log = Log(
                date=now,
                status=Status.FAILURE,
                messages=[
                    f"{prefix or 'interrupted: worker lost'} "
                    f"({reason}; claimed at {claimed})"
                ],
                **details,
            )
            self.logs_as_loaded = cron.logs_state()
            self._add_log(cron, log)
            self._alert(cron, log)
            self._notify_finished(cron, log)
        self._reschedule(now, after_slot=None if job.forced else job.begin_after)
        self.policy.commit()
        return True

    def _keep_as_read(self, crontab, cron):
        """Remember the cron's settings as read at the start of the run."""
        kept = copy.copy(cron)
        # Detached: what the runner does to the crontab in memory is not
        # what is stored. A switched off crontab schedules nothing.
        kept._crontab = None
        self._as_read = (
            self.policy.manager.get(),
            changes_seen(),
            kept if crontab.activated else None,
        )

    def _stored_cron(self):
        """The cron's settings as stored now (None: deleted or switched off).

        Those read at the start of the run while the transaction is the same
        and nothing in it changed the crontab records since (the runs of a
        group share a transaction); else read again: an admin may have
        edited or deleted the cron meanwhile.
        """
        as_read = getattr(self, "_as_read", None)
        if (
            as_read is not None
            and as_read[0] is self.policy.manager.get()
            and as_read[1] == changes_seen()
        ):
            return as_read[2]
        crontab = Crontab.load(uids=[self.job.cron_uid], logs=False, strict=False)
        return crontab.crons.get(self.job.cron_uid)

    def _reschedule(self, now, after_slot=None):
        """Queue the next run from the cron's settings as they are now.

        `after_slot`: queue the fire time after this one, even if it passed.
        """
        cron = self._stored_cron()
        if cron is None or not is_scheduled(cron):
            self.queue.finish(self.job)
            return
        if after_slot is not None and signature(cron) == self.job.signature:
            following = cron.next_after(after_slot)
        else:  # a run now, or the schedule changed: from now on
            following = cron.next_after(now)
        self.queue.finish(self.job, following, signature(cron))

    def _result(self, log):
        return (
            int(log.status),
            list(log.messages),
            self.job.cron_uid,
            self.result_path,
        )


def claim(site, job, worker, lease, token=None):
    """Mark a pending job as running for `worker` for `lease` (a timedelta).

    `token`: the worker process's start token (see workers.py)."""
    return IQueue(site).claim(job, worker, clock.now() + lease, token)


def claim_and_run(
    site, job, worker, lease, manager=None, misfire_grace=MISFIRE_GRACE, token=None
):
    """Claim `job` in a committed transaction of its own, then run it.

    Returns the run's result, or None when another worker claimed the job
    first (our claim conflicted) or the job was dropped.
    """
    results = claim_and_run_many(
        site, [job], worker, lease, manager, misfire_grace, token
    )
    return results[0] if results else None


def claim_and_run_many(
    site,
    jobs,
    worker,
    lease,
    manager=None,
    misfire_grace=MISFIRE_GRACE,
    token=None,
    group_commit=0.0,
):
    """Claim several due jobs in one committed transaction, then run each.

    One claim commit for a batch costs much less per job than one each (see
    docs/performance.md). A conflict means another worker took some of them:
    nothing is claimed, and the jobs still pending are handed out again.
    `group_commit` (seconds, 0: off): the runs are saved together, in groups
    open at most that long (see GroupCommit). Returns the results of the runs.
    """
    manager = manager or transaction.manager
    queue = IQueue(site)
    try:
        for job in jobs:
            queue.claim(job, worker, clock.now() + lease, token)
        manager.commit()
    except ConflictError:
        manager.abort()
        return []
    batch = _Batch(site, queue, worker, manager, misfire_grace, token)
    if group_commit <= 0 or len(jobs) < 2:
        for job in jobs:
            batch.run_alone(job)
        return batch.finished()
    group = GroupCommit(manager, group_commit)
    for job in jobs:
        if job.cron_uid in RUN_ALONE:
            group.flush()
            batch.rerun(group)
            batch.run_alone(job)
            continue
        batch.run_in(group, job)
        if group.to_rerun or group.due():
            group.flush()
            batch.rerun(group)
    group.flush()
    batch.rerun(group)
    return batch.finished()


class _Batch:
    """The runs of claimed jobs, and their results by cron uid."""

    def __init__(self, site, queue, worker, manager, misfire_grace, token):
        self.site = site
        self.queue = queue
        self.worker = worker
        self.manager = manager
        self.misfire_grace = misfire_grace
        self.token = token
        self.results = {}

    def _job_run(self, job, policy):
        return JobRun(
            self.site,
            job,
            policy,
            worker=self.worker,
            misfire_grace=self.misfire_grace,
            token=self.token,
            queue=self.queue,
        )

    def run_in(self, group, job):
        run = self._job_run(job, group)
        group.current = run
        group.ended_by_runner = False
        try:
            with group:
                result = run.execute()
        except Exception as error:
            # The wrapper itself broke: the group's other runs go again
            # alone, and this job is given back (see run_alone).
            group.abandon()
            logger.exception("Cron %s: the job wrapper failed", job.cron_uid)
            _give_back(self._job_run(job, Commits(self.manager)), error)
            return
        finally:
            group.current = None
        if result is not None:
            self.results[job.cron_uid] = result

    def run_alone(self, job):
        run = self._job_run(job, Commits(self.manager))
        try:
            result = run.execute()
        except Exception as error:
            # The wrapper itself broke (a conflict on its own commit, a
            # subscriber that raises): never leave the job claimed by a live
            # worker, where no reclaim would ever take it back.
            self.manager.abort()
            logger.exception("Cron %s: the job wrapper failed", job.cron_uid)
            _give_back(run, error)
            return
        if result is not None:
            self.results[job.cron_uid] = result

    def rerun(self, group):
        """Run again, one per transaction, the jobs whose group was lost and
        that are still ours (a run whose work was saved is not)."""
        while group.to_rerun:
            job = group.to_rerun.pop(0)
            self.results.pop(job.cron_uid, None)
            self.manager.begin()
            still_ours = self._job_run(job, Commits(self.manager))._still_ours()
            self.manager.abort()
            if still_ours:
                self.run_alone(job)

    def finished(self):
        return list(self.results.values())


def _give_back(run, error):
    """Log a run whose wrapper broke as interrupted and queue the next slot.

    `run`: a JobRun of the job with a Commits policy."""
    reason = f"{type(error).__name__}: {error}"
    manager = run.policy.manager
    for _ in range(CONFLICT_TRIES):
        try:
            run.interrupted(
                reason,
                token=run.token,
                lease_ended=False,
                worker=run.worker,
                prefix="interrupted: the run could not be recorded",
            )
            return
        except ConflictError:
            manager.abort()
        except Exception:
            manager.abort()
            logger.exception("Cron %s: could not give the job back", run.job.cron_uid)
            return


def _lost_because(job, record, lease, now):
    """Why the process that claimed `job` is gone, or None if it may be alive.

    `record`: the WorkerRecord of the job's worker name, or None.
    """
    if record is None:
        return f"worker {job.worker} is not known"
    if job.worker_token is not None and record.token != job.worker_token:
        return (
            f"worker {job.worker} restarted: pid {record.pid} on {record.host} "
            f"since {format_date(record.started)}"
        )
    # The worker's own heartbeat gap counts too: a worker with a slow
    # heartbeat must not lose its runs to a worker with a short lease.
    if record.last_seen + max(lease, timedelta(seconds=2 * record.gap)) < now:
        return (
            f"worker {job.worker} sent no heartbeat since "
            f"{format_date(record.last_seen)}"
        )
    return None


def reclaim_lost_jobs(site, lease, worker_record, manager=None, now=None, running=None):
    """Give back running jobs whose worker process is gone; return how many.

    A job is lost when its lease ended and the process that claimed it is
    gone: its worker has not sent a heartbeat for `lease` (a timedelta), or
    a new process beats under its name. `worker_record(name)` returns the
    worker's record (see workers.record_of). Each is logged FAILURE
    "interrupted: worker lost" and rescheduled, in a committed transaction of
    its own (a conflict: another worker did it). `running`: the running jobs,
    when the caller has just listed them.
    """
    now = now or clock.now()
    manager = manager or transaction.manager
    if running is None:
        expired = IQueue(site).expired_leases(now)
    else:
        expired = [job for job in running if job.lease_until < now]
    count = 0
    for job in expired:
        reason = _lost_because(job, worker_record(job.worker), lease, now)
        if reason is None:
            continue  # the worker is alive: its run goes on
        try:
            count += JobRun(site, job, Commits(manager)).interrupted(
                reason, token=job.worker_token
            )
        except ConflictError:
            manager.abort()
    return count


def release_earlier_processes_jobs(site, worker, token, record, manager=None):
    """At a worker's start: give back what earlier processes of its name held.

    A job running under `worker` with another process token than ours
    (`token`) was claimed by a process that is gone (names repeat across
    restarts): it is logged "interrupted" and rescheduled at once, lease or
    not. `record`: our WorkerRecord (for the log). Returns how many.
    """
    manager = manager or transaction.manager
    held = [
        (job, job.worker_token)
        for job in IQueue(site).running_jobs(now=clock.now())
        if job.worker == worker and job.worker_token != token
    ]
    count = 0
    for job, earlier in held:
        reason = (
            f"worker {worker} restarted: pid {record.pid} on {record.host} "
            f"since {format_date(record.started)}"
        )
        try:
            count += JobRun(site, job, Commits(manager)).interrupted(
                reason, token=earlier, lease_ended=False, worker=worker
            )
        except ConflictError:
            manager.abort()
    return count


def run_due_jobs(site, commit=False, worker="local", lease=timedelta(minutes=5)):
    """Run every job of `site` due at the clock's now, earliest first.

    Both modes use the thread's default transaction manager, as worker
    threads do. commit=False (tests): everything happens in the current
    transaction, a failed runner is undone with a savepoint (after-commit
    hooks and mail wait for the caller's commit). commit=True: each claim and
    each run is committed, as the dispatcher does. Returns one
    (status, messages, cron_uid, site_path) tuple per run.
    """
    previous = getSite()
    setSite(site)
    try:
        results = []
        for job in IQueue(site).due_jobs():
            if commit:
                result = claim_and_run(site, job, worker, lease)
            else:
                claim(site, job, worker, lease)
                result = JobRun(site, job, Savepoints()).execute()
            if result is not None:
                results.append(result)
        return results
    finally:
        setSite(previous)


def flag_overdue_runs(site, running, manager=None, now=None):
    """Log WARN once for each running job past its cron's timeout; alert.

    The run goes on (Python cannot stop a thread): the log says so, the
    dashboard shows it "running (overdue)", and alerts treat it as a failure.
    Each flag is committed alone (a conflict: another worker flagged it).
    Returns how many were flagged.
    """
    now = now or clock.now()
    manager = manager or transaction.manager
    candidates = [job for job in running if job.claimed_at is not None]
    if not candidates:
        return 0
    crontab = Crontab.load(
        uids=[job.cron_uid for job in candidates], logs=False, strict=False
    )
    history = History(site)
    flagged = 0
    for job in candidates:
        cron = crontab.crons.get(job.cron_uid)
        if cron is None or not cron.timeout:
            continue
        if now - job.claimed_at <= timedelta(seconds=cron.timeout):
            continue
        log = Log(
            date=now,
            status=Status.WARN,
            messages=[
                f"running for longer than {_human(timedelta(seconds=cron.timeout))} "
                f"(started {format_date(job.claimed_at)} UTC, worker {job.worker}); "
                "it goes on: Python cannot stop it"
            ],
            overdue=True,
            worker=job.worker,
        )
        try:
            if history.warn_overdue(cron.uid, job.claimed_at, log, cron.logs_limit):
                alerts.on_overdue(site, cron, log, now)
                manager.commit()
                flagged += 1
            else:
                manager.abort()
        except ConflictError:
            manager.abort()
        manager.begin()
    return flagged
