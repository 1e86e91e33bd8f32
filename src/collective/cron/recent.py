"""Where each cron's newest runs are: an index for @@cron-runs.

For every run status, a BTree maps a cron's uid to a bound on its runs of that
status: no kept log of the cron with that status is newer (epoch seconds; 0:
none was ever recorded). @@cron-runs merges the crons' logs newest first and
opens a cron's history record only once its bound is reached, so its first
page reads the records of the crons it shows, not of every cron.

Why bounds, and why they only rise: a run then changes one value of an
existing key in one small bucket, which BTrees merge with concurrent changes
of other crons' values, like the queue's due index. Deleting or trimming logs
leaves the bound where it was (a bound above a cron's logs costs @@cron-runs
one record read, never a wrong order), so deleting logs while the cron runs
adds no conflict either. Keys are added when a cron gets its history record
(before its job is queued) and removed with the cron.
"""

from BTrees.OLBTree import OLBTree
from BTrees.OLBTree import OLBucket
from collective.cron.annotations import SiteStorage
from collective.cron.crontab import parse_date
from collective.cron.status import Status
from persistent import Persistent
from ZODB.POSException import ConflictError

import itertools


ANNOTATION_KEY = "collective.cron.recent"


def merge_bounds(old, committed, new):
    """Resolve two writes of one bucket's state: a bound raised on both sides
    keeps the higher (two logs of one cron at once, say a run's and the
    overdue flag's); a key deleted on either side stays deleted (the cron is
    gone). What BTrees cannot merge stays a conflict: a split (the buckets'
    chain changed) or a bucket left empty."""

    def read(state):
        state = state or ((),)
        flat = state[0]
        # The next bucket, as a reference: compared by oid.
        chain = tuple(getattr(bucket, "oid", bucket) for bucket in state[1:])
        return dict(zip(flat[::2], flat[1::2], strict=True)), chain

    (old_bounds, chain), (ours, our_chain), (theirs, their_chain) = map(
        read, (old, committed, new)
    )
    if our_chain != chain or their_chain != chain:
        raise ConflictError("run bounds: the bucket was split")
    merged = {}
    for uid in ours.keys() | theirs.keys():
        if uid in old_bounds and not (uid in ours and uid in theirs):
            continue  # deleted on one side
        merged[uid] = max(side[uid] for side in (ours, theirs) if uid in side)
    if old_bounds and not merged:
        raise ConflictError("run bounds: the bucket was emptied")
    flat = tuple(itertools.chain.from_iterable(sorted(merged.items())))
    return (flat, *(new or ((),))[1:])


class RunBoundsBucket(OLBucket):
    def _p_resolveConflict(self, old, committed, new):
        return merge_bounds(old, committed, new)


class RunBounds(OLBTree):
    """Cron uid -> epoch seconds. Small buckets: a run rewrites one."""

    _bucket_type = RunBoundsBucket
    max_leaf_size = 16
    max_internal_size = 64

    def _p_resolveConflict(self, old, committed, new):
        """A tree of one bucket keeps the bucket in its own state."""
        states = []
        for state in (old, committed, new):
            if state is None:
                states.append(None)
            elif len(state) == 1 and len(state[0]) == 1:
                states.append(state[0][0])
            else:
                raise ConflictError("run bounds: the tree changed shape")
        return ((merge_bounds(*states),),)


class RecentRunsStorage(Persistent):
    def __init__(self):
        # Never reassigned: a run writes the buckets of one BTree only.
        self.by_status = {int(status): RunBounds() for status in Status}


def newest_by_status(items):
    """{status: epoch seconds of the newest of these stored logs}."""
    newest = {}
    for item in items:
        if not isinstance(item, dict):
            continue
        status, date = item.get("status"), parse_date(item.get("date"))
        if date is None or not isinstance(status, int) or isinstance(status, bool):
            continue
        seconds = int(date.timestamp())
        if seconds > newest.get(status, 0):
            newest[status] = seconds
    return newest


class RecentRuns(SiteStorage):
    """The index of a site (see the module's docstring)."""

    key = ANNOTATION_KEY
    factory = RecentRunsStorage

    def __init__(self, site, records=dict):
        """`records`: returns the history's records (uid -> CronHistory), to
        build the index from when it is first made."""
        super().__init__(site)
        self.records = records

    def update(self, uid, stored_logs):
        """Raise the cron's bounds to its newest logs (writes only what rises)."""
        storage = self._storage()
        if storage is None:
            self.build()
            return
        newest = newest_by_status(stored_logs)
        for status, bounds in storage.by_status.items():
            seconds = newest.get(status, 0)
            current = bounds.get(uid)
            if current is None or seconds > current:
                bounds[uid] = seconds

    def forget(self, uid):
        """The cron was deleted."""
        storage = self._storage()
        if storage is None:
            return
        for bounds in storage.by_status.values():
            if uid in bounds:
                del bounds[uid]

    def build(self):
        """Make the index from every history record (install, upgrade, or
        the first write of a site that has none)."""
        storage = self._storage()
        if storage is None:
            storage = self._storage(create=True)
        for bounds in storage.by_status.values():
            bounds.clear()
        for uid, record in self.records().items():
            newest = newest_by_status(record.logs)
            for status, bounds in storage.by_status.items():
                bounds[uid] = newest.get(status, 0)

    def newest_first(self, status=None):
        """[(bound, uid)] of the crons with runs (of `status`), highest bound
        first; None when the site has no index yet."""
        storage = self._storage()
        if storage is None:
            return None
        if status is not None:
            trees = [storage.by_status.get(int(status), ())]
        else:
            trees = list(storage.by_status.values())
        bound = {}
        for tree in trees:
            for uid, seconds in tree.items():
                if seconds > bound.get(uid, 0):
                    bound[uid] = seconds
        return sorted(((seconds, uid) for uid, seconds in bound.items()), reverse=True)
