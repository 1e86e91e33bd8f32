"""GET @crons, @crons/UID, @crons/@export, @crons/@audit, @crons/UID/@audit."""

from collective.cron.audit import AuditTrail
from collective.cron.crontab import Crontab
from collective.cron.exportimport import FILENAME
from collective.cron.history import History
from collective.cron.interfaces import IExportImporter
from collective.cron.interfaces import IQueue
from collective.cron.restapi.serializer import audit_entry_to_json
from collective.cron.restapi.serializer import worker_to_json
from collective.cron.restapi.services.crons.base import CronsService
from collective.cron.workers import alive
from collective.cron.workers import heartbeats
from plone.restapi.batching import HypermediaBatch
from plone.restapi.interfaces import ISerializeToJsonSummary
from zope.component import getMultiAdapter


class CronsGet(CronsService):
    usage = "GET @crons, @crons/UID, @crons/@export, @crons/@audit or @crons/UID/@audit"

    def render(self):
        if self.params == ["@export"]:
            # crons.xml as it is, ready for a file or a GenericSetup profile.
            self.check_permission()
            return self.export()
        return super().render()

    def reply(self):
        params = self.params
        if not params:
            return self.listing()
        if params == ["@audit"]:
            return self.audit(None)
        if len(params) == 1 and not params[0].startswith("@"):
            _crontab, cron = self.load(params[0])
            return self.serialize(cron)
        if len(params) == 2 and params[1] == "@audit":
            self.load(params[0], logs=False)
            return self.audit(params[0])
        raise self.wrong_path()

    def listing(self):
        # The batch's crons only, settings only: the stored texts are
        # surveyed for the count and the crons set aside; the logs ("last")
        # are read for the batch's crons.
        survey = Crontab().manager.survey()
        batch = HypermediaBatch(self.request, survey.loadable())
        crontab = Crontab.load(strict=False, logs=False, uids=list(batch))
        # A uid the index of texts lacks (a write of the record that
        # bypassed it) is left out, not a failed listing.
        crons = [crontab.crons[uid] for uid in batch if uid in crontab.crons]
        history = History(self.context)
        for cron in crons:
            recorded = history.logs(cron.uid)
            if recorded is not None:  # else 2.x logs, still in the registry
                cron.logs = recorded
        living = {record["name"] for record in alive(self.context)}
        result = {
            "@id": batch.canonical_url,
            "activated": crontab.activated,
            "items_total": batch.items_total,
            "items": [
                getMultiAdapter((cron, self.request), ISerializeToJsonSummary)()
                for cron in crons
            ],
            "jobs_total": len(IQueue(self.context)),
            "workers": [
                worker_to_json(record, record["name"] in living)
                for record in heartbeats(self.context)
            ],
        }
        broken = survey.broken()
        if broken:
            # Stored crons that break a rule added since they were saved.
            result["broken"] = [str(error) for error in broken]
        if batch.links:
            result["batching"] = batch.links
        return result

    def audit(self, uid):
        """The audit trail, newest first, batched (b_start, b_size)."""
        batch = HypermediaBatch(self.request, AuditTrail(self.context).entries(uid))
        result = {
            "@id": batch.canonical_url,
            "items_total": batch.items_total,
            "items": [audit_entry_to_json(entry) for entry in batch],
        }
        if batch.links:
            result["batching"] = batch.links
        return result

    def export(self):
        crontab = Crontab.load(strict=False, logs=False)
        text = getMultiAdapter((self.context, crontab), IExportImporter).do_export()
        response = self.request.response
        response.setHeader("Content-Type", "application/xml; charset=utf-8")
        response.setHeader("Content-Disposition", f'attachment; filename="{FILENAME}"')
        return text
