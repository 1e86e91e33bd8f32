"""Contracts of collective.cron: model, managers, queue, runners and events.

The names here are those of collective.cron 2.x: add-ons written for it import
them, so they stay.
"""

from collective.cron import _
from collective.cron.settings import ICronSettings
from zope import schema
from zope.interface import Attribute
from zope.interface import Interface
from zope.interface.interfaces import IObjectEvent
from zope.publisher.interfaces.browser import IDefaultBrowserLayer

import zope.deferredimport


class ICollectiveCronLayer(IDefaultBrowserLayer):
    """Browser layer active on sites where collective.cron is installed."""


class IRegistryCrontab(Interface):
    """The registry records that hold a site's crontab."""

    crontab = schema.List(
        title=_("Crontab"),
        description=_("One JSON document per cron, in crontab order."),
        value_type=schema.Text(title=_("Cron")),
        default=[],
        required=False,
    )
    activated = schema.Bool(
        title=_("Crontab activated"),
        description=_("Global switch: when off, no cron of this site runs."),
        default=True,
        required=False,
    )


class ICronSiteSettings(Interface):
    """Site-wide settings of collective.cron (records collective.cron.*)."""

    alert_recipients = schema.List(
        title=_("Default alert recipients"),
        description=_(
            "E-mail addresses that get the alerts of crons that name none. "
            "Empty: the site's sender address (Site Setup > Mail)."
        ),
        value_type=schema.TextLine(),
        default=[],
        required=False,
    )
    health_public = schema.Bool(
        title=_("Public health counts"),
        description=_(
            "Let anyone, anonymous included, read @@cron-health and "
            "@crons-health: healthy or not, and counts, no names."
        ),
        default=False,
        required=False,
    )
    audit_size = schema.Int(
        title=_("Changes kept"),
        description=_(
            "How many entries the audit trail of crontab changes keeps; "
            "the oldest go first."
        ),
        default=1000,
        min=1,
        max=1000000,
        required=True,
    )
    audit_secret_keys = schema.List(
        title=_("Secret environ keys"),
        description=_(
            "Environ values whose key contains one of these words (any case) "
            "are shown as *** in the audit trail."
        ),
        value_type=schema.TextLine(),
        default=["password", "token", "secret", "apikey", "api_key"],
        required=False,
    )
    metrics_token = schema.TextLine(
        title=_("Metrics token"),
        description=_(
            "When set, @@cron-metrics also answers requests that send "
            "'Authorization: Bearer <token>' (for Prometheus scrapers)."
        ),
        default="",
        required=False,
    )


class ILog(Interface):
    """One run of a cron, as its history shows it."""

    date = Attribute("When the run started: an aware UTC datetime.")
    status = Attribute("FAILURE 0, OK 1, WARN 2 or NOTRUN 3.")
    messages = Attribute("List of texts the run reported.")

    def dump():
        """The log as a JSON-ready mapping (2.x format plus optional keys)."""


class ICron(ICronSettings):
    """A named job and its schedule.

    Its settings (uid, name, periodicity, environ, activated, logs_limit, user,
    timezone, misfire, saved_by) are the fields of ICronSettings, validated on
    every assignment.
    """

    logs = Attribute("Logs of prior runs, newest first.")
    crontab = Attribute("The crontab holding this cron, or None.")
    next = Attribute("Next fire time after now (aware UTC), None if inactive.")
    snext = Attribute("`next` formatted as YYYY-MM-DD HH:MM:SS, or ''.")
    last = Attribute("The newest log, or None.")
    tz = Attribute("The zone the periodicity is read in (the cron's or site's).")
    schedule = Attribute("The parsed periodicity (collective.cron.schedule).")

    def dump(logs=True):
        """The cron as a JSON-ready mapping in the 2.x format."""

    def to_json(logs=True):
        """The cron as JSON text; InvalidCron for what JSON cannot hold."""

    def next_after(after):
        """The first fire time strictly after `after` (aware UTC)."""

    def explain():
        """The periodicity in English."""

    def similar(other):
        """True when `other` has the same settings (logs and crontab aside)."""

    def log(date=None, status=None, messages=None):
        """Record a run: insert a log first and cut logs to logs_limit."""

    def save():
        """Save this cron alone into its crontab's storage."""


class ICrontab(Interface):
    """All crons of a site and the global switch."""

    crons = Attribute("Ordered mapping uid -> ICron.")
    activated = Attribute("Global switch.")
    broken = Attribute(
        "InvalidCron errors of stored crons set aside by load(strict=False)."
    )
    manager = Attribute("The ICrontabRegistryManager that stores it.")

    def add_cron(cron):
        """Add a cron (and set its crontab)."""

    def by(**filters):
        """Crons whose attributes equal all the given values."""

    def by_name(name):
        """Crons with this name."""

    def by_uid(uid):
        """The cron with this uid; raises NoSuchCron when there is none."""

    def save():
        """Write the crontab to its storage and notify ModifiedCrontabEvent."""

    def save_cron(cron):
        """Write one cron to storage and notify ModifiedCrontabEvent."""

    def dump():
        """The crontab as a JSON-ready mapping."""


class ICrontabRegistryManager(Interface):
    """Reads and writes a crontab from and to the site registry.

    Adapts an ICrontab.
    """

    activated = Attribute("The stored global switch.")
    crons = Attribute("The stored list of JSON strings, one per cron.")
    read_only = Attribute(
        "The crontab's read_only: when true, save() raises ReadOnlyCrontab."
    )

    def load(uids=None, logs=True, strict=True):
        """Fill the adapted crontab from the registry.

        `uids`: only these crons; `logs=False`: no run history;
        `strict=False`: set aside (in `crontab.broken`) stored crons that
        break a rule instead of raising InvalidCron."""

    def save():
        """Write the adapted crontab's changes to the registry; return the
        uids added, changed or removed (None: maybe all)."""

    def save_cron(cron):
        """Write only `cron` (added or changed), leaving the others' stored
        text as it is."""


class IJobRunner(Interface):
    """Runs a cron's job. Named multi-adapter on (site, cron)."""

    def run():
        """Do the work. A return value becomes the log's messages (WARN)."""


class ICronManager(Interface):
    """Keeps one cron's job in the queue. Adapts (site, cron)."""

    def register_job(begin_after=None, force=False, environ=None):
        """Queue the cron's next run, or one due at `begin_after` (force: a
        run due now or at `begin_after` even for an inactive cron, with
        `environ` merged over the cron's for that run only). True if queued."""

    def remove_jobs():
        """Remove the cron's pending jobs."""

    def synchronize(now=None):
        """Make the queue hold the cron's one job, at its next fire time."""

    def register_or_remove(force=False):
        """2.x, deprecated: synchronize() (force: register_job(force=True));
        returns (scheduled, result)."""

    def pause(until=None, reason="", by=None):
        """Pause the cron until `until` (None: until resumed); its runs
        meanwhile are not run and not misfires. False when it has no job."""

    def resume():
        """End the cron's pause: it runs at its next fire time from now."""


class ICrontabManager(Interface):
    """Synchronises a crontab with the queue. Adapts (site, crontab)."""

    def synchronize(uids=None):
        """Make the queue hold one pending job per active cron (only the
        crons of `uids` are looked at when given)."""


class IQueue(Interface):
    """The durable job queue of a site. Adapts the site.

    One job per scheduled cron (a persistent object with `cron_uid`,
    `begin_after` (aware UTC), `status` ("pending"/"running"), `forced`,
    `signature`, and while running `worker`, `worker_token`, `claimed_at`,
    `lease_until`). The engine, the dispatcher and the dashboard use only the
    members below: a replacement queue implements them.
    """

    jobs = Attribute("Pending jobs, earliest first (a list).")

    def __iter__():
        """Iterate over the pending jobs, earliest first."""

    def __len__():
        """How many jobs, pending or running."""

    def job(cron_uid):
        """The cron's job, pending or running, or None."""

    def pending_job(cron_uid):
        """The cron's job if it is pending, else None."""

    def running_job(cron_uid):
        """The cron's job if it is running, else None."""

    def is_job_present(cron_uid):
        """True when a job for this cron is pending or running."""

    def is_job_running(cron_uid):
        """True when a job for this cron is running."""

    def due_jobs(now=None):
        """Pending jobs due at `now` (default: the clock's), earliest first."""

    def running_jobs(now=None):
        """Jobs being run."""

    def expired_leases(now=None):
        """Running jobs whose lease ended before `now`."""

    def next_due(now=None):
        """When the earliest pending job is due (aware UTC), or None."""

    def look(now=None):
        """One pass for a dispatcher: (pending due jobs, running due jobs,
        when the next pending job is due or None)."""

    def schedule(cron_uid, begin_after, forced=False, signature=None, environ=None):
        """Make the cron's job due at `begin_after`; return the job.

        A running job keeps running: the change applies when it finishes."""

    def remove(cron_uid):
        """Drop the cron's job (a running one when it finishes); True if a
        pending job was dropped."""

    def clear():
        """Remove every job (running ones when they finish)."""

    def claim(job, worker, lease_until, token=None):
        """Mark a pending job running for `worker` (process `token`) until
        `lease_until`; writes the job only. Returns the job."""

    def pause(job, pause):
        """Pause the job: `pause` is {"until", "reason", "by", "at",
        "resume_at"}; a pending job waits at resume_at."""

    def resume(job, next_due, signature=None):
        """End the job's pause; a pending job is due at `next_due`."""

    def finish(job, next_due=None, signature=None):
        """End a run: reschedule the job to `next_due`, or drop it (what was
        asked while it ran wins)."""


class IExportImporter(Interface):
    """crons.xml import and export. Adapts (site, crontab)."""

    def do_import(xml_text):
        """Apply a crons.xml document to the crontab."""

    def do_export():
        """Return the crontab as a crons.xml document."""


class IModifiedCrontabEvent(Interface):
    """A crontab was saved."""

    crontab = Attribute("The crontab.")


class ICrontabSynchronisationEvent(Interface):
    """The queue must be synchronised with the crontab."""

    crontab = Attribute("The crontab.")


class IServerRestartEvent(Interface):
    """The Zope process started: jobs of a cron-aware site must be checked."""

    crontab = Attribute("The crontab.")


class IStartedCronJobEvent(IObjectEvent):
    """A cron job starts. object is the site."""

    cron = Attribute("The cron.")


class IFinishedCronJobEvent(IObjectEvent):
    """A cron job finished. object is the site."""

    cron = Attribute("The cron.")
    log = Attribute("The log recorded for the run.")


class ICronJobFailedEvent(IFinishedCronJobEvent):
    """A cron job finished with FAILURE (the same event object also
    provides IFinishedCronJobEvent)."""


# collective.cron 2.x names, kept for add-ons written for 2.x: each warns
# (DeprecationWarning) with its 3.x spelling. docs/migration.md lists them.
zope.deferredimport.deprecated(
    "Use collective.cron.interfaces.ICollectiveCronLayer.",
    ILayer="collective.cron.interfaces:ICollectiveCronLayer",
)
zope.deferredimport.deprecated(
    "Use collective.cron.errors.InvalidCron.",
    InvalidCron="collective.cron.errors:InvalidCron",
)
zope.deferredimport.deprecated(
    "Use collective.cron.errors.InvalidPeriodicity.",
    CronFormatError="collective.cron.errors:InvalidPeriodicity",
)
zope.deferredimport.deprecated(
    "Use collective.cron.status.Status (FAILURE 0, OK 1, WARN 2, NOTRUN 3).",
    job_status="collective.cron.utils:_job_status",
)
