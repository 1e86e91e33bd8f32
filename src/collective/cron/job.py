"""The job wrapper: run one due job of a site and record what happened.

For a claimed job it loads the cron, handles a misfire (a run found late), runs
the runner as the cron's user with StartedCronJobEvent / FinishedCronJobEvent
around it, retries on ConflictError, records a log in the history, and queues
the cron's next run. The runner's database changes are kept only when it
succeeds: a failure is recorded in a transaction of its own.

Transactions are handled by a policy object: `Commits` (real commits, used by
the dispatcher) or `Savepoints` (one outer transaction that is never
committed, used by tests through collective.cron.testing.run_due_jobs).
"""

from collective.cron import clock
from collective.cron import logger
from collective.cron.crontab import Crontab
from collective.cron.crontab import Log
from collective.cron.crontab import format_date
from collective.cron.events import FinishedCronJobEvent
from collective.cron.events import StartedCronJobEvent
from collective.cron.history import History
from collective.cron.interfaces import IQueue
from collective.cron.manager import is_scheduled
from collective.cron.manager import signature
from collective.cron.runners import describe_missing
from collective.cron.runners import find_runner
from collective.cron.status import Status
from contextlib import contextmanager
from datetime import timedelta
from plone import api
from plone.api.exc import UserNotFoundError
from ZODB.POSException import ConflictError
from zope.component.hooks import getSite
from zope.component.hooks import setSite
from zope.event import notify
import time
import traceback
import transaction


CONFLICT_TRIES = 3
# A job found due for longer than this was missed (no worker ran): misfire.
MISFIRE_GRACE = timedelta(seconds=60)
# Missed fire times counted at most (a seconds-level cron down for a day).
MAX_MISSED_COUNTED = 1000
MISSED_LISTED = 10


class Savepoints:
    """Run inside the current transaction; undo a failed runner with a savepoint."""

    def begin(self):
        self._savepoint = transaction.savepoint(optimistic=True)

    def commit(self):
        pass

    def abort(self):
        self._savepoint.rollback()


class Commits:
    """Each step in a transaction of its own, committed (the dispatcher's way)."""

    def __init__(self, manager=None):
        self.manager = manager or transaction.manager

    def begin(self):
        self.manager.begin()

    def commit(self):
        self.manager.commit()

    def abort(self):
        self.manager.abort()


class UserMissing(Exception):
    """The user a job must run as does not exist."""


@contextmanager
def run_as(site, cron):
    """Act as the cron's user, else who last saved it, else the site owner.

    Never as anyone with more rights: the user's own roles apply.
    """
    login = cron.user or cron.saved_by
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
        yield login


def missed_times(cron, job, now):
    """Fire times a late job stands for: [] when it is on time or forced."""
    if job.forced or now - job.begin_after <= MISFIRE_GRACE:
        return []
    times = [job.begin_after]
    current = job.begin_after
    while len(times) < MAX_MISSED_COUNTED:
        current = cron.next_after(current)
        if current is None or current > now:
            break
        times.append(current)
    return times


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


class JobRun:
    """One execution of a claimed job."""

    def __init__(self, site, job, policy):
        self.site = site
        self.job = job
        self.policy = policy
        self.queue = IQueue(site)

    @property
    def result_path(self):
        return tuple(self.site.getPhysicalPath())

    def execute(self):
        """Run the job; return (status, messages, cron_uid, site_path) or None.

        None: the cron is gone or no longer scheduled; the job is dropped.
        """
        job = self.job
        started = clock.now()
        crontab = Crontab.load(uids=[job.cron_uid])
        cron = crontab.crons.get(job.cron_uid)
        if cron is None or not crontab.activated or not (cron.activated or job.forced):
            self.policy.begin()
            self.queue.finish(job)  # dropped
            self.policy.commit()
            return None
        missed = missed_times(cron, job, started)
        if missed and cron.misfire == "skip":
            message = (
                f"Skipped (misfire policy 'skip'): {_describe_missed(missed)} "
                "missed while no worker ran"
            )
            self.policy.begin()
            log = self._record(cron, Status.NOTRUN, [message], started, 0.0, missed)
            notify(FinishedCronJobEvent(self.site, cron, log))
            self.policy.commit()
            return self._result(log)
        return self._run(cron, started, missed)

    def _run(self, cron, started, missed):
        failure = None
        for attempt in range(1, CONFLICT_TRIES + 1):
            self.policy.begin()
            clock_start = time.monotonic()
            try:
                with run_as(self.site, cron):
                    notify(StartedCronJobEvent(self.site, cron))
                    status, messages = self._call_runner(cron)
                    duration = time.monotonic() - clock_start
                    log = self._record(
                        cron, status, messages, started, duration, missed
                    )
                    notify(FinishedCronJobEvent(self.site, cron, log))
                self.policy.commit()
                return self._result(log)
            except ConflictError as error:
                self.policy.abort()
                logger.info(
                    "Cron %s: conflict on try %d of %d",
                    cron.uid,
                    attempt,
                    CONFLICT_TRIES,
                )
                failure = (
                    error,
                    traceback.format_exc(),
                    time.monotonic() - clock_start,
                )
            except UserMissing as error:
                self.policy.abort()
                failure = (error, None, 0.0)
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
        if isinstance(error, ConflictError):
            message = f"ConflictError: gave up after {CONFLICT_TRIES} tries ({error})"
        elif isinstance(error, UserMissing):
            message = str(error)
        else:
            message = f"{type(error).__name__}: {error}"
        logger.warning("Cron %s (%s) failed: %s", cron.uid, cron.name, message)
        details = {"traceback": trace} if trace else {}
        self.policy.begin()
        log = self._record(
            cron, Status.FAILURE, [message], started, duration, missed, **details
        )
        notify(FinishedCronJobEvent(self.site, cron, log))
        self.policy.commit()
        return self._result(log)

    def _call_runner(self, cron):
        runner = find_runner(self.site, cron)
        if runner is None:
            return Status.NOTRUN, [describe_missing(cron)]
        output = runner()
        if output is None or output == [] or output == ():
            return Status.OK, []
        return Status.WARN, output

    def _record(self, cron, status, messages, started, duration, missed, **details):
        """Log the run, finish the job, queue the next run (same transaction)."""
        now = clock.now()
        if missed:
            details.update(_late_details(missed, started))
        if self.job.forced:
            details["forced"] = True
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
        History(self.site).add(cron.uid, log, cron.logs_limit, legacy=cron.logs)
        cron.logs.insert(0, log)
        del cron.logs[cron.logs_limit :]
        self._reschedule(now)
        return log

    def _reschedule(self, now):
        """Queue the next run from the cron's settings as they are now.

        Read again: an admin may have edited or deleted the cron meanwhile.
        """
        crontab = Crontab.load(uids=[self.job.cron_uid])
        cron = crontab.crons.get(self.job.cron_uid)
        if cron is None or not is_scheduled(cron):
            self.queue.finish(self.job)
            return
        self.queue.finish(self.job, cron.next_after(now), signature(cron))

    def _result(self, log):
        return (
            int(log.status),
            list(log.messages),
            self.job.cron_uid,
            self.result_path,
        )


def claim(site, job, worker, lease):
    """Mark a pending job as running for `worker` for `lease` (a timedelta)."""
    return IQueue(site).claim(job, worker, clock.now() + lease)


def claim_and_run(site, job, worker, lease, manager=None):
    """Claim `job` in a committed transaction of its own, then run it.

    Returns the run's result, or None when another worker claimed the job
    first (our claim conflicted) or the job was dropped.
    """
    manager = manager or transaction.manager
    try:
        claim(site, job, worker, lease)
        manager.commit()
    except ConflictError:
        manager.abort()
        return None
    return JobRun(site, job, Commits(manager)).execute()


def run_due_jobs(site, commit=False, worker="local", lease=timedelta(minutes=5)):
    """Run every job of `site` due at the clock's now, earliest first.

    commit=False (tests): everything happens in the current transaction, a
    failed runner is undone with a savepoint. commit=True: each claim and each
    run is committed, as the dispatcher does. Returns one
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
