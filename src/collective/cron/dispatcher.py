"""The dispatcher: background threads that run due jobs in a worker process.

One dispatcher thread per process looks at every cron-aware site (the restart
marker), hands due jobs to N worker threads, reclaims jobs of lost workers and
sends the heartbeat. It sleeps until the earliest due job or the poll interval,
whichever comes first (while due jobs wait for its threads, until a thread
ends its task, or a second), and writes nothing while nothing is due but one
heartbeat per interval. Each thread has its own ZODB connection on the
thread's default transaction manager (`transaction.manager` is per thread),
the one Plone code joins: a run commits like a request does (catalog
indexing, mail, commit hooks). Claims are committed before a job runs, so
with many processes (ZEO, RelStorage) each run happens once: the ZODB's
conflict detection is the cluster lock.
"""

from collective.cron import clock
from collective.cron import logger
from collective.cron.alerts import check_silence
from collective.cron.crontab import Crontab
from collective.cron.dueview import InvalidationLog
from collective.cron.events import ServerRestartEvent
from collective.cron.interfaces import IQueue
from collective.cron.job import claim_and_run_many
from collective.cron.job import flag_overdue_runs
from collective.cron.job import reclaim_lost_jobs
from collective.cron.job import release_earlier_processes_jobs
from collective.cron.marker import discover_sites
from collective.cron.marker import marked_sites
from collective.cron.workers import alive
from collective.cron.workers import beat
from collective.cron.workers import new_token
from collective.cron.workers import record_of
from datetime import timedelta
from Testing.makerequest import makerequest
from urllib.parse import urlsplit
from ZODB.POSException import ConflictError
from zope.component.hooks import setSite
from zope.event import notify
from zope.globalrequest import clearRequest
from zope.globalrequest import setRequest

import queue
import threading
import time
import transaction


STARTUP_TRIES = 3
# Seconds between two "no success since" checks of a site by one worker.
SILENCE_CHECK_EVERY = 60.0
# Jobs a worker thread claims in one commit (when that many are due): the
# claimed jobs of a batch wait for each other's runs.
BATCH_SIZE = 16
# The most for a site whose runs were quick (QUICK_PACE): more runs share
# the claim's and the group's commits, fewer looks come between them (2,000
# no-op runs: 15-25 % faster than with 32).
QUICK_BATCH_SIZE = 100
# A quick site's batch is sized to last about this long at its pace (at
# least BATCH_SIZE jobs): the jobs claimed with it wait for their turn less
# than a batch of 32 did at QUICK_PACE (a cron's timeout counts from its
# claim), and a task of BATCHES_PER_TASK such batches (about 0.8 s) ends
# before HELD_TOO_LONG, which would spread the site's jobs over the threads,
# unless its runs slow down meanwhile (or its batches are at their least,
# BATCH_SIZE, at paces over 12.5 ms: a task of 64 may reach it, as before).
QUICK_BATCH_SECONDS = 0.2
# Batches a worker thread is handed at once, run one after the other: when
# many jobs are due, it goes on without waiting for the next look.
BATCHES_PER_TASK = 4
# Seconds between two looks while every thread is busy (leases, overdue runs
# and silence are checked at looks).
BUSY_LOOK_EVERY = 1.0
# A site whose jobs ran quickly (at most QUICK_PACE seconds a job in its last
# task here) is worked by one thread at a time: CPython runs one thread at a
# time, so more threads on quick runs only add switching and reloads (2,000
# no-op runs: 4 threads 25 % slower than 1). Threads serve runs that wait
# (mail, HTTP): a task that holds its thread for HELD_TOO_LONG seconds lets
# another thread take the site's due jobs not in a task yet. A site whose
# pace is not known yet (the first due jobs after the process started) is
# handed one job on one thread, which tells, when there are threads to
# spread over. A thread's first task for a site also loads the site's
# objects into its connection (17-25 ms for one no-op run, on either side of
# QUICK_PACE): a slow pace measured then is not taken (see _measured).
QUICK_PACE = 0.02
HELD_TOO_LONG = 1.0


class SiteSession:
    """A connection of one thread, and the site objects read through it.

    Made in the thread that uses it: the connection joins that thread's
    default transactions, so `transaction.get()` in a runner is the run's.
    """

    def __init__(self, db, server_url):
        self.manager = transaction.manager
        self.connection = db.open()
        self.environ = request_environ(server_url)
        self.invalidations = InvalidationLog(self.connection)
        self.views = {}  # site path -> DueView of its queue

    def close(self):
        try:
            self.manager.abort()
        finally:
            self.invalidations.close()
            self.connection.close()

    @property
    def root(self):
        return self.connection.root()

    def site(self, path):
        """The site at `path` with a request (for absolute_url, getRequest)."""
        app = makerequest(self.root["Application"], environ=dict(self.environ))
        setRequest(app.REQUEST)
        site = app.unrestrictedTraverse(path.lstrip("/"), None)
        if site is None:
            return None
        setSite(site)
        return site

    @staticmethod
    def leave():
        setSite(None)
        clearRequest()


def request_environ(server_url):
    """The WSGI environ of a request on `server_url`, so absolute_url()
    names the site as its users see it."""
    parts = urlsplit(server_url)
    https = parts.scheme == "https"
    return {
        "SERVER_NAME": parts.hostname or "localhost",
        "SERVER_PORT": str(parts.port or (443 if https else 80)),
        "REQUEST_METHOD": "GET",
        **({"HTTPS": "on"} if https else {}),
    }


class Dispatcher:
    """Runs the due jobs of every cron-aware site of `db` with worker threads."""

    def __init__(self, db, config):
        self.db = db
        self.config = config
        self.name = config.worker_name
        # This process start: names repeat across restarts, tokens do not.
        self.token = new_token()
        self.lease = timedelta(seconds=config.lease)
        # The most seconds between two of our heartbeats: they ride on polls.
        self.heartbeat_gap = config.heartbeat + config.poll_interval
        # One inbox a worker thread: a task goes to a chosen idle thread.
        self.inboxes = [queue.Queue() for _ in range(config.threads)]
        self.idle = list(range(config.threads))  # worker threads with no task
        self.last_thread = {}  # site path -> the thread of its last task
        self.in_flight = set()  # (site path, cron uid) handed out
        self.tasks_in_flight = 0
        self.handed_at = {}  # site path -> [time.monotonic() of its tasks]
        self.pace = {}  # site path -> seconds a job in its last task here
        self.warm = set()  # (thread, site path): the thread ran a task of it
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.wakeup = threading.Event()
        self.threads = []
        self.last_beat = None
        self.polls = 0  # looks taken at the sites: for tests and monitoring
        self.last_look = -BUSY_LOOK_EVERY  # time.monotonic() of the last
        self.silence_checked = {}  # site path -> time.monotonic() of the check

    # -- life cycle -----------------------------------------------------------

    def start(self):
        logger.info(
            "Dispatcher %s starting: %d thread(s), poll %.1fs, lease %.0fs",
            self.name,
            self.config.threads,
            self.config.poll_interval,
            self.config.lease,
        )
        loop = threading.Thread(target=self._loop, name="collective.cron dispatcher")
        self.threads = [loop] + [
            threading.Thread(
                target=self._work, args=(n,), name=f"collective.cron worker {n + 1}"
            )
            for n in range(self.config.threads)
        ]
        for thread in self.threads:
            thread.daemon = True
            thread.start()
        return self

    def stop(self, timeout=10.0):
        """Ask every thread to stop; wait for them up to `timeout` seconds."""
        if self.stopping.is_set():
            return
        self.stopping.set()
        self.wakeup.set()
        for inbox in self.inboxes:
            inbox.put(None)
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        logger.info("Dispatcher %s stopped", self.name)

    # -- the dispatcher thread ------------------------------------------------

    def _loop(self):
        session = SiteSession(self.db, self.config.server_url)
        try:
            try:
                self._restart(session)
            except Exception:
                # The database away at start (ZEO, RelStorage): the polls
                # retry what matters; the restart sync waits for next start.
                session.manager.abort()
                session.leave()
                logger.exception("Dispatcher %s: start-up sync failed", self.name)
            while not self.stopping.is_set():
                wait = self._poll(session)
                self.wakeup.wait(wait)
                self.wakeup.clear()
        finally:
            session.close()

    def _restart(self, session):
        """Process start: every site gets ServerRestartEvent and a full sync.

        The first heartbeat comes first: the worker's record then names this
        process, and jobs that an earlier process of the same name held are
        given back at once.
        """
        record = None
        for _ in range(STARTUP_TRIES):
            record = self._heartbeat(session, force=True)
            if record is not None:
                break
        try:
            session.manager.begin()
            found = discover_sites(session.root["Application"])
            session.manager.commit()
            if found:
                logger.info("Sites with collective.cron now marked: %s", found)
        except ConflictError:
            session.manager.abort()  # another worker marked them: fine
            logger.info("Dispatcher %s: sites marked by another worker", self.name)
        except Exception:
            session.manager.abort()
            logger.exception("Dispatcher %s: looking for sites failed", self.name)
        session.manager.begin()
        paths = marked_sites(session.root)
        session.manager.abort()
        for path in paths:
            for attempt in range(1, STARTUP_TRIES + 1):
                try:
                    session.manager.begin()
                    site = session.site(path)
                    if site is None:
                        session.manager.abort()
                        break
                    if record is not None:
                        released = release_earlier_processes_jobs(
                            site, self.name, self.token, record, session.manager
                        )
                        if released:
                            logger.info(
                                "Dispatcher %s: %d job(s) of %s held by an "
                                "earlier process of this name given back",
                                self.name,
                                released,
                                path,
                            )
                        session.manager.begin()
                        site = session.site(path)
                    notify(ServerRestartEvent(Crontab.load(strict=False)))
                    session.manager.commit()
                    break
                except ConflictError:
                    session.manager.abort()  # another worker synced: try again
                    logger.info("Restart sync of %s: conflict %d", path, attempt)
                except Exception:
                    session.manager.abort()
                    logger.exception("Restart sync of %s failed", path)
                    break
                finally:
                    session.leave()
            if self.stopping.is_set():
                return

    def _poll(self, session):
        """One look at every site; returns how long to sleep."""
        wait = self.config.poll_interval
        if (
            self.tasks_in_flight >= self.config.threads
            and time.monotonic() - self.last_look < BUSY_LOOK_EVERY
        ):
            # Every thread is busy: nothing to hand out, and a look would
            # only take the interpreter from them. The thread that ends its
            # task wakes us up.
            try:
                self._heartbeat(session)
            except Exception:
                # The database away (ZEO, RelStorage): the next poll retries.
                session.manager.abort()
                logger.exception("Dispatcher %s: heartbeat failed", self.name)
            finally:
                session.leave()
            return wait
        self.last_look = time.monotonic()
        try:
            self._heartbeat(session)
            session.manager.begin()
            paths = marked_sites(session.root)
            session.manager.abort()
            for gone in set(session.views) - set(paths):
                session.invalidations.drop(session.views.pop(gone))
            waits = []  # each site's: it may be longer than the poll interval
            for path in paths:
                try:
                    waits.append(self._poll_site(session, path))
                except Exception:
                    # One broken site must not stop the others' crons.
                    session.manager.abort()
                    logger.exception(
                        "Dispatcher %s: poll of %s failed", self.name, path
                    )
                    waits.append(self.config.poll_interval)
            wait = min(waits, default=wait)
        except Exception:
            session.manager.abort()
            logger.exception("Dispatcher %s: poll failed", self.name)
        finally:
            session.leave()
            self.polls += 1
        if self.last_beat is not None:
            # Heartbeats ride on polls: a site's wait may outlast the poll
            # interval, the heartbeat may not (see heartbeat_gap). One due
            # already was not written (the database away, a conflict): the
            # next poll tries again, not at once.
            beat_in = self.last_beat + self.config.heartbeat - time.monotonic()
            wait = min(wait, beat_in if beat_in > 0 else self.config.poll_interval)
        return max(wait, 0.0)

    def _poll_site(self, session, path):
        """Hand out the site's due jobs; return seconds until the next one."""
        session.manager.begin()
        try:
            site = session.site(path)
            if site is None:
                return self.config.poll_interval
            now = clock.now()
            view = session.views.get(path)
            if view is None:
                view = session.views[path] = session.invalidations.view()
            pending, running, next_due = IQueue(site).look(now, view)
            if any(job.lease_until < now for job in running):
                try:
                    reclaimed = reclaim_lost_jobs(
                        site,
                        self.lease,
                        lambda worker: record_of(session.root, worker),
                        manager=session.manager,
                        now=now,
                        running=running,
                    )
                except Exception:
                    view.forget()
                    raise
                if reclaimed:
                    view.forget()  # our own commits: the log does not see them
            self._check_silence(session, site, path)
            if running:
                try:
                    flag_overdue_runs(site, running, session.manager, now)
                except Exception:
                    session.manager.abort()
                    logger.exception(
                        "Dispatcher %s: overdue check of %s failed", self.name, path
                    )
                    session.manager.begin()
            # Share due jobs with the other live workers: smaller batches.
            workers = len(alive(session.root))
            self._hand_out(path, [job.cron_uid for job in pending], max(1, workers))
            if next_due is None:
                return self.config.poll_interval
            if pending:
                return self._wait_for_tasks(path)
            return min(
                self.config.poll_interval, (next_due - clock.now()).total_seconds()
            )
        finally:
            session.manager.abort()

    def _wait_for_tasks(self, path):
        """Seconds to wait when every due job of the site at `path` is in a
        task or waits for a thread (every thread busy, or a quick site's one
        task): a task that ends wakes us up, and a look before would hand out
        nothing (4 threads on a quick site polled every 0.05 s: 14 % slower
        than one). Only until one of the site's tasks has held its thread for
        HELD_TOO_LONG: its site's other jobs may then go to other threads."""
        wait = max(self.config.poll_interval, BUSY_LOOK_EVERY)
        with self.lock:
            handed = self.handed_at.get(path)
            oldest = min(handed) if handed else None
        if oldest is not None:
            held_too_long_in = HELD_TOO_LONG - (time.monotonic() - oldest)
            if held_too_long_in > 0:
                wait = min(wait, held_too_long_in)
        return wait

    def _check_silence(self, session, site, path):
        """At most once a minute a site: "no success since" alerts."""
        now = time.monotonic()
        if now - self.silence_checked.get(path, -SILENCE_CHECK_EVERY) < (
            SILENCE_CHECK_EVERY
        ):
            return
        self.silence_checked[path] = now
        try:
            # Only the crons that ask for it, found without loading any: at
            # 100,000 crons, loading all took 1.5 s of this thread a minute.
            watched = Crontab().manager.survey().watched_for_silence()
            if not watched:
                return
            check_silence(site, Crontab.load(uids=watched, logs=False, strict=False))
            session.manager.commit()  # writes only what changed
        except ConflictError:
            session.manager.abort()  # another worker did it
        except Exception:
            session.manager.abort()
            logger.exception(
                "Dispatcher %s: silence check of %s failed", self.name, path
            )
        session.manager.begin()

    def _hand_out(self, path, uids, workers=1):
        """Split due jobs not yet handed out among the free worker threads.

        A thread gets up to BATCHES_PER_TASK batches (each claimed in one
        commit, see _batch_size), sized so that the `workers` alive in the
        cluster all get some.
        """
        with self.lock:
            free = len(self.idle)  # a thread that died is not idle
            uids = [uid for uid in uids if (path, uid) not in self.in_flight]
            if free <= 0 or not uids:
                return
            share = self.config.threads * workers
            now = time.monotonic()
            handed = self.handed_at.setdefault(path, [])
            held_too_long = any(now - at >= HELD_TOO_LONG for at in handed)
            pace = self.pace.get(path)
            quick = pace is not None and pace <= QUICK_PACE
            # Spread (held too long), a site is claimed as a slow one.
            batch = BATCH_SIZE if held_too_long else self._batch_size(path)
            size = batch * BATCHES_PER_TASK
            if not held_too_long and (pace is None or quick):
                free = min(free, 1 - len(handed))  # quick runs: one thread
                share = workers
                if pace is None and self.config.threads > 1:
                    # Not known yet: one job tells. Handing quick jobs to
                    # every thread would only make them contend; a slow one
                    # lets the others in after HELD_TOO_LONG. (One thread has
                    # nothing to spread: it takes a whole task.)
                    size = 1
            size = min(size, max(1, -(-len(uids) // share)))
            tasks = [uids[start : start + size] for start in range(0, len(uids), size)]
            tasks = tasks[: max(0, free)]
            threads = []
            for task in tasks:
                self.in_flight.update((path, uid) for uid in task)
                self.tasks_in_flight += 1
                handed.append(now)
                threads.append(self._idle_thread(path))
        for thread, task in zip(threads, tasks, strict=True):
            self.inboxes[thread].put((path, task, now, batch))

    def _idle_thread(self, path):
        """Take an idle worker thread for a task of the site at `path`: the
        one that ran its last task if idle. Its connection holds what that
        task wrote; another thread's would read it again (4 threads taking
        turns on quick runs: 20 % slower than one). Called with the lock."""
        last = self.last_thread.get(path)
        thread = last if last in self.idle else self.idle[0]
        self.idle.remove(thread)
        return thread

    def _heartbeat(self, session, force=False):
        """Beat if the interval has passed; return the record written or None."""
        now = time.monotonic()
        if (
            not force
            and self.last_beat is not None
            and now - self.last_beat < self.config.heartbeat
        ):
            return None
        session.manager.begin()
        try:
            record = beat(
                session.root,
                self.name,
                self.config.threads,
                self.token,
                self.heartbeat_gap,
            )
            session.manager.commit()
            self.last_beat = now
            return record
        except ConflictError:
            session.manager.abort()
            return None

    # -- worker threads -------------------------------------------------------

    def _work(self, thread):
        session = SiteSession(self.db, self.config.server_url)
        try:
            while True:
                task = self.inboxes[thread].get()
                if task is None:
                    return
                path, uids, handed_at, batch = task
                began = time.monotonic()
                ran = 0
                ended = False  # else the thread dies (a BaseException)
                try:
                    ran = self._run_task(session, path, uids, batch)
                    ended = True
                finally:
                    with self.lock:
                        self.in_flight.difference_update((path, uid) for uid in uids)
                        self.tasks_in_flight -= 1
                        self.handed_at[path].remove(handed_at)
                        if ended:  # a dead thread's inbox would strand tasks
                            self.last_thread[path] = thread
                            self.idle.append(thread)
                        if ran:
                            self._measured(thread, path, began, ran)
                    self.wakeup.set()  # runs queued next jobs: look again
        finally:
            session.close()

    def _measured(self, thread, path, began, ran):
        """Record the pace of a task that ran `ran` jobs (with the lock).

        A slow pace from the thread's first task of the site is not taken:
        its connection loaded the site's objects. The site keeps the pace it
        had; one not known yet stays unknown, and its next job goes to this
        thread, now warm."""
        pace = (time.monotonic() - began) / ran
        if pace <= QUICK_PACE or (thread, path) in self.warm:
            self.pace[path] = pace
        self.warm.add((thread, path))

    def _batch_size(self, path):
        """How many jobs of the site at `path` a worker thread claims in one
        commit: BATCH_SIZE, or for a site whose runs were quick as many as
        take QUICK_BATCH_SECONDS at its pace (BATCH_SIZE to
        QUICK_BATCH_SIZE). A slow run keeps fewer claimed jobs waiting."""
        pace = self.pace.get(path)
        if pace is None or pace > QUICK_PACE:
            return BATCH_SIZE
        fitting = int(QUICK_BATCH_SECONDS / pace) if pace > 0 else QUICK_BATCH_SIZE
        return max(BATCH_SIZE, min(QUICK_BATCH_SIZE, fitting))

    def _run_task(self, session, path, uids, batch=None):
        """Claim and run the jobs of `uids` still due, `batch` at a time (as
        many as the task was sized for; default: see _batch_size); return
        how many ran.

        A task that has held its thread for HELD_TOO_LONG gives the jobs of
        its next batches back: the next look hands them out again, to any
        free thread, instead of leaving them behind a slow run.
        """
        began = time.monotonic()
        count = -(-len(uids) // (batch or self._batch_size(path)))
        size = -(-len(uids) // count)
        ran = 0
        for start in range(0, len(uids), size):
            if self.stopping.is_set() or (
                start and time.monotonic() - began >= HELD_TOO_LONG
            ):
                break
            ran += self._run_batch(session, path, uids[start : start + size])
        return ran

    def _run_batch(self, session, path, uids):
        """Claim and run these jobs if still due; return how many ran."""
        try:
            session.manager.begin()
            site = session.site(path)
            if site is None:
                session.manager.abort()
                return 0
            queue = IQueue(site)
            now = clock.now()
            jobs = [queue.pending_job(uid) for uid in uids]
            jobs = [job for job in jobs if job is not None and job.begin_after <= now]
            if not jobs:
                session.manager.abort()
                return 0
            results = claim_and_run_many(
                site,
                jobs,
                self.name,
                self.lease,
                manager=session.manager,
                misfire_grace=timedelta(seconds=self.config.misfire_grace),
                token=self.token,
                group_commit=self.config.group_commit,
            )
            return len(results)
        except Exception:
            session.manager.abort()
            logger.exception(
                "Dispatcher %s: jobs %s of %s failed", self.name, uids, path
            )
            return 0
        finally:
            session.leave()
