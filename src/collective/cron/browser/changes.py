"""@@cron-changes: the audit trail, site-wide or one cron's (?uid=...)."""

from collective.cron import _
from collective.cron.audit import AuditTrail
from collective.cron.browser.base import CronViewBase
from plone.batching import Batch
from Products.Five.browser.pagetemplatefile import ViewPageTemplateFile
from urllib.parse import quote

import json


CHANGES_PER_PAGE = 50

# What the pages call each action (the trail stores the English key).
ACTION_TITLES = {
    "added": _("added"),
    "changed": _("changed"),
    "removed": _("removed"),
    "crontab activated": _("crontab activated"),
    "crontab deactivated": _("crontab deactivated"),
    "paused": _("paused"),
    "resumed": _("resumed"),
    "run now": _("run now"),
    "logs deleted": _("logs deleted"),
    "imported": _("imported"),
}


def value_text(value):
    """A changed value as the pages show it: texts as they are, other JSON
    values as JSON, nothing for None (the field was not set)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


class ChangesMixin:
    """Entries of the audit trail as rows for the macro of changes_table.pt."""

    changes_table = ViewPageTemplateFile("templates/changes_table.pt")

    def change_rows(self, entries):
        for entry in entries:
            yield {
                "date": self.local_time(entry["date"]),
                "who": entry["who"],
                "uid": entry["uid"],
                "name": entry["name"],
                "action": ACTION_TITLES.get(entry["action"], entry["action"]),
                "css": "cron-change-" + entry["action"].replace(" ", "-"),
                "changes": [
                    {
                        "field": change["field"],
                        "old": value_text(change["old"]),
                        "new": value_text(change["new"]),
                    }
                    for change in entry["changes"]
                ],
                "cron_url": self.uid_url(entry["uid"]) if entry["uid"] else "",
            }

    def uid_url(self, uid):
        return f"{self.site_url}/@@cron?uid={quote(uid, safe='')}"

    def changes_url(self, uid=None):
        url = f"{self.site_url}/@@cron-changes"
        return f"{url}?uid={quote(uid, safe='')}" if uid else url


class CronChanges(ChangesMixin, CronViewBase):
    template = ViewPageTemplateFile("templates/changes.pt")

    def __call__(self):
        self.uid = self.request.form.get("uid") or None
        if self.uid is not None and not isinstance(self.uid, str):
            self.uid = None
        return self.template()

    @property
    def batch(self):
        try:
            start = max(0, int(self.request.form.get("b_start", 0) or 0))
        except ValueError:
            start = 0
        entries = AuditTrail(self.context).entries(uid=self.uid)
        return Batch(entries, CHANGES_PER_PAGE, start)

    def rows(self):
        return self.change_rows(self.batch)
