"""collective.cron: cron-like scheduled jobs inside Plone 6."""

from zope.i18nmessageid import MessageFactory

import logging


__version__ = "3.0.0a1.dev0"

PACKAGE_NAME = "collective.cron"

_ = MessageFactory(PACKAGE_NAME)

logger = logging.getLogger(PACKAGE_NAME)
