"""Crons, logs, jobs and workers as JSON-ready mappings.

`SerializeCronToJson` and `SerializeCronToJsonSummary` are plone.restapi
serializers (ISerializeToJson / ISerializeToJsonSummary adapters on
(ICron, request)): an integrator overrides them for its layer to add or hide
keys of GET @crons.
"""

from collective.cron.interfaces import ICron
from collective.cron.interfaces import IQueue
from collective.cron.status import Status
from plone.restapi.interfaces import ISerializeToJson
from plone.restapi.interfaces import ISerializeToJsonSummary
from zope.component import adapter
from zope.component.hooks import getSite
from zope.interface import Interface
from zope.interface import implementer


def iso(value):
    return value.isoformat() if value is not None else None


def log_to_json(log):
    data = dict(log.details)
    data.update(
        date=iso(log.date),
        status=int(log.status),
        status_title=Status.title_of(log.status),
        messages=list(log.messages),
    )
    return data


def job_to_json(job):
    if job is None:
        return None
    return {
        "status": job.status,
        "begin_after": iso(job.begin_after),
        "forced": job.forced,
        "worker": job.worker,
        "lease_until": iso(job.lease_until),
        "paused": _paused_to_json(job.paused),
    }


def _paused_to_json(paused):
    if paused is None:
        return None
    return {
        "until": iso(paused.get("until")),
        "reason": paused.get("reason", ""),
        "by": paused.get("by", ""),
        "at": iso(paused.get("at")),
    }


def cron_to_json(cron, base_url, job=None, logs=True):
    """Every setting (the 2.x dump), plus what the engine knows of the cron."""
    data = cron.dump(logs=False)
    tz = cron.tz
    data.update(
        {
            "@id": f"{base_url}/@crons/{cron.uid}",
            "explanation": cron.explain(),
            "effective_timezone": getattr(tz, "key", None) or str(tz),
            "next": iso(cron.next),
            "job": job_to_json(job),
            "last": log_to_json(cron.last) if cron.last is not None else None,
        }
    )
    if logs:
        data["logs"] = [log_to_json(log) for log in cron.logs]
    return data


def worker_to_json(record, alive):
    data = dict(record)
    data.update(
        started=iso(record["started"]),
        last_seen=iso(record["last_seen"]),
        alive=alive,
    )
    return data


def audit_entry_to_json(entry):
    data = dict(entry)
    data["date"] = iso(entry["date"])
    data["changes"] = [dict(change) for change in entry.get("changes") or ()]
    return data


@implementer(ISerializeToJson)
@adapter(ICron, Interface)
class SerializeCronToJson:
    """One cron with its logs: GET @crons/UID, and the answer to writes."""

    logs = True

    def __init__(self, cron, request):
        self.cron = cron
        self.request = request

    def __call__(self):
        site = getSite()
        job = IQueue(site).job(self.cron.uid)
        return cron_to_json(self.cron, site.absolute_url(), job, logs=self.logs)


@implementer(ISerializeToJsonSummary)
@adapter(ICron, Interface)
class SerializeCronToJsonSummary(SerializeCronToJson):
    """One cron in the GET @crons listing: no logs, the newest in "last"."""

    logs = False
