"""2.x home of the queue managers: deprecated, use collective.cron.manager."""

import zope.deferredimport


zope.deferredimport.deprecated(
    "Import it from collective.cron.manager.",
    CronManager="collective.cron.manager:CronManager",
    CrontabManager="collective.cron.manager:CrontabManager",
)
