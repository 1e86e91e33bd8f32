"""Worker heartbeats: which dispatchers are alive, and since when.

Each worker process writes its own small record in the ZODB root at most once
per heartbeat interval (default one minute): it is the only write of an idle
worker. Its running jobs stay leased while its heartbeats keep coming.
"""

from BTrees.OOBTree import OOBTree
from collective.cron import clock
from collective.cron.marker import zodb_root
from datetime import timedelta
from persistent import Persistent

import os
import socket


ROOT_KEY = "collective.cron.workers"
# Records of workers silent for longer than this are deleted.
FORGET_AFTER = timedelta(days=7)


class WorkerRecord(Persistent):
    def __init__(self, name):
        self.name = name
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.started = clock.now()
        self.last_seen = self.started
        self.threads = 0

    def as_dict(self):
        return {
            "name": self.name,
            "host": self.host,
            "pid": self.pid,
            "threads": self.threads,
            "started": self.started,
            "last_seen": self.last_seen,
        }


def beat(root, name, threads):
    """Record that worker `name` is alive now; forget long-silent workers."""
    root = zodb_root(root)
    workers = root.get(ROOT_KEY)
    if workers is None:
        workers = root[ROOT_KEY] = OOBTree()
    record = workers.get(name)
    if record is None:
        record = workers[name] = WorkerRecord(name)
        for other in list(workers.values()):
            if other.last_seen < clock.now() - FORGET_AFTER:
                del workers[other.name]
    record.last_seen = clock.now()
    record.threads = threads


def heartbeats(root):
    """Every known worker as a dict (name, host, pid, threads, started,
    last_seen), most recently seen first. `root`: the ZODB root or a site."""
    workers = zodb_root(root).get(ROOT_KEY)
    records = [record.as_dict() for record in workers.values()] if workers else []
    return sorted(records, key=lambda record: record["last_seen"], reverse=True)


def last_seen(root, name):
    workers = zodb_root(root).get(ROOT_KEY)
    record = workers.get(name) if workers is not None else None
    return record.last_seen if record is not None else None


def alive(root, within=timedelta(minutes=3)):
    """Workers heard from within `within` (default: three heartbeats)."""
    horizon = clock.now() - within
    return [record for record in heartbeats(root) if record["last_seen"] >= horizon]
