"""Keep the queue in step with the crontab.

CrontabManager (site, crontab) makes the queue hold exactly one pending job
per active cron, due at its next fire time; CronManager (site, cron) does it
for one cron and queues "Run now" jobs.
"""

from AccessControl import getSecurityManager
from collective.cron import _
from collective.cron import audit
from collective.cron import clock
from collective.cron.bulk import bulk_work
from collective.cron.errors import InvalidCron
from collective.cron.history import History
from collective.cron.interfaces import ICron
from collective.cron.interfaces import ICronManager
from collective.cron.interfaces import ICrontab
from collective.cron.interfaces import ICrontabManager
from collective.cron.interfaces import IQueue
from collective.cron.validators import check_environ
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from plone.base.interfaces.siteroot import IPloneSiteRoot
from zope.component import adapter
from zope.deprecation import deprecate
from zope.interface import implementer


# Where the job of a cron paused with no end waits (the due index holds
# milliseconds in 64 bits: far enough, and never due).
FOREVER = datetime(9999, 1, 1, tzinfo=UTC)
PAUSE_REASON_MAX = 500


def check_pause(until, reason, now):
    """(until as aware UTC or None, reason): InvalidCron naming a bad value."""
    if until is not None:
        if isinstance(until, str):
            text = until.strip()
            try:
                until = datetime.fromisoformat(text) if text else None
            except ValueError:
                raise InvalidCron(
                    "paused_until", text, _("is not a date and time (YYYY-MM-DD HH:MM)")
                )
        if until is not None and not isinstance(until, datetime):
            raise InvalidCron("paused_until", until, _("is not a date and time"))
    if until is not None:
        until = clock.as_utc(until)
        if until <= now:
            raise InvalidCron(
                "paused_until", until.isoformat(), _("is not in the future")
            )
    if reason is None:
        reason = ""
    if not isinstance(reason, str) or len(reason.strip()) > PAUSE_REASON_MAX:
        raise InvalidCron(
            "paused_reason",
            reason,
            _(
                "must be a text of at most ${limit} characters",
                mapping={"limit": PAUSE_REASON_MAX},
            ),
        )
    return until, reason.strip()


def check_begin_after(value):
    """`value` as an aware UTC datetime; InvalidCron naming anything else."""
    if not isinstance(value, datetime):
        raise InvalidCron("begin_after", value, _("is not a date and time"))
    return clock.as_utc(value)


def current_login():
    user = getSecurityManager().getUser()
    return user.getUserName() if user is not None else None


def signature(cron):
    """The settings a job's due time depends on (and the runner it names)."""
    return (cron.name, cron.periodicity, cron.timezone)


def is_scheduled(cron):
    crontab = cron.crontab
    return cron.activated and (crontab is None or crontab.activated)


@implementer(ICronManager)
@adapter(IPloneSiteRoot, ICron)
class CronManager:
    """The queue seen from one cron."""

    def __init__(self, context, cron, queue=None, history=None):
        self.context = context
        self.cron = cron
        # A crontab's synchronisation hands the same ones to every cron: a
        # Plone site's annotations cost a schema lookup each time.
        self.queue = queue if queue is not None else IQueue(context)
        self.history = history if history is not None else History(context)

    def register_job(self, begin_after=None, force=False, environ=None):
        """Queue the next run; force: a run due now, even for an inactive cron.

        `begin_after` (a datetime, 2.x's first argument): the run is due then
        instead of at the next fire time, until a synchronisation (a save)
        puts the job back on the schedule; forced, it stays until it runs.
        `environ` (with force): a JSON object merged over the cron's environ
        for that run only, and recorded in its log; InvalidCron names a bad
        one. Returns True when a job is queued. "Run now" during a run queues
        a run for right after it.
        """
        cron = self.cron
        if begin_after is not None:
            begin_after = check_begin_after(begin_after)
        if force:
            override = check_environ(environ) if environ else None
            self.history.ensure(cron.uid, cron.logs)
            self.queue.schedule(
                cron.uid,
                begin_after or clock.now(),
                forced=True,
                signature=signature(cron),
                environ=override,
            )
            self._audit(audit.RUN_NOW, audit.run_now_changes(cron.environ, override))
            return True
        if not is_scheduled(cron):
            self.remove_jobs()
            return False
        due = begin_after or cron.next
        if due is None:
            self.remove_jobs()
            return False
        self.history.ensure(cron.uid, cron.logs)
        self.queue.schedule(cron.uid, due, signature=signature(cron))
        return True

    def remove_jobs(self):
        """Remove the cron's job (a running one is dropped when it ends)."""
        return self.queue.remove(self.cron.uid)

    def pause(self, until=None, reason="", by=None):
        """Pause the cron until `until` (None: until resumed), with a reason.

        Its runs until then are not run and not misfires: it resumes at its
        first fire time at or after `until`. Raises InvalidCron for a time
        not in the future or a reason too long; False when the cron has no
        job (deactivated).
        """
        now = clock.now()
        until, reason = check_pause(until, reason, now)
        job = self.queue.job(self.cron.uid)
        if job is None:
            return False
        resume_at = (
            FOREVER
            if until is None
            else self.cron.next_after(until - timedelta(microseconds=1)) or FOREVER
        )
        changes = audit.pause_changes(job.paused, until, reason)
        self.queue.pause(
            job,
            {
                "until": until,
                "reason": reason,
                "by": by or current_login() or "",
                "at": now,
                "resume_at": resume_at,
            },
        )
        self._audit(audit.PAUSED, changes, who=by)
        return True

    def resume(self):
        """End the cron's pause: it runs at its next fire time from now."""
        job = self.queue.job(self.cron.uid)
        if job is None or job.paused is None:
            return False
        self._audit(audit.RESUMED, [audit.change("paused", True, False)])
        following = self.cron.next_after(clock.now())
        if following is None:  # manual only: no run to wait for
            job.paused = None
            if not job.running and not job.forced:
                self.queue.remove(self.cron.uid)
            return True
        self.queue.resume(job, following, signature(self.cron))
        return True

    def _audit(self, action, changes, who=None):
        audit.AuditTrail(self.context).record(
            action, uid=self.cron.uid, name=self.cron.name, changes=changes, who=who
        )

    def synchronize(self, now=None, next_times=None):
        """Make the queue hold the job this cron should have; True if changed.

        Kept as they are: a forced job while the cron exists, a running job
        (its end reschedules it from the cron's settings of that moment), and
        a job already due (it runs once, then the schedule resumes), so a save
        never drops a run that is about to start. `next_times`: a mapping
        shared by the crons of one synchronisation at the same `now`, (periodicity,
        time zone) -> next fire time, so that crons of one schedule compute it once.
        """
        cron = self.cron
        job = self.queue.job(cron.uid)
        if job is not None and job.forced and not job.running:
            return False
        if job is not None and job.paused is not None and is_scheduled(cron):
            return self._keep_paused(job)
        if not is_scheduled(cron):
            return self.remove_jobs()
        now = now or clock.now()
        if job is not None and (job.running or job.begin_after <= now):
            return False
        if next_times is None:
            due = cron.next_after(now)
        else:
            key = (cron.periodicity, cron.timezone)
            if key not in next_times:
                next_times[key] = cron.next_after(now)
            due = next_times[key]
        if due is None:
            return self.remove_jobs()
        if job is not None and (job.begin_after, job.signature) == (
            due,
            signature(cron),
        ):
            return False
        if job is None:
            self.history.ensure(cron.uid, cron.logs)
        self.queue.schedule(cron.uid, due, signature=signature(cron))
        return True

    def _keep_paused(self, job):
        """A paused job stays paused; a changed schedule moves its resume
        time to the new schedule's first fire time at or after `until`."""
        if job.running or job.signature == signature(self.cron):
            return False
        until = job.paused["until"]
        resume_at = FOREVER
        if until is not None:
            resume_at = self.cron.next_after(until - timedelta(microseconds=1))
        self.queue.pause(job, dict(job.paused, resume_at=resume_at or FOREVER))
        job.signature = signature(self.cron)
        return True

    @deprecate(
        "CronManager.register_or_remove is deprecated: use synchronize(), or "
        "register_job(force=True) for a run now."
    )
    def register_or_remove(self, force=False):
        """2.x: (scheduled, result): queue or drop the cron's job as its
        activation asks; `force` queues a run now for a scheduled cron."""
        scheduled = is_scheduled(self.cron)
        if scheduled and force:
            return scheduled, self.register_job(force=True)
        return scheduled, self.synchronize()


@implementer(ICrontabManager)
@adapter(IPloneSiteRoot, ICrontab)
class CrontabManager:
    """The queue seen from the whole crontab."""

    def __init__(self, context, crontab):
        self.context = context
        self.crontab = crontab
        self.queue = IQueue(context)

    def synchronize(self, uids=None):
        """One pending job per active cron; jobs of unknown crons removed.

        `uids` limits the work to these crons (those a save changed).
        """
        count = len(self.crontab.crons) if uids is None else len(uids)
        with bulk_work(count, until_transaction_ends=True):
            self._synchronize(uids)

    def _synchronize(self, uids):
        crons = self.crontab.crons
        if not self.crontab.activated:
            self.queue.clear()
            return
        if uids is None:
            # By uid: the jobs of the crons kept are not loaded for this.
            self.queue.remove_many(
                [uid for uid in self.queue.uids() if uid not in crons]
            )
            targets = list(crons.values())
        else:
            for uid in uids:
                if uid not in crons:
                    self.queue.remove(uid)
            targets = [crons[uid] for uid in uids if uid in crons]
        now = clock.now()
        history = History(self.context)
        next_times = {}
        for cron in targets:
            CronManager(self.context, cron, self.queue, history).synchronize(
                now, next_times
            )
