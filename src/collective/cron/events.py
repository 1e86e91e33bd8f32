"""Events of collective.cron (interfaces in collective.cron.interfaces)."""

from collective.cron import interfaces
from collective.cron.status import Status
from zope.deprecation import deprecate
from zope.interface import alsoProvides
from zope.interface import implementer
from zope.interface.interfaces import ObjectEvent


@implementer(interfaces.IModifiedCrontabEvent)
class ModifiedCrontabEvent:
    """`uids`: the crons added, changed or removed; None: maybe all of them."""

    def __init__(self, crontab, uids=None):
        self.crontab = crontab
        self.uids = uids

    @property
    @deprecate("ModifiedCrontabEvent.object is deprecated: use event.crontab.")
    def object(self):
        """2.x's name of the crontab (its event was an object event)."""
        return self.crontab


@implementer(interfaces.ICrontabSynchronisationEvent)
class CrontabSynchronisationEvent:
    """`uids`: the crons whose jobs to check; None: all."""

    def __init__(self, crontab, uids=None):
        self.crontab = crontab
        self.uids = uids


@implementer(interfaces.IServerRestartEvent)
class ServerRestartEvent:
    def __init__(self, crontab):
        self.crontab = crontab


@implementer(interfaces.IStartedCronJobEvent)
class StartedCronJobEvent(ObjectEvent):
    def __init__(self, site, cron):
        super().__init__(site)
        self.cron = cron


@implementer(interfaces.IFinishedCronJobEvent)
class FinishedCronJobEvent(ObjectEvent):
    """A run ended; a failed run's event also provides ICronJobFailedEvent,
    so subscribers and content rules can take failures alone."""

    def __init__(self, site, cron, log=None):
        super().__init__(site)
        self.cron = cron
        self.log = log
        if log is not None and log.status == Status.FAILURE:
            alsoProvides(self, interfaces.ICronJobFailedEvent)
