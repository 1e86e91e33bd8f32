"""Install and uninstall hooks of the GenericSetup profiles."""

from collective.cron.crontab import Crontab
from collective.cron.crontexts import ANNOTATION_KEY as TEXTS_KEY
from collective.cron.events import CrontabSynchronisationEvent
from collective.cron.history import ANNOTATION_KEY as HISTORY_KEY
from collective.cron.marker import mark_site
from collective.cron.marker import unmark_site
from collective.cron.queue import ANNOTATION_KEY as QUEUE_KEY
from collective.cron.recent import ANNOTATION_KEY as RECENT_KEY
from plone import api
from plone.base.interfaces import INonInstallable
from zope.annotation.interfaces import IAnnotations
from zope.event import notify
from zope.interface import implementer


@implementer(INonInstallable)
class HiddenProfiles:
    """Keep the uninstall profile out of the add-ons control panel."""

    def getNonInstallableProfiles(self):
        return ["collective.cron:uninstall", "collective.cron:testing"]

    def getNonInstallableProducts(self):
        return ["collective.cron.upgrades"]


def post_install(context):
    """Mark the site for workers; queue jobs of crons already in the registry."""
    mark_site(api.portal.get())
    Crontab().manager.reindex()  # the texts of crons already in the registry
    # Settings only: synchronising reads no run history.
    notify(CrontabSynchronisationEvent(Crontab.load(strict=False, logs=False)))


def uninstall(context):
    """Unmark the site; drop its job queue, run history and the indexes."""
    site = api.portal.get()
    unmark_site(site)
    annotations = IAnnotations(site)
    for key in (QUEUE_KEY, HISTORY_KEY, RECENT_KEY, TEXTS_KEY):
        annotations.pop(key, None)
