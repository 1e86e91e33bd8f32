"""Keep the queue in step with the crontab.

CrontabManager (site, crontab) makes the queue hold exactly one pending job
per active cron, due at its next fire time; CronManager (site, cron) does it
for one cron and queues "Run now" jobs.
"""

from collective.cron import clock
from collective.cron.history import History
from collective.cron.interfaces import ICron
from collective.cron.interfaces import ICronManager
from collective.cron.interfaces import ICrontab
from collective.cron.interfaces import ICrontabManager
from collective.cron.interfaces import IQueue
from plone.base.interfaces.siteroot import IPloneSiteRoot
from zope.component import adapter
from zope.interface import implementer


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

    def __init__(self, context, cron):
        self.context = context
        self.cron = cron
        self.queue = IQueue(context)

    def register_job(self, force=False):
        """Queue the next run; force: a run due now, even for an inactive cron.

        Returns True when a job is queued. "Run now" during a run queues a
        run for right after it.
        """
        cron = self.cron
        if force:
            History(self.context).ensure(cron.uid, cron.logs)
            self.queue.schedule(
                cron.uid, clock.now(), forced=True, signature=signature(cron)
            )
            return True
        if not is_scheduled(cron):
            self.remove_jobs()
            return False
        due = cron.next
        if due is None:
            self.remove_jobs()
            return False
        History(self.context).ensure(cron.uid, cron.logs)
        self.queue.schedule(cron.uid, due, signature=signature(cron))
        return True

    def remove_jobs(self):
        """Remove the cron's job (a running one is dropped when it ends)."""
        return self.queue.remove(self.cron.uid)

    def synchronize(self, now=None):
        """Make the queue hold the job this cron should have; True if changed.

        Kept as they are: a forced job while the cron exists, a running job
        (its end reschedules it from the cron's settings of that moment), and
        a job already due (it runs once, then the schedule resumes), so a save
        never drops a run that is about to start.
        """
        cron = self.cron
        job = self.queue.job(cron.uid)
        if job is not None and job.forced and not job.running:
            return False
        if not is_scheduled(cron):
            return self.remove_jobs()
        now = now or clock.now()
        if job is not None and (job.running or job.begin_after <= now):
            return False
        due = cron.next_after(now)
        if due is None:
            return self.remove_jobs()
        if job is not None and (job.begin_after, job.signature) == (
            due,
            signature(cron),
        ):
            return False
        if job is None:
            History(self.context).ensure(cron.uid, cron.logs)
        self.queue.schedule(cron.uid, due, signature=signature(cron))
        return True

    register_or_remove = synchronize  # the 2.x name


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
        crons = self.crontab.crons
        if not self.crontab.activated:
            self.queue.clear()
            return
        if uids is None:
            known = set(crons)
            for job in list(self.queue.jobs) + self.queue.running_jobs():
                if job.cron_uid not in known:
                    self.queue.remove(job.cron_uid)
            targets = list(crons.values())
        else:
            for uid in uids:
                if uid not in crons:
                    self.queue.remove(uid)
            targets = [crons[uid] for uid in uids if uid in crons]
        now = clock.now()
        for cron in targets:
            CronManager(self.context, cron).synchronize(now)
