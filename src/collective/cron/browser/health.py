"""@@cron-health: the scheduler's health as JSON, 200 or 503."""

from collective.cron import health
from Products.Five.browser import BrowserView

import json


class CronHealth(BrowserView):
    def __call__(self):
        data = health.for_current_user(self.context)
        response = self.request.response
        response.setStatus(200 if data["healthy"] else 503)
        response.setHeader("Content-Type", "application/json")
        response.setHeader("Cache-Control", "no-store")
        return json.dumps(data, indent=2)
