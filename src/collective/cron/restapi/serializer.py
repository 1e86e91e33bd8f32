"""Crons, logs, jobs and workers as JSON-ready mappings."""

from collective.cron.status import Status


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
