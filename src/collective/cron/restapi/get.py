"""GET @crons and @crons/UID."""

from collective.cron.crontab import Crontab
from collective.cron.errors import NoSuchCron
from collective.cron.interfaces import IQueue
from collective.cron.restapi.base import CronsService
from collective.cron.restapi.serializer import cron_to_json
from collective.cron.restapi.serializer import worker_to_json
from collective.cron.workers import alive
from collective.cron.workers import heartbeats
from plone.restapi.batching import HypermediaBatch


class CronsGet(CronsService):
    def reply(self):
        base_url = self.context.absolute_url()
        queue = IQueue(self.context)
        if len(self.params) > 1:
            self.request.response.setStatus(400)
            return {"error": {"type": "BadRequest", "message": "Use @crons/UID"}}
        if self.params:
            uid = self.params[0]
            try:
                cron = Crontab.load(uids=[uid], strict=False).by_uid(uid)
            except NoSuchCron as error:
                self.request.response.setStatus(404)
                return {"error": {"type": "NotFound", "message": str(error)}}
            return cron_to_json(cron, base_url, queue.job(uid))
        crontab = Crontab.load(strict=False)
        batch = HypermediaBatch(self.request, list(crontab.crons.values()))
        living = {record["name"] for record in alive(self.context)}
        result = {
            "@id": batch.canonical_url,
            "activated": crontab.activated,
            "items_total": batch.items_total,
            "items": [
                cron_to_json(cron, base_url, queue.job(cron.uid), logs=False)
                for cron in batch
            ],
            "workers": [
                worker_to_json(record, record["name"] in living)
                for record in heartbeats(self.context)
            ],
        }
        if crontab.broken:
            # Stored crons that break a rule added since they were saved.
            result["broken"] = [str(error) for error in crontab.broken]
        if batch.links:
            result["batching"] = batch.links
        return result
