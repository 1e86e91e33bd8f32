"""The durable job queue of a site, stored in the ZODB.

One Job object per scheduled cron, kept for the cron's life: a run claims it
(status "running", a lease), and finishing the run reschedules the same object
to the next fire time. The due index maps each cron's uid to its job's due
time.

What a run writes is therefore small and independent of the number of crons,
and runs of different crons never conflict:

- the claim changes the Job alone: two workers claiming different jobs never
  conflict, two claiming the same job conflict on that object (one gets a
  ConflictError and moves on);
- finishing changes the Job, the cron's history record and one value in one
  small bucket of the due index. BTrees merge concurrent changes of values of
  different keys, whereas an index ordered by time would see two crons due at
  the same second remove and insert neighbouring keys, which BTrees cannot
  merge.
"""

from BTrees.OLBTree import OLBTree
from BTrees.OOBTree import OOBTree
from collective.cron import clock
from collective.cron.annotations import SiteStorage
from collective.cron.bulk import bulk_work
from collective.cron.interfaces import IQueue
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from persistent import Persistent
from plone.base.interfaces.siteroot import IPloneSiteRoot
from zope.component import adapter
from zope.interface import implementer

import random


ANNOTATION_KEY = "collective.cron.queue"

# How far another worker's clock may be ahead of this one's, as far as
# telling a job that cannot be running yet goes (Queue.remove_many).
CLOCK_MARGIN = timedelta(minutes=5)

PENDING = "pending"
RUNNING = "running"


def _milliseconds(value):
    return round(clock.as_utc(value).timestamp() * 1000)


class DueIndex(OLBTree):
    """Cron uid -> due time of its job (epoch milliseconds).

    Small buckets: a run rewrites the bucket holding its cron, and a smaller
    bucket is fewer bytes per commit.
    """

    max_leaf_size = 16
    max_internal_size = 64


# A Job's datetimes, aware UTC in memory, stored as whole microseconds since
# the epoch (Job.__getstate__).
_UTC_TIMES = ("begin_after", "created", "claimed_at", "lease_until", "slot")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _is_utc(value):
    return value is not None and value.tzinfo is UTC


class Job(Persistent):
    """The scheduled run of a cron.

    `begin_after`: when it is due (aware UTC); `forced`: queued by "Run now";
    `signature`: the cron settings its time was computed from. While running,
    `worker` (the worker's name) holds it until `lease_until`, for the
    process start `worker_token` names; a change asked for meanwhile waits in
    `after_run` (or `cancelled`) and is applied when the run finishes.
    """

    # Defaults a new job does not store: 100,000 new jobs pickle in half the
    # time (each stored value costs the ZODB's pickler a Python call).
    forced = False
    status = PENDING
    worker = None
    claimed_at = None
    lease_until = None
    after_run = None
    cancelled = False
    worker_token = None  # jobs stored before process tokens existed
    # A paused cron's job: {"until", "reason", "by", "at", "resume_at"}; it
    # waits at `resume_at` (the first fire time at or after `until`, far in
    # the future when paused with no end). None: not paused.
    paused = None
    # "Run now" with an environ for that run only (merged over the cron's),
    # and the one asked for while the job was running.
    environ_override = None
    after_run_environ = None
    # Retries: the attempt the job is at, and the scheduled time (slot) the
    # attempts stand for while it waits for a retry. None: not retrying.
    attempt = 1
    slot = None

    def __init__(self, cron_uid, begin_after, forced=False, signature=None):
        self.cron_uid = cron_uid
        self.begin_after = clock.as_utc(begin_after)
        if forced:
            self.forced = forced
        self.signature = signature
        self.created = clock.now()

    def __getstate__(self):
        # Its (always UTC) times are stored as integers: a datetime costs the
        # ZODB's pickler several objects, with a zone four more. 100,000 new
        # jobs (a full synchronisation) pickle in half the time of naive
        # datetimes, and every run stores its job twice. Exact to the
        # microsecond, as a datetime.
        state = super().__getstate__()
        times = [name for name in _UTC_TIMES if _is_utc(state.get(name))]
        if times:
            state = dict(state)
            for name in times:
                state[name] = (state[name] - _EPOCH) // _MICROSECOND
        return state

    def __setstate__(self, state):
        # Also what earlier builds stored: naive UTC, or aware datetimes.
        for name in _UTC_TIMES:
            value = state.get(name)
            if value is None:
                continue
            if isinstance(value, int):
                state[name] = _EPOCH + value * _MICROSECOND
            elif value.tzinfo is None:
                state[name] = value.replace(tzinfo=UTC)
        super().__setstate__(state)

    def __repr__(self):
        flag = " forced" if self.forced else ""
        when = self.begin_after.strftime("%Y-%m-%d %H:%M:%S")
        return f"<Job {self.cron_uid} {self.status} due {when}{flag}>"

    @property
    def running(self):
        return self.status == RUNNING


class JobStorage(Persistent):
    """The BTrees behind a site's queue."""

    def __init__(self):
        self.jobs = OOBTree()  # cron uid -> Job
        self.due = DueIndex()  # cron uid -> due time (epoch ms)


@implementer(IQueue)
@adapter(IPloneSiteRoot)
class Queue(SiteStorage):
    """The job queue of a site (IQueue adapter)."""

    key = ANNOTATION_KEY
    factory = JobStorage

    @property
    def context(self):
        return self.site

    def _scan(self, now=None, view=None):
        """(due, upcoming): jobs due at `now` (running ones included), earliest
        first, and the earliest due time after `now` in milliseconds (or None).

        One pass over the index's values: no Job object is loaded but the due
        ones. `view`: a dueview.DueView of this queue, which reads only what
        changed since its last look.
        """
        storage = self._storage()
        if storage is None:
            return [], None
        now = clock.as_utc(now) if now is not None else clock.now()
        horizon = _milliseconds(now)
        if view is not None:
            view.refresh(storage.due, horizon)
            due, upcoming = view.scan(horizon)
        else:
            due, upcoming = [], None
            for uid, due_at in storage.due.items():
                if due_at <= horizon:
                    due.append((due_at, uid))
                elif upcoming is None or due_at < upcoming:
                    upcoming = due_at
        # Earliest first; jobs due at the same moment in random order, so that
        # workers of a cluster do not all reach for the same one. (One sort:
        # a shuffle first took twice as long, at 2,000 due jobs.)
        due.sort(key=lambda pair: (pair[0], random.random()))
        jobs = [storage.jobs.get(uid) for _, uid in due]
        if view is not None and any(
            job is None or job.begin_after > now for job in jobs
        ):
            # It fell behind (a job it says is due is not): read whole at
            # the next look, and hand out none of those.
            view.forget()
            jobs = [job for job in jobs if job is not None and job.begin_after <= now]
        return jobs, upcoming

    # -- reading ------------------------------------------------------------

    @property
    def jobs(self):
        """Pending jobs, earliest first."""
        storage = self._storage()
        if storage is None:
            return []
        ordered = sorted((due_at, uid) for uid, due_at in storage.due.items())
        jobs = (storage.jobs[uid] for _, uid in ordered)
        return [job for job in jobs if not job.running]

    def running_jobs(self, now=None):
        """Jobs being run (all are due, so only due jobs are looked at)."""
        due, _ = self._scan(now)
        return [job for job in due if job.running]

    def __iter__(self):
        return iter(self.jobs)

    def __len__(self):
        storage = self._storage()
        return len(storage.jobs) if storage is not None else 0

    def job(self, cron_uid):
        """The cron's job, pending or running, or None."""
        storage = self._storage()
        return storage.jobs.get(cron_uid) if storage is not None else None

    def pending_job(self, cron_uid):
        job = self.job(cron_uid)
        return job if job is not None and not job.running else None

    def running_job(self, cron_uid):
        job = self.job(cron_uid)
        return job if job is not None and job.running else None

    def is_job_present(self, cron_uid):
        """True when the cron has a job, pending or running."""
        return self.job(cron_uid) is not None

    def is_job_running(self, cron_uid):
        return self.running_job(cron_uid) is not None

    def due_jobs(self, now=None):
        """Pending jobs due at `now` (default: the clock's), earliest first."""
        due, _ = self._scan(now)
        return [job for job in due if not job.running]

    def look(self, now=None, view=None):
        """One pass for a dispatcher: (pending due jobs, running jobs, when
        the next pending job is due or None). `view`: see _scan."""
        due, upcoming = self._scan(now, view)
        pending, running = [], []
        for job in due:  # status, not the property: 2,000 calls a look
            (running if job.status == RUNNING else pending).append(job)
        if pending:
            next_due = pending[0].begin_after
        elif upcoming is not None:
            next_due = datetime.fromtimestamp(upcoming / 1000, UTC)
        else:
            next_due = None
        return pending, running, next_due

    def next_due(self, now=None):
        """When the earliest pending job is due (aware UTC), or None."""
        due, upcoming = self._scan(now)
        for job in due:
            if not job.running:
                return job.begin_after
        if upcoming is None:
            return None
        return datetime.fromtimestamp(upcoming / 1000, UTC)

    def expired_leases(self, now=None):
        """Running jobs whose lease ended: their worker is gone."""
        now = now or clock.now()
        return [job for job in self.running_jobs(now) if job.lease_until < now]

    # -- writing ------------------------------------------------------------

    def schedule(
        self, cron_uid, begin_after, forced=False, signature=None, environ=None
    ):
        """Make the cron's job due at `begin_after`; return the job.

        `environ`: for a forced run, merged over the cron's for that run only.
        A running job keeps running: the change applies when it finishes.
        """
        storage = self._storage(create=True)
        if not forced:
            environ = None  # only a "Run now" carries an environ of its own
        environ = environ or None
        job = storage.jobs.get(cron_uid)
        if job is None:
            job = Job(cron_uid, begin_after, forced=forced, signature=signature)
            job.environ_override = environ
            storage.jobs[cron_uid] = job
            storage.due[cron_uid] = _milliseconds(job.begin_after)
            return job
        if job.running:
            job.after_run = (clock.as_utc(begin_after), forced, signature)
            job.after_run_environ = environ
            job.cancelled = False
            return job
        self._move(job, begin_after, forced, signature)
        if job.environ_override != environ:
            job.environ_override = environ
        return job

    def remove(self, cron_uid):
        """Drop the cron's job (a running one is dropped when it finishes).

        True if there was a pending job.
        """
        storage = self._storage()
        job = storage.jobs.get(cron_uid) if storage is not None else None
        if job is None:
            return False
        if job.running:
            if not job.cancelled:
                job.cancelled = True
            return False
        self._delete(job)
        return True

    def clear(self):
        """Remove every job (running ones when they finish)."""
        self.remove_many(self.uids())

    def uids(self):
        """The uids of the crons that have a job, without loading the jobs
        (the due index has an entry for each job, and holds no objects)."""
        storage = self._storage()
        return list(storage.due.keys()) if storage is not None else []

    def remove_many(self, cron_uids):
        """remove() each of these crons' jobs.

        A job not due yet cannot be running (a job runs once due, and keeps
        its due time while it runs: see running_jobs): it is dropped without
        being loaded. 100,000 jobs are then dropped in a fraction of a
        second, not read one by one from the storage. Jobs due within
        CLOCK_MARGIN are loaded and checked: another worker's clock may be
        ahead of this one.
        """
        storage = self._storage()
        if storage is None:
            return
        horizon = _milliseconds(clock.now() + CLOCK_MARGIN)
        with bulk_work(len(cron_uids), until_transaction_ends=True):
            for uid in cron_uids:
                due_at = storage.due.get(uid)
                if due_at is not None and due_at > horizon and uid in storage.jobs:
                    self._drop(storage, uid)
                else:
                    self.remove(uid)

    def claim(self, job, worker, lease_until, token=None):
        """Mark a pending job running, leased to `worker` until `lease_until`.

        `token` names the worker's process start (see workers.py). Writes the
        job object only.
        """
        job.status = RUNNING
        job.worker = worker
        job.worker_token = token
        if job.paused is not None and not job.forced:
            job.paused = None  # its resume time came: the pause is over
        job.claimed_at = clock.now()
        job.lease_until = clock.as_utc(lease_until)
        job.after_run = None
        job.cancelled = False
        return job

    def finish(self, job, next_due=None, signature=None):
        """End a run: reschedule the job to `next_due`, or drop it.

        What was asked while it ran (cancel, "Run now", a new schedule) wins.
        """
        if self.job(job.cron_uid) is not job:
            return
        after_run, cancelled = job.after_run, job.cancelled
        if job.slot is not None or job.attempt != 1:
            job.slot, job.attempt = None, 1  # the run is over, retries too
        if job.environ_override is not None or job.after_run_environ is not None:
            job.environ_override = job.after_run_environ if after_run else None
            job.after_run_environ = None
        job.status = PENDING
        job.worker = job.claimed_at = job.lease_until = job.after_run = None
        job.worker_token = None
        job.cancelled = False
        if cancelled:
            self._delete(job)
        elif after_run is not None:
            self._move(job, *after_run)
        elif next_due is None:
            self._delete(job)
        elif job.paused is not None:
            self._move(job, job.paused["resume_at"], False, signature)
        else:
            self._move(job, next_due, False, signature)

    def retry(self, job, retry_at):
        """Queue another attempt of the job's run at `retry_at` (the run's
        scheduled time, its slot, is kept); the job stops running."""
        job.slot = job.slot or job.begin_after
        job.attempt += 1
        forced, signature = job.forced, job.signature
        job.status = PENDING
        job.worker = job.claimed_at = job.lease_until = job.worker_token = None
        self._move(job, retry_at, forced, signature)

    def pause(self, job, pause):
        """Pause `job` (see Job.paused); a pending one waits at resume_at, a
        running one after its run ends."""
        job.paused = dict(pause)
        if not job.running and not job.forced:
            self._move(job, pause["resume_at"], False, job.signature)

    def resume(self, job, next_due, signature=None):
        """End the job's pause; a pending job is due at `next_due`."""
        job.paused = None
        if not job.running and not job.forced:
            self._move(job, next_due, False, signature or job.signature)

    def _move(self, job, begin_after, forced, signature):
        begin_after = clock.as_utc(begin_after)
        if (job.begin_after, job.forced, job.signature) == (
            begin_after,
            forced,
            signature,
        ):
            return
        job.begin_after = begin_after
        job.forced = forced
        job.signature = signature
        due_at = _milliseconds(begin_after)
        storage = self._storage(create=True)
        if storage.due.get(job.cron_uid) != due_at:
            storage.due[job.cron_uid] = due_at

    def _delete(self, job):
        self._drop(self._storage(), job.cron_uid)

    @staticmethod
    def _drop(storage, cron_uid):
        del storage.jobs[cron_uid]
        del storage.due[cron_uid]
