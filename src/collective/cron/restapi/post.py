"""POST @crons/UID/@pause and @crons/UID/@resume."""

from collective.cron.crontab import Crontab
from collective.cron.errors import InvalidCron
from collective.cron.errors import NoSuchCron
from collective.cron.interfaces import ICronManager
from collective.cron.interfaces import IQueue
from collective.cron.restapi.base import CronsService
from collective.cron.restapi.serializer import job_to_json
from plone.protect.interfaces import IDisableCSRFProtection
from plone.restapi.deserializer import json_body
from zope.component import getMultiAdapter
from zope.interface import alsoProvides


ACTIONS = ("@pause", "@resume")


class CronsPost(CronsService):
    """Pause a cron (JSON body: optional "until", ISO 8601; "reason"), or
    resume it. Answers the cron's job; 400 names a bad value, 404 an
    unknown uid."""

    def reply(self):
        # As plone.restapi's own writes: a JSON API call is no form a third
        # site can make a browser send (CORS), so plone.protect's automatic
        # check stands aside.
        alsoProvides(self.request, IDisableCSRFProtection)
        if len(self.params) != 2 or self.params[1] not in ACTIONS:
            return self.error(
                400, "BadRequest", "Use POST @crons/UID/@pause or @crons/UID/@resume"
            )
        uid, action = self.params
        try:
            cron = Crontab.load(uids=[uid], strict=False).by_uid(uid)
        except NoSuchCron as error:
            return self.error(404, "NotFound", str(error))
        manager = getMultiAdapter((self.context, cron), ICronManager)
        if action == "@resume":
            manager.resume()
        else:
            try:
                data = json_body(self.request)
            except Exception as error:
                return self.error(400, "BadRequest", str(error))
            try:
                paused = manager.pause(
                    until=data.get("until"), reason=data.get("reason", "")
                )
            except InvalidCron as error:
                return self.error(400, "BadRequest", str(error))
            if not paused:
                return self.error(
                    409, "Conflict", f"Cron {uid} has no run to pause (deactivated)"
                )
        return {"uid": uid, "job": job_to_json(IQueue(self.context).job(uid))}
