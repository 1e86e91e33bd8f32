"""Is the scheduler doing its work? One answer for probes and people.

Unhealthy when no worker is alive (the one failure no worker can mail about)
or when a job is overdue: due for longer than the misfire grace while no
worker took it. Load balancers, Kubernetes probes and uptime checkers read
`@@cron-health` or `GET @crons-health`: 200 when healthy, 503 when not.
"""

from collective.cron import clock
from collective.cron import config
from collective.cron.crontab import Crontab
from collective.cron.crontab import format_date
from collective.cron.interfaces import IQueue
from collective.cron.status import Status
from collective.cron.workers import alive
from datetime import timedelta
from plone import api
from zExceptions import Unauthorized


# Registry record: may anyone (anonymous included) read the health counts?
PUBLIC_RECORD = "collective.cron.health_public"
MANAGE_CRONS = "collective.cron: Manage crons"


def overdue_grace():
    """The misfire grace of this process's settings (default 60 s)."""
    try:
        return timedelta(seconds=config.load().misfire_grace)
    except config.ConfigError:
        return timedelta(seconds=config.WorkerConfig.misfire_grace)


def report(site, now=None):
    """The scheduler's health as a JSON-ready mapping; ["healthy"] says it all."""
    now = now or clock.now()
    grace = overdue_grace()
    workers = alive(site)
    crontab = Crontab.load(strict=False)
    queue = IQueue(site)
    crons, overdue, failing = [], [], []
    for cron in crontab:
        job = queue.job(cron.uid)
        last = cron.last
        entry = {
            "uid": cron.uid,
            "name": cron.name,
            "activated": cron.activated,
            "last_status": last.sstatus if last else None,
            "last_run": format_date(last.date) if last else None,
            "next": format_date(job.begin_after) if job else None,
        }
        crons.append(entry)
        if job is not None and not job.running and now - job.begin_after > grace:
            overdue.append({**entry, "due": format_date(job.begin_after)})
        if last is not None and last.status == Status.FAILURE:
            failing.append(entry)
    problems = []
    if not workers:
        problems.append("no worker is alive: no cron runs")
    if overdue:
        names = ", ".join(entry["uid"] for entry in overdue[:10])
        problems.append(f"{len(overdue)} job(s) overdue by more than {grace}: {names}")
    return {
        "healthy": not problems,
        "problems": problems,
        "checked_at": format_date(now),
        "crontab_activated": crontab.activated,
        "workers_alive": len(workers),
        "workers": [worker["name"] for worker in workers],
        "overdue": overdue,
        "failing": failing,
        "crons": crons,
    }


def counts(full):
    """What anyone may see when public health is on: numbers, no names."""
    return {
        "healthy": full["healthy"],
        "workers_alive": full["workers_alive"],
        "overdue": len(full["overdue"]),
        "failing": len(full["failing"]),
        "crons": len(full["crons"]),
    }


def public():
    """True when the site lets anyone read the health counts."""
    return bool(api.portal.get_registry_record(PUBLIC_RECORD, default=False))


def for_current_user(site):
    """The full report for who may manage crons; the counts for anyone when
    health is public; else Unauthorized."""
    if api.user.has_permission(MANAGE_CRONS, obj=site):
        return report(site)
    if public():
        return counts(report(site))
    raise Unauthorized(f"The cron health needs the {MANAGE_CRONS!r} permission")
