"""Event subscribers: every change of the crontab synchronises the queue."""

from collective.cron.audit import AuditTrail
from collective.cron.audit import settings_by_uid
from collective.cron.crontab import Crontab
from collective.cron.events import CrontabSynchronisationEvent
from collective.cron.interfaces import ICrontabManager
from collective.cron.registry import RECORD_ACTIVATED
from collective.cron.registry import RECORD_CRONTAB
from collective.cron.registry import is_writing
from plone import api
from plone.api.exc import CannotGetPortalError
from zope.component import getMultiAdapter
from zope.event import notify


def crontab_modified(event):
    """A saved crontab: its queue must follow."""
    notify(CrontabSynchronisationEvent(event.crontab, getattr(event, "uids", None)))


def synchronise(event):
    """Make the current site's queue match the crontab."""
    try:
        site = api.portal.get()
    except CannotGetPortalError:
        return
    manager = getMultiAdapter((site, event.crontab), ICrontabManager)
    manager.synchronize(uids=getattr(event, "uids", None))


def record_modified(event):
    """The crontab records were changed directly (registry.xml, @registry, ZMI)."""
    if event.record.__name__ not in (RECORD_CRONTAB, RECORD_ACTIVATED) or is_writing():
        return
    _audit_record_edit(event)
    # The text index follows the record (the switch alone: only it).
    switch_only = event.record.__name__ == RECORD_ACTIVATED
    Crontab().manager.reindex(() if switch_only else None)
    notify(CrontabSynchronisationEvent(Crontab.load(logs=False)))


def record_added_or_removed(event):
    """A crontab record registered again or removed (registry.xml, a
    reinstall): the text index follows, or goes with the records."""
    if event.record.__name__ not in (RECORD_CRONTAB, RECORD_ACTIVATED) or is_writing():
        return
    Crontab().manager.reindex()  # nothing outside a site


def _audit_record_edit(event):
    """Record a direct edit of the crontab records in the audit trail."""
    try:
        site = api.portal.get()
    except CannotGetPortalError:
        return
    trail = AuditTrail(site)
    old, new = event.oldValue, event.newValue
    if event.record.__name__ == RECORD_ACTIVATED:
        # None reads as on (the record's default).
        if (old is None or bool(old)) != (new is None or bool(new)):
            trail.record_switch(new is None or bool(new))
        return
    trail.record_crons(settings_by_uid(old), settings_by_uid(new))
