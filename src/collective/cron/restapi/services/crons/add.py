"""POST @crons (add a cron), @crons/@import (crons.xml), and the actions
@crons/UID/@run, @crons/UID/@pause, @crons/UID/@resume."""

from collective.cron.crontab import Crontab
from collective.cron.errors import InvalidCron
from collective.cron.exportimport import CronsXMLError
from collective.cron.interfaces import ICronManager
from collective.cron.interfaces import IExportImporter
from collective.cron.restapi.deserializer import read_body
from collective.cron.restapi.serializer import job_to_json
from collective.cron.restapi.services.crons.base import CronsWriteService
from plone.restapi.interfaces import IDeserializeFromJson
from zExceptions import BadRequest
from zope.component import getMultiAdapter


ACTIONS = ("@run", "@pause", "@resume")


class CronsPost(CronsWriteService):
    usage = (
        "POST @crons, @crons/@import, @crons/UID/@run, @crons/UID/@pause "
        "or @crons/UID/@resume"
    )

    def reply(self):
        params = self.params
        if not params:
            return self.add()
        if params == ["@import"]:
            return self.do_import()
        if len(params) == 2 and params[1] in ACTIONS:
            _crontab, cron = self.load(params[0])
            action = params[1][1:]
            return getattr(self, action)(cron)
        raise self.wrong_path()

    def add(self):
        """201 with the new cron; its URL in Location."""
        crontab = Crontab.load(strict=False)
        cron = getMultiAdapter((crontab, self.request), IDeserializeFromJson)()
        crontab.save()
        self.request.response.setStatus(201)
        self.request.response.setHeader("Location", self.cron_url(cron))
        return self.serialize(cron)

    def do_import(self):
        """crons.xml as the body (Content-Type: application/xml), or JSON
        {"xml": text}. All or nothing: a bad file changes nothing."""
        content_type = self.request.getHeader("Content-Type") or ""
        if "xml" in content_type:
            text = self.request.get("BODY") or b""
        else:
            text = read_body(self.request).get("xml")
            if not isinstance(text, str) or not text.strip():
                raise BadRequest(
                    "Send crons.xml as the body (Content-Type: application/xml) "
                    'or as JSON {"xml": "<crons>...</crons>"}'
                )
        before = {
            uid: cron.dump(logs=False)
            for uid, cron in Crontab.load(strict=False, logs=False).crons.items()
        }
        importer = getMultiAdapter((self.context, Crontab()), IExportImporter)
        try:
            crontab = importer.do_import(text)
        except (CronsXMLError, InvalidCron) as error:
            raise BadRequest(str(error))
        after = {uid: cron.dump(logs=False) for uid, cron in crontab.crons.items()}
        return {
            "added": [uid for uid in after if uid not in before],
            "changed": [
                uid for uid in after if uid in before and after[uid] != before[uid]
            ],
            "removed": [uid for uid in before if uid not in after],
            "items_total": len(after),
        }

    def run(self, cron):
        """Queue a run now (JSON body: optional "environ", merged over the
        cron's for that run only): 202 with the cron's job."""
        environ = self.optional_body().get("environ")
        manager = getMultiAdapter((self.context, cron), ICronManager)
        try:
            manager.register_job(force=True, environ=environ)
        except InvalidCron as error:
            raise BadRequest(str(error))
        self.request.response.setStatus(202)
        return self.job_reply(cron)

    def pause(self, cron):
        """JSON body: optional "until" (ISO 8601) and "reason"."""
        data = self.optional_body()
        manager = getMultiAdapter((self.context, cron), ICronManager)
        try:
            paused = manager.pause(
                until=data.get("until"), reason=data.get("reason", "")
            )
        except InvalidCron as error:
            raise BadRequest(str(error))
        if not paused:
            self.request.response.setStatus(409)
            return {
                "type": "Conflict",
                "message": f"Cron {cron.uid} has no run to pause (deactivated)",
            }
        return self.job_reply(cron)

    def resume(self, cron):
        getMultiAdapter((self.context, cron), ICronManager).resume()
        return self.job_reply(cron)

    def optional_body(self):
        body = self.request.get("BODY") or b""
        return read_body(self.request) if body.strip() else {}

    def job_reply(self, cron):
        return {"uid": cron.uid, "job": job_to_json(self.job(cron.uid))}
