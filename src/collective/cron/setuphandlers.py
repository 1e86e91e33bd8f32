"""Install and uninstall hooks of the GenericSetup profiles."""

from collective.cron.crontab import Crontab
from collective.cron.events import CrontabSynchronisationEvent
from collective.cron.history import ANNOTATION_KEY as HISTORY_KEY
from collective.cron.queue import ANNOTATION_KEY as QUEUE_KEY
from plone import api
from plone.base.interfaces import INonInstallable
from zope.annotation.interfaces import IAnnotations
from zope.event import notify
from zope.interface import implementer


@implementer(INonInstallable)
class HiddenProfiles:
    """Keep the uninstall profile out of the add-ons control panel."""

    def getNonInstallableProfiles(self):
        return ["collective.cron:uninstall"]

    def getNonInstallableProducts(self):
        return ["collective.cron.upgrades"]


def post_install(context):
    """Queue the jobs of crons already in the registry (a reinstall, 2.x data)."""
    notify(CrontabSynchronisationEvent(Crontab.load()))


def uninstall(context):
    """Drop the site's job queue and run history."""
    annotations = IAnnotations(api.portal.get())
    for key in (QUEUE_KEY, HISTORY_KEY):
        annotations.pop(key, None)
