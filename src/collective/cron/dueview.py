"""A worker's view of a site's due index, kept up to date from invalidations.

The dispatcher looks at a site's queue after every batch its threads run and
at every poll: which jobs are due, and when the next one is. Reading the due
index (queue.DueIndex, cron uid -> due time) whole costs O(crons) each time:
8 ms with 100,000 crons. This view reads it whole once, then, at each look,
reads again only the index's buckets that other transactions changed. The
ZODB tells each connection which objects changed when its next transaction
begins (IMVCCStorage.poll_invalidations); `InvalidationLog` keeps what the
dispatcher's connection was told. A look then costs what changed.

The view reads the whole index again when it cannot follow: the tree's shape
changed (a bucket split or merged when crons were added or removed), the
queue was replaced, the storage said "everything may have changed", the
clock went back, the caller asks (after its own commits), and at least once
every REBUILD_EVERY seconds.

The view only chooses what the dispatcher hands out. A worker thread checks
each job again in its own transaction before it claims it, and the claim's
commit is the lock between workers: a stale view can delay a run, not
repeat one.
"""

from BTrees.OLBTree import OLBucket

import heapq
import time


REBUILD_EVERY = 60.0  # seconds between two full reads, whatever the log says
# Changed oids a view keeps between two looks; past this, it reads whole
# (a view nobody looks at must not grow with the database).
MAX_TOLD = 100_000


class InvalidationLog:
    """The oids a connection was told changed, for the views that follow it.

    Wraps the `poll_invalidations` of the connection's storage instance (one
    per connection, see ZODB.mvccadapter and RelStorage), which the
    connection calls when a transaction begins. When the storage has no such
    method, `available` is False and views always read the whole index.
    """

    def __init__(self, connection):
        self.connection = connection
        self.views = []
        self._storage = getattr(connection, "_storage", None)
        poll = getattr(self._storage, "poll_invalidations", None)
        self.available = callable(poll)
        if not self.available:
            return

        def poll_invalidations():
            changed = poll()
            for view in self.views:
                view.told(changed)
            return changed

        self._storage.poll_invalidations = poll_invalidations

    def view(self):
        """A new DueView following this connection."""
        view = DueView(self.connection if self.available else None)
        self.views.append(view)
        return view

    def drop(self, view):
        """Stop telling `view` (its site is gone)."""
        if view in self.views:
            self.views.remove(view)

    def close(self):
        """Give the storage its own method back (the connection goes back
        to the pool, for others)."""
        self.views = []
        if self.available:
            vars(self._storage).pop("poll_invalidations", None)


class DueView:
    """Cron uid -> due time (epoch ms) of one site's queue, as of the last
    `refresh`, with the due ones and the next due time at hand."""

    def __init__(self, connection=None):
        # The connection whose invalidations the view is told; None: none.
        self.connection = connection
        self.reads = 0  # buckets read since the view was made (tests, benches)
        self.rebuilds = 0
        self._tree = None
        self._changed = set()
        self._everything = True
        self._built = None  # time.monotonic() of the last full read
        self._horizon = None  # the latest `now` looked at (epoch ms)
        self._due = {}  # uid -> due time
        self._uids_of = {}  # bucket oid -> uids it held
        self._buckets = {}  # bucket oid -> bucket
        self._nodes = set()  # oids of the tree and its inner nodes
        self._heap = []  # (due, uid) not yet due when last looked; may be stale
        self._due_now = set()  # uids due when last looked

    def told(self, changed):
        """The connection was told these oids changed (None: maybe all)."""
        if changed is None or len(self._changed) > MAX_TOLD:
            self._everything = True
            self._changed = set()
        else:
            self._changed.update(changed)

    def forget(self):
        """Read the whole index at the next refresh."""
        self._everything = True

    def refresh(self, tree, horizon):
        """Bring the view up to `tree` (read in the current transaction)."""
        changed, self._changed = self._changed, set()
        try:
            if (
                self._everything
                or self.connection is None
                # A site in another (mounted) database: not followed.
                or getattr(tree, "_p_jar", self.connection) is not self.connection
                or tree is not self._tree
                or changed & self._nodes
                or (self._horizon is not None and horizon < self._horizon)
                or time.monotonic() - self._built >= REBUILD_EVERY
            ):
                self._rebuild(tree)
                return
            for oid in changed:
                bucket = self._buckets.get(oid)
                if bucket is not None:
                    self._read(oid, bucket)
        except BaseException:
            self._everything = True  # half read (the storage went away)
            raise

    def scan(self, horizon):
        """([(due, uid)] due at `horizon`, in no order; the earliest due time
        after it, or None), as Queue._scan reads them."""
        self._horizon = horizon
        if len(self._heap) > 2 * len(self._due) + 1024:
            self._heapify()  # stale entries of crons moved before their time
        heap, due = self._heap, self._due
        while heap and heap[0][0] <= horizon:
            when, uid = heapq.heappop(heap)
            if due.get(uid) == when:
                self._due_now.add(uid)
        while heap and due.get(heap[0][1]) != heap[0][0]:
            heapq.heappop(heap)  # stale: the cron moved or went
        upcoming = heap[0][0] if heap else None
        return [(due[uid], uid) for uid in self._due_now], upcoming

    # -- reading the index ---------------------------------------------------

    def _rebuild(self, tree):
        self.rebuilds += 1
        self._everything = False
        self._tree = tree
        self._built = time.monotonic()
        self._due = {}
        self._uids_of = {}
        self._buckets = {}
        self._nodes = set()
        self._due_now = set()
        if tree is None:
            self._heap = []
            return
        stack = [tree]
        while stack:
            node = stack.pop()
            if node._p_oid is None:
                self._everything = True  # not committed yet: cannot follow
            self._nodes.add(node._p_oid)
            state = node.__getstate__()
            if state is None:
                continue  # an empty tree
            if len(state) == 1:
                # A small tree keeps its items itself, no bucket: any change
                # is a change of the tree, read whole again.
                self._due.update(node.items())
                continue
            for child in state[0][::2]:
                if isinstance(child, OLBucket):
                    self._read(child._p_oid, child, building=True)
                else:
                    stack.append(child)
        self._heapify()

    def _read(self, oid, bucket, building=False):
        self.reads += 1
        if oid is None:
            self._everything = True  # not committed yet: cannot follow
        items = dict(bucket.items())
        previous = self._uids_of.get(oid, set())
        self._uids_of[oid] = set(items)
        self._buckets[oid] = bucket
        due = self._due
        if building:
            due.update(items)
            return
        for uid in previous - items.keys():
            due.pop(uid, None)  # removed from the queue
            self._due_now.discard(uid)
        for uid, when in items.items():
            if due.get(uid) != when:
                due[uid] = when
                self._due_now.discard(uid)
                heapq.heappush(self._heap, (when, uid))

    def _heapify(self):
        self._due_now = set()
        self._heap = [(when, uid) for uid, when in self._due.items()]
        heapq.heapify(self._heap)
