"""Start the dispatcher when a Zope process configured as a worker starts."""

from collective.cron import config
from collective.cron import logger
from collective.cron.dispatcher import Dispatcher

import atexit


_dispatcher = None


def process_starting(event):
    """IProcessStarting: the database is open and the ZCML loaded."""
    global _dispatcher
    settings = config.load()
    if not settings.worker or _dispatcher is not None:
        return
    import Zope2

    if Zope2.DB is None:  # pragma: no cover - Zope always opens it first
        logger.warning("collective.cron worker configured but no database is open")
        return
    _dispatcher = Dispatcher(Zope2.DB, settings).start()
    atexit.register(stop)


def stop():
    global _dispatcher
    if _dispatcher is not None:
        _dispatcher.stop()
        _dispatcher = None
