"""${cron_...} substitutions for content-rule actions (Send email, Logger...).

Outside a cron rule they give an empty text.
"""

from collective.cron import _
from collective.cron.contentrules.handlers import current_event
from collective.cron.status import Status
from plone.stringinterp.adapters import BaseSubstitution
from urllib.parse import quote
from zope.component import adapter
from zope.interface import Interface


@adapter(Interface)
class CronSubstitution(BaseSubstitution):
    category = _("Cron jobs")

    def safe_call(self):
        event = current_event()
        if event is None or getattr(event, "cron", None) is None:
            return ""
        return self.value(event)


class CronName(CronSubstitution):
    description = _("The cron's name")

    def value(self, event):
        return event.cron.name


class CronUid(CronSubstitution):
    description = _("The cron's uid")

    def value(self, event):
        return event.cron.uid


class CronStatus(CronSubstitution):
    description = _("How the run ended: OK, WARN, FAILURE or NOTRUN")

    def value(self, event):
        return Status(event.log.status).name if event.log is not None else ""


class CronMessages(CronSubstitution):
    description = _("The run's messages, one a line")

    def value(self, event):
        return "\n".join(event.log.messages) if event.log is not None else ""


class CronDate(CronSubstitution):
    description = _("When the run started (UTC)")

    def value(self, event):
        return event.log.sdate if event.log is not None else ""


class CronUrl(CronSubstitution):
    description = _("The address of the cron's page in the Cron Dashboard")

    def value(self, event):
        site_url = event.object.absolute_url()
        return f"{site_url}/@@cron?uid={quote(event.cron.uid, safe='')}"
