"""Work on many crons at once without the garbage collector's full passes.

Loading or synchronising 100,000 crons makes millions of objects. Each time
enough of them pile up, CPython's collector walks every object of the
process (a Plone site holds millions), several times in one such task: a
third to a half of its time at 100,000 crons. While the task runs, the
objects that were alive before it are frozen out of those passes
(gc.freeze), and no full pass starts by itself: the task's own objects
would be walked again each time they grew by a quarter (8 passes, 1.5-2 s
of a synchronisation of 100,000 crons). The younger generations are still
collected, so the cycles that die young, the task's and other threads',
go as before. At the end everything is handed back to the collector, with
its thresholds.
"""

from contextlib import contextmanager

import gc
import threading
import transaction


# Fewer items than this: the collector's passes cost little; leave it be.
BULK = 1000

# The oldest generation's threshold while bulk tasks run: no full pass.
NO_FULL_PASS = 1 << 30

_lock = threading.Lock()
_depth = 0  # bulk tasks running in the process
_froze = False  # whether the first of them froze (and the last thaws)
_oldest = None  # the oldest generation's threshold before the first of them


def _enter(items):
    """Freeze if this is the first bulk task; False when too small to."""
    global _depth, _froze, _oldest
    if items < BULK or not gc.isenabled():
        return False
    with _lock:
        if _depth == 0:
            _froze = gc.get_freeze_count() == 0
            if _froze:
                gc.freeze()
            *younger, _oldest = gc.get_threshold()
            gc.set_threshold(*younger, NO_FULL_PASS)
        _depth += 1
    return True


def _leave():
    global _depth, _froze, _oldest
    with _lock:
        _depth -= 1
        if _depth == 0:
            if _froze:
                gc.unfreeze()
                _froze = False
            # The oldest generation's, unless someone set another meanwhile:
            # theirs stay (set_threshold(500) keeps the other two values).
            now = gc.get_threshold()
            if now[2] == NO_FULL_PASS:
                gc.set_threshold(now[0], now[1], _oldest)
            _oldest = None


def _freeze_again():
    """Freeze what the task made too, when the freeze is ours."""
    with _lock:
        if _froze:
            gc.freeze()


@contextmanager
def bulk_work(items, until_transaction_ends=False):
    """Around a task on `items` crons (or jobs): see the module.

    Tasks of several threads may overlap: the first freezes, the last
    thaws. What the process froze itself (gc.freeze() before forking) is
    never thawed here: nothing is frozen then.

    `until_transaction_ends`: for a task whose objects the current
    transaction then commits (100,000 new jobs: their commit would pay
    full passes too). What the task made is frozen as well, and everything
    is thawed when the transaction commits or aborts.
    """
    if not _enter(items):
        yield
        return
    try:
        yield
    except BaseException:
        _leave()
        raise
    if not until_transaction_ends:
        _leave()
        return
    _freeze_again()
    _ThawWhenTransactionEnds().register()


class _ThawWhenTransactionEnds:
    """A synchroniser of the thread's transaction manager: thaws once, when
    the current transaction commits or aborts. Not a commit hook: rolling a
    savepoint back (a failed run of a group commit) drops the hooks added
    since, and the process would stay frozen."""

    _registered = set()  # the manager holds synchronisers weakly

    def register(self):
        self.ended = False
        self._registered.add(self)
        transaction.manager.registerSynch(self)

    def beforeCompletion(self, txn):
        pass

    def afterCompletion(self, txn):
        # Commit or abort; a failed commit is aborted next: thaw once.
        if self.ended:
            return
        self.ended = True
        transaction.manager.unregisterSynch(self)
        self._registered.discard(self)
        _leave()

    def newTransaction(self, txn):
        pass
