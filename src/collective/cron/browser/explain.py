"""@@cron-explain: a periodicity in English with its next runs, as JSON.

Used by the add and edit forms to explain the periodicity while it is typed.
"""

from collective.cron.browser.base import CronViewBase
from collective.cron.errors import InvalidCron
from collective.cron.preview import preview
from collective.cron.preview import zone_name

import json


class ExplainView(CronViewBase):
    def __call__(self):
        form = self.request.form
        response = self.request.response
        response.setHeader("Content-Type", "application/json")
        response.setHeader("Cache-Control", "no-store")
        try:
            explanation, tz, times = preview(
                form.get("periodicity", ""), form.get("timezone")
            )
        except (InvalidCron, ValueError) as error:
            return json.dumps({"ok": False, "error": str(error)})
        return json.dumps(
            {
                "ok": True,
                "explanation": explanation,
                "timezone": zone_name(tz),
                "next": [t.strftime("%Y-%m-%d %H:%M:%S") for t in times],
            }
        )
