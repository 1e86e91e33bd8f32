"""Prometheus metrics of a site's scheduler (served by @@cron-metrics).

Counters must never go down, or Prometheus reads a reset. A cron's logs
cannot give them: they keep `logs_limit` runs (25 at most), so counts taken
from them would fall as old logs go. The counts are therefore kept in the
ZODB, in the cron's history record, which every run writes anyway: counting
a run adds no object to its commit and no new chance of a conflict, and the
counts survive restarts and are the same whichever worker serves the scrape.
They start at zero when this version is installed and go with the cron
when it is deleted.

The rest is read at scrape time: the last success, the jobs due, running and
overdue, the workers alive.
"""

from collective.cron import clock
from collective.cron import logger
from collective.cron.crontab import Crontab
from collective.cron.crontab import parse_date
from collective.cron.health import overdue_grace
from collective.cron.history import History
from collective.cron.interfaces import IQueue
from collective.cron.status import Status
from collective.cron.workers import alive
from prometheus_client import CollectorRegistry
from prometheus_client import generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from ZODB.POSException import ConflictError


CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
# Where a cron's counts live in its history record's memory.
MEMORY_KEY = "metrics"
# Histogram bucket bounds (seconds, +Inf is implied).
DURATION_BUCKETS = (0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600)
LATENESS_BUCKETS = (1, 5, 15, 60, 300, 900, 3600, 21600, 86400)
STATUSES = tuple(status.name for status in Status)


def _empty():
    return {
        "runs": {},
        "duration": {"buckets": [0] * len(DURATION_BUCKETS), "sum": 0.0, "count": 0},
        "lateness": {"buckets": [0] * len(LATENESS_BUCKETS), "sum": 0.0, "count": 0},
        "last_success": None,
    }


def _observe(histogram, bounds, value):
    """Count `value` in the first bucket it fits (cumulated when exposed)."""
    histogram = dict(histogram)
    buckets = list(histogram["buckets"])
    for index, bound in enumerate(bounds):
        if value <= bound:
            buckets[index] += 1
            break
    histogram["buckets"] = buckets
    histogram["sum"] += value
    histogram["count"] += 1
    return histogram


def count_run(site, uid, log):
    """Add a run's log to the cron's counters (in the run's transaction)."""
    history = History(site)
    counts = history.alerts(uid).get(MEMORY_KEY) or _empty()
    counts = {**_empty(), **counts}
    status = Status(log.status).name
    counts["runs"] = {**counts["runs"], status: counts["runs"].get(status, 0) + 1}
    duration = log.details.get("duration")
    if isinstance(duration, int | float) and not isinstance(duration, bool):
        # A run that ran (not a lost worker's, which has no duration).
        counts["duration"] = _observe(
            counts["duration"], DURATION_BUCKETS, max(0.0, float(duration))
        )
        due = parse_date(log.details.get("due"))
        if due is not None:
            late = max(0.0, (log.date - due).total_seconds())
            counts["lateness"] = _observe(counts["lateness"], LATENESS_BUCKETS, late)
    if log.status == Status.OK:
        counts["last_success"] = log.date.timestamp()
    history.set_alerts(uid, **{MEMORY_KEY: counts})


def record_run(event):
    """IFinishedCronJobEvent: count the run. Never fails the run."""
    log = getattr(event, "log", None)
    if log is None:
        return
    try:
        count_run(event.object, event.cron.uid, log)
    except ConflictError:
        raise
    except Exception:
        logger.exception("Cron %s: counting its run failed", event.cron.uid)


def _histogram(name, documentation, bounds, per_cron):
    family = HistogramMetricFamily(name, documentation, labels=["cron"])
    for uid, histogram in per_cron:
        cumulated, running = [], 0
        for bound, count in zip(bounds, histogram["buckets"]):
            running += count
            cumulated.append((str(float(bound)), running))
        cumulated.append(("+Inf", histogram["count"]))
        family.add_metric([uid], cumulated, histogram["sum"])
    return family


class SiteCollector:
    """A prometheus_client collector reading one site at scrape time."""

    def __init__(self, site):
        self.site = site

    def collect(self):
        site = self.site
        now = clock.now()
        crontab = Crontab.load(strict=False, logs=False)
        history = History(site)
        queue = IQueue(site)
        runs = CounterMetricFamily(
            "collective_cron_runs",
            "Runs ended, by cron (uid) and status.",
            labels=["cron", "status"],
        )
        last_success = GaugeMetricFamily(
            "collective_cron_last_success_timestamp_seconds",
            "When the cron's last OK run started (Unix time).",
            labels=["cron"],
        )
        info = GaugeMetricFamily(
            "collective_cron_cron_info",
            "One per cron: its runner name and whether it is activated.",
            labels=["cron", "name", "activated"],
        )
        durations, latenesses = [], []
        for uid, cron in crontab.crons.items():
            counts = {**_empty(), **(history.alerts(uid).get(MEMORY_KEY) or {})}
            for status in STATUSES:
                runs.add_metric([uid, status], counts["runs"].get(status, 0))
            durations.append((uid, counts["duration"]))
            latenesses.append((uid, counts["lateness"]))
            if counts["last_success"] is not None:
                last_success.add_metric([uid], counts["last_success"])
            info.add_metric([uid, cron.name, str(bool(cron.activated)).lower()], 1)
        yield runs
        yield _histogram(
            "collective_cron_run_duration_seconds",
            "How long runs took.",
            DURATION_BUCKETS,
            durations,
        )
        yield _histogram(
            "collective_cron_run_lateness_seconds",
            "How long after their due time runs started.",
            LATENESS_BUCKETS,
            latenesses,
        )
        yield last_success
        yield info
        pending, running, _ = queue.look(now)
        grace = overdue_grace()
        yield GaugeMetricFamily(
            "collective_cron_jobs_due",
            "Jobs due now that no worker has taken yet.",
            value=len(pending),
        )
        yield GaugeMetricFamily(
            "collective_cron_jobs_overdue",
            "Jobs due for longer than the misfire grace (no worker takes them).",
            value=sum(1 for job in pending if now - job.begin_after > grace),
        )
        yield GaugeMetricFamily(
            "collective_cron_jobs_running", "Jobs being run.", value=len(running)
        )
        yield GaugeMetricFamily(
            "collective_cron_workers_alive",
            "Worker processes whose heartbeat is recent.",
            value=len(alive(site)),
        )
        yield GaugeMetricFamily(
            "collective_cron_crontab_activated",
            "1 when the site's crontab is activated, 0 when no cron runs.",
            value=1 if crontab.activated else 0,
        )


def exposition(site):
    """The site's metrics in the Prometheus text format (bytes)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SiteCollector(site))
    return generate_latest(registry)
