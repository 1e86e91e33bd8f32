"""GET @crons-explain?periodicity=...&timezone=...&count=N: a periodicity in
English and its next runs, before any cron is saved with it."""

from collective.cron.errors import InvalidCron
from collective.cron.preview import preview
from collective.cron.preview import zone_name
from plone.restapi.services import Service
from zExceptions import BadRequest


class CronsExplainGet(Service):
    def reply(self):
        form = self.request.form
        periodicity = form.get("periodicity")
        if not periodicity:
            raise BadRequest("Missing periodicity: use @crons-explain?periodicity=...")
        try:
            explanation, tz, times = preview(
                periodicity, form.get("timezone"), form.get("count", 5)
            )
        except (InvalidCron, ValueError) as error:
            raise BadRequest(str(error))
        return {
            "periodicity": periodicity,
            "explanation": explanation,
            "timezone": zone_name(tz),
            "next": [t.isoformat() for t in times],
        }
