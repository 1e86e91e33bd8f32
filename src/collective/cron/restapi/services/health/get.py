"""GET @crons-health: the scheduler's health, 200 or 503."""

from collective.cron import health
from plone.restapi.services import Service


class CronsHealthGet(Service):
    def check_permission(self):
        """Who may read it is health.for_current_user's to decide (anyone,
        counts only, when the site makes health public)."""

    def reply(self):
        data = health.for_current_user(self.context)
        self.request.response.setStatus(200 if data["healthy"] else 503)
        self.request.response.setHeader("Cache-Control", "no-store")
        return data
