"""2.x home of the registry storage: deprecated, use collective.cron.registry."""

import zope.deferredimport


zope.deferredimport.deprecated(
    "Import it from collective.cron.registry.",
    CrontabRegistryManager="collective.cron.registry:CrontabRegistryManager",
)
