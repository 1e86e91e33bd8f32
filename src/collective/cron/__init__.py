"""collective.cron: cron-like scheduled jobs inside Plone 6."""

from zope.i18nmessageid import MessageFactory

import logging


__version__ = "3.0.0a1.dev0"

PACKAGE_NAME = "collective.cron"

_ = MessageFactory(PACKAGE_NAME)

logger = logging.getLogger(PACKAGE_NAME)


# Runner outcomes, importable as collective.cron.Result / CronWarning. Imported
# last: results.py needs nothing from this module.
from collective.cron.results import CronWarning  # noqa: E402
from collective.cron.results import Result  # noqa: E402


__all__ = ["CronWarning", "Result", "logger"]
