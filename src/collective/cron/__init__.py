"""collective.cron: cron-like scheduled jobs inside Plone 6."""

import logging
import zope.deferredimport
import zope.i18nmessageid


__version__ = "3.0.0a1.dev0"

PACKAGE_NAME = "collective.cron"

_ = zope.i18nmessageid.MessageFactory(PACKAGE_NAME)

logger = logging.getLogger(PACKAGE_NAME)


# Runner outcomes, importable as collective.cron.Result / CronWarning. Imported
# last: results.py needs nothing from this module.
from collective.cron.results import CronWarning  # noqa: E402
from collective.cron.results import Result  # noqa: E402


# 2.x name: `from collective.cron import MessageFactory as _` gets the
# package's message factory (not zope.i18nmessageid's class, as it once did).
zope.deferredimport.deprecated(
    "Use collective.cron._, the package's message factory.",
    MessageFactory="collective.cron:_",
)

__all__ = ["CronWarning", "Result", "logger"]
