"""Run the content rules of the site when a cron job finished.

The rules run inside the run's transaction, as the user the run runs as, as
content rules run inside a request. The substitutions read the event being
handled from here: plone.stringinterp adapts the content (the site), not the
event.
"""

from collective.cron import logger
from collective.cron.annotations import read_annotation
from contextlib import contextmanager
from plone.app.contentrules import handlers
from plone.contentrules.engine.assignments import KEY as ASSIGNMENTS_KEY
from ZODB.POSException import ConflictError

import threading


_current = threading.local()


def current_event():
    """The FinishedCronJobEvent whose rules run now in this thread, or None."""
    return getattr(_current, "event", None)


@contextmanager
def handling(event):
    previous = current_event()
    _current.event = event
    try:
        yield
    finally:
        _current.event = previous


def execute_rules(event):
    """IFinishedCronJobEvent subscriber: run the site's rules for it.

    A broken rule is logged and does not change the run's outcome: the run's
    log and next run matter more than a report about it.
    """
    if not read_annotation(event.object, ASSIGNMENTS_KEY):
        # No rule is assigned to the site. Plone's executor would store an
        # empty assignment list in the site's annotations first: a write on
        # every site's first run, which made the first runs of different
        # crons conflict (and run again).
        return
    with handling(event):
        # A try of the run retried after a conflict must run the rules again.
        handlers.close(event)
        try:
            handlers.execute(event.object, event)
        except ConflictError:
            raise  # the run is tried again, rules included
        except Exception:
            uid = getattr(event.cron, "uid", "?")
            logger.exception("Content rules for the run of cron %s failed", uid)
        finally:
            # Rules are filtered once per request; a worker thread has no
            # request end, so end the "request" here.
            handlers.close(event)
