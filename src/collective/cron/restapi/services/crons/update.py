"""PATCH @crons (the crontab switch) and PATCH @crons/UID (a cron's settings)."""

from collective.cron.crontab import Crontab
from collective.cron.errors import InvalidCron
from collective.cron.restapi.deserializer import read_body
from collective.cron.restapi.services.crons.base import CronsWriteService
from collective.cron.settings import clean
from plone.restapi.interfaces import IDeserializeFromJson
from zExceptions import BadRequest
from zope.component import getMultiAdapter


class CronsPatch(CronsWriteService):
    usage = "PATCH @crons or @crons/UID"

    def reply(self):
        if not self.params:
            return self.switch()
        if len(self.params) == 1 and not self.params[0].startswith("@"):
            return self.update(self.params[0])
        raise self.wrong_path()

    def switch(self):
        """{"activated": false} stops every cron of the site; true restarts."""
        data = read_body(self.request)
        unknown = sorted(set(data) - {"activated"})
        if unknown or "activated" not in data:
            raise BadRequest(
                f'PATCH @crons takes {{"activated": true|false}}, got {sorted(data)}'
            )
        try:
            activated = clean("activated", data["activated"])
        except InvalidCron as error:
            raise BadRequest(str(error))
        crontab = Crontab.load(strict=False, logs=False)
        if crontab.activated != activated:
            crontab.activated = activated
            crontab.save()
        return self.reply_no_content()

    def update(self, uid):
        """204, or 200 with the cron when asked (Prefer: return=representation)."""
        crontab, cron = self.load(uid)
        getMultiAdapter((cron, self.request), IDeserializeFromJson)()
        crontab.save()
        if "return=representation" in (self.request.getHeader("Prefer") or ""):
            return self.serialize(cron)
        return self.reply_no_content()
