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


# Fewer items than this: the collector's passes cost little; leave it be.
BULK = 1000


@contextmanager
def bulk_work(items):
    """Around a task on `items` crons (or jobs): see the module."""
    if items < BULK or not gc.isenabled():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        # Another thread's unfreeze may have come first: harmless, the
        # collector then simply walks everything again.
        gc.unfreeze()
