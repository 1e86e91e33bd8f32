"""@@cron-explain: a periodicity in English with its next runs, as JSON.

Used by the add and edit forms to explain the periodicity while it is typed.
"""

from collective.cron import clock
from collective.cron.browser.base import CronViewBase
from collective.cron.errors import InvalidCron
from collective.cron.schedule import get_timezone
from collective.cron.schedule import parse
from collective.cron.schedule import site_timezone
from collective.cron.settings import clean

import json


class ExplainView(CronViewBase):
    def __call__(self):
        form = self.request.form
        response = self.request.response
        response.setHeader("Content-Type", "application/json")
        response.setHeader("Cache-Control", "no-store")
        try:
            schedule = parse(form.get("periodicity", ""))
            # The cron's own rule: one IANA name of the form's list, else refused.
            zone = clean("timezone", form.get("timezone") or None)
            tz = get_timezone(zone) if zone else site_timezone()
        except (InvalidCron, ValueError) as error:
            return json.dumps({"ok": False, "error": str(error)})
        times = schedule.next_times(clock.now(), tz, 5)
        return json.dumps(
            {
                "ok": True,
                "explanation": schedule.explain(),
                "timezone": getattr(tz, "key", None) or str(tz),
                "next": [t.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") for t in times],
            }
        )
