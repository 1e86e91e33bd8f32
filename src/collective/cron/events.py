"""Events of collective.cron (interfaces in collective.cron.interfaces)."""

from collective.cron import interfaces
from zope.interface import implementer
from zope.interface.interfaces import ObjectEvent


@implementer(interfaces.IModifiedCrontabEvent)
class ModifiedCrontabEvent:
    def __init__(self, crontab):
        self.crontab = crontab


@implementer(interfaces.ICrontabSynchronisationEvent)
class CrontabSynchronisationEvent:
    def __init__(self, crontab):
        self.crontab = crontab


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
    def __init__(self, site, cron, log=None):
        super().__init__(site)
        self.cron = cron
        self.log = log
