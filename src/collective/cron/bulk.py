"""Work on many crons at once without the garbage collector's full passes.

Loading or synchronising 100,000 crons makes millions of objects. Each time
enough of them pile up, CPython's collector walks every object of the
process (a Plone site holds millions), several times in one such task: a
third to a half of its time at 100,000 crons. While the task runs, the
objects that were alive before it are frozen out of those passes
(gc.freeze); cycles among new objects are still collected, and everything
is handed back to the collector at the end.
"""

from contextlib import contextmanager

import gc
import threading


# Fewer items than this: the collector's passes cost little; leave it be.
BULK = 1000

_lock = threading.Lock()
_depth = 0  # bulk tasks running in the process
_froze = False  # whether the first of them froze (and the last thaws)


@contextmanager
def bulk_work(items):
    """Around a task on `items` crons (or jobs): see the module.

    Tasks of several threads may overlap: the first freezes, the last
    thaws. What the process froze itself (gc.freeze() before forking) is
    never thawed here: nothing is frozen then.
    """
    global _depth, _froze
    if items < BULK or not gc.isenabled():
        yield
        return
    with _lock:
        if _depth == 0:
            _froze = gc.get_freeze_count() == 0
            if _froze:
                gc.freeze()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _froze:
                gc.unfreeze()
                _froze = False
