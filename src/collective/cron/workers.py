"""Worker heartbeats: which dispatchers are alive, and since when.

Each worker process writes its own small record in the ZODB root at most once
per heartbeat interval (default one minute): it is the only write of an idle
worker. Its running jobs stay leased while its heartbeats keep coming.

A record is keyed by the worker's configured name, which may repeat across
restarts (containers: the same hostname and pid 1). What tells two processes
of one name apart is the per-start `token`: jobs claimed under another token
than the record's belong to a process that is gone.

`collective-cron run` beats too, while its run lasts, in a record marked
`command_line`: a worker takes its job back soon after the command is
killed, yet it is no worker, so it is not counted or listed as one.
"""

from BTrees.OOBTree import OOBTree
from collective.cron import clock
from collective.cron import logger
from collective.cron.marker import zodb_root
from datetime import timedelta
from persistent import Persistent

import os
import socket
import threading
import transaction
import uuid


ROOT_KEY = "collective.cron.workers"
# Records of workers silent for longer than this are deleted (when a worker
# of a new name first beats).
FORGET_AFTER = timedelta(days=7)
# A worker is taken for alive while its last heartbeat is at most this many
# heartbeat gaps old. The gap is each worker's own (heartbeat + poll-interval),
# written in its record: the dispatcher, the dashboard and REST then agree on
# who is alive, whatever each worker's settings.
ALIVE_HEARTBEATS = 3
DEFAULT_GAP = 65.0  # heartbeat 60 + poll-interval 5: records without a gap


def new_token():
    """A token that names one start of a worker process."""
    return uuid.uuid4().hex


class WorkerRecord(Persistent):
    token = None  # records written before tokens existed
    gap = DEFAULT_GAP  # seconds between two heartbeats, at most
    command_line = False  # a run of `collective-cron run`, not a dispatcher

    def __init__(self, name, token=None):
        self.name = name
        self.threads = 0
        self.restart(token)

    def restart(self, token):
        """The name is now used by this process (started now)."""
        self.token = token
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.started = clock.now()
        self.last_seen = self.started

    def alive_at(self, now):
        """True when the worker was heard from within ALIVE_HEARTBEATS gaps."""
        return self.last_seen >= now - timedelta(seconds=ALIVE_HEARTBEATS * self.gap)

    def as_dict(self):
        return {
            "name": self.name,
            "host": self.host,
            "pid": self.pid,
            "threads": self.threads,
            "started": self.started,
            "last_seen": self.last_seen,
        }


def beat(root, name, threads, token=None, gap=DEFAULT_GAP, command_line=False):
    """Record that worker `name`, process `token`, is alive now.

    `gap`: the most seconds until its next heartbeat (heartbeat +
    poll-interval). A new token under a known name is a new process: the
    record takes its pid and start time. Forgets workers silent for
    FORGET_AFTER. `command_line`: the beat of a `collective-cron run`.
    """
    root = zodb_root(root)
    workers = root.get(ROOT_KEY)
    if workers is None:
        workers = root[ROOT_KEY] = OOBTree()
    record = workers.get(name)
    if record is None:
        record = workers[name] = WorkerRecord(name, token)
        for other in list(workers.values()):
            if other.last_seen < clock.now() - FORGET_AFTER:
                del workers[other.name]
    elif record.token != token:
        if (record.host, record.pid) != (socket.gethostname(), os.getpid()) and (
            record.last_seen > clock.now() - timedelta(minutes=1)
        ):
            # A restart on another host, or two live processes of one name.
            logger.warning(
                "Worker name %s was used by pid %s on %s until %s: if that "
                "process still runs, give each worker a name of its own",
                name,
                record.pid,
                record.host,
                record.last_seen.isoformat(),
            )
        record.restart(token)
    record.last_seen = clock.now()
    record.threads = threads
    if record.gap != gap:
        record.gap = gap
    if record.command_line != command_line:
        record.command_line = command_line
    return record


def forget(root, name, token):
    """Delete the record of `name` if process `token` wrote it last (a
    command-line run that ended: it is not a worker gone silent)."""
    workers = zodb_root(root).get(ROOT_KEY)
    record = workers.get(name) if workers is not None else None
    if record is not None and record.token == token:
        del workers[name]


class CommandLineHeartbeat:
    """The heartbeats of a `collective-cron run` while its run lasts.

    A thread with a ZODB connection of its own writes the command's record
    (marked `command_line`) every `interval` seconds. A worker leaves the
    job alone while they come; once they stop (the process was killed) it
    takes the job back when the claim's lease has ended and no beat came
    for its own lease or two of these intervals, whichever is longer. When
    the run ends, the same thread deletes the record: a command that ended
    is not a worker gone silent, and a beat late from a slow database
    cannot bring the record back. Only that record is written, never the
    job, so the run's own commit cannot conflict with a beat.
    """

    def __init__(self, db, name, token, interval):
        self.db = db
        self.name = name
        self.token = token
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._beat_until_stopped,
            name=f"collective.cron heartbeat of {name}",
            daemon=True,  # never keeps a finished command alive
        )

    def beat_in(self, root):
        """One beat, in the caller's transaction (the claim's: the record
        exists before the job names it)."""
        return beat(root, self.name, 1, self.token, self.interval, command_line=True)

    def start(self):
        self._thread.start()

    def stop(self, timeout=30.0):
        """Stop beating and let the thread delete the record; never raises.
        If the database holds the thread longer than `timeout`, the record
        is deleted when it lets go (or, the process gone, looks like a
        killed command's and is forgotten with old records)."""
        self._stop.set()
        self._thread.join(timeout)

    def _beat_until_stopped(self):
        while not self._stop.wait(self.interval):
            self._in_transaction(self.beat_in)
        self._in_transaction(lambda root: forget(root, self.name, self.token))

    def _in_transaction(self, write):
        manager = transaction.TransactionManager()
        connection = None
        try:
            connection = self.db.open(transaction_manager=manager)
            manager.begin()
            write(connection.root())
            manager.commit()
        except Exception:
            # A conflict or the database away (ZEO): the next beat retries.
            logger.warning("Heartbeat of %s not written", self.name, exc_info=True)
            try:
                manager.abort()
            except Exception:
                logger.debug("Abort after a failed heartbeat failed", exc_info=True)
        finally:
            if connection is not None:
                connection.close()


def record_of(root, name):
    """The WorkerRecord of `name`, or None. `root`: the ZODB root or a site."""
    workers = zodb_root(root).get(ROOT_KEY)
    return workers.get(name) if workers is not None else None


def _records(root):
    """The dispatchers' records (command-line runs left out)."""
    workers = zodb_root(root).get(ROOT_KEY)
    records = list(workers.values()) if workers else []
    records = [record for record in records if not record.command_line]
    return sorted(records, key=lambda record: record.last_seen, reverse=True)


def heartbeats(root):
    """Every known worker as a dict (name, host, pid, threads, started,
    last_seen), most recently seen first. `root`: the ZODB root or a site."""
    return [record.as_dict() for record in _records(root)]


def last_seen(root, name):
    record = record_of(root, name)
    return record.last_seen if record is not None else None


def alive(root):
    """The workers alive now (as heartbeats() dicts): heard from within
    ALIVE_HEARTBEATS of their own heartbeat gaps."""
    now = clock.now()
    return [record.as_dict() for record in _records(root) if record.alive_at(now)]
