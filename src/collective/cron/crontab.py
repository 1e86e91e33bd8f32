"""The crontab model: Crontab, Cron, Log and the Runner base class.

The API and the JSON form are those of collective.cron 2.x: registry data
written by 2.x loads unchanged, and 2.x runners keep working.

    >>> crontab = Crontab.load()          # from the site registry
    >>> cron = Cron(name="mycronjob", periodicity="*/5 * * * *", crontab=crontab)
    >>> crontab.save()                    # back to the registry, queue synced
"""

from collections import OrderedDict
from collective.cron import clock
from collective.cron import settings
from collective.cron.errors import InvalidCron
from collective.cron.errors import NoSuchCron
from collective.cron.events import ModifiedCrontabEvent
from collective.cron.interfaces import ICron
from collective.cron.interfaces import ICrontab
from collective.cron.interfaces import ICrontabRegistryManager
from collective.cron.interfaces import IJobRunner
from collective.cron.interfaces import ILog
from collective.cron.schedule import get_timezone
from collective.cron.schedule import parse as parse_schedule
from collective.cron.schedule import site_timezone
from collective.cron.status import Status
from datetime import datetime
from plone.base.interfaces.siteroot import IPloneSiteRoot
from zope.component import adapter
from zope.deprecation import deprecate
from zope.event import notify
from zope.interface import implementer

import json
import uuid
import warnings
import zope.deferredimport


__all__ = [
    "Cron",
    "Crontab",
    "InvalidCron",
    "Log",
    "NoSuchCron",
    "ReadOnlyCrontab",
    "Runner",
    "Status",
]

DATE_FORMAT = "%Y-%m-%d %H:%M:%S"

# The settings of a cron (collective.cron.settings.ICronSettings): what dump()
# writes besides logs and saved_by, what similar() compares, what by() filters on.
SETTINGS = tuple(name for name in settings.NAMES if name != "saved_by")

# Logs are kept small whatever a runner returns: the first messages, cut.
MAX_MESSAGES = 50
MAX_MESSAGE_LENGTH = 4000
MAX_DETAIL_LENGTH = 20000


# 2.x's job function: glue over today's engine, warns when called.
zope.deferredimport.define(runJob="collective.cron.utils:runJob")


class ReadOnlyCrontab(Exception):
    """A crontab loaded with read_only=True was asked to save."""


def format_date(value):
    """'YYYY-MM-DD HH:MM:SS' in UTC, the 2.x format; '' for None."""
    if value is None:
        return ""
    return clock.as_utc(value).strftime(DATE_FORMAT)


def parse_date(text):
    """Aware UTC datetime from the 2.x format (or ISO 8601); None if malformed.

    2.x wrote naive server-local times; they are read as UTC.
    """
    if isinstance(text, datetime):
        return clock.as_utc(text)
    if not isinstance(text, str):
        return None
    try:
        # fromisoformat reads the 2.x format too, and is much faster than strptime.
        return clock.as_utc(datetime.fromisoformat(text.strip()))
    except ValueError:
        return None


def _cut(text, limit):
    if len(text) <= limit:
        return text
    return text[:limit] + f"... [{len(text) - limit} characters cut]"


def _as_messages(value):
    """Runner output as a short list of short texts."""
    if value is None:
        return []
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    messages = [
        _cut(item if isinstance(item, str) else str(item), MAX_MESSAGE_LENGTH)
        for item in items[:MAX_MESSAGES]
    ]
    if len(items) > MAX_MESSAGES:
        messages.append(f"... {len(items) - MAX_MESSAGES} more messages cut")
    return messages


def _as_details(details):
    return {
        key: _cut(value, MAX_DETAIL_LENGTH) if isinstance(value, str) else value
        for key, value in details.items()
    }


@implementer(ILog)
class Log:
    """One run: when, how it ended, what it said.

    `details` holds optional JSON-ready facts (duration, traceback, lateness...)
    written beside the 2.x keys.
    """

    def __init__(self, date=None, status=Status.OK, messages=None, **details):
        self.date = clock.as_utc(date) if date is not None else clock.now()
        self.status = int(status)
        self.messages = _as_messages(messages)
        self.details = _as_details(details)

    def __repr__(self):
        text = f"log: {self.sdate}"
        if self.sstatus:
            text += f"/{self.sstatus}"
        if self.messages:
            text += "+"
        return text

    def __eq__(self, other):
        if not isinstance(other, Log):
            return NotImplemented
        return self.dump() == other.dump()

    __hash__ = None

    @property
    def sdate(self):
        return format_date(self.date)

    @property
    def sstatus(self):
        return Status.title_of(self.status)

    def dump(self):
        data = dict(self.details)
        data.update(date=self.sdate, status=self.status, messages=list(self.messages))
        return data

    @classmethod
    def load(cls, item):
        """A Log from its dump; None for a malformed entry (skipped, as in 2.x)."""
        if isinstance(item, Log):
            return item
        if not isinstance(item, dict):
            return None
        date = parse_date(item.get("date"))
        status = item.get("status", Status.OK)
        if date is None or isinstance(status, bool) or not isinstance(status, int):
            return None
        details = {
            key: value
            for key, value in item.items()
            if key not in ("date", "status", "messages")
        }
        log = cls(date=date, status=status, **details)
        # Stored messages were bounded when recorded: do not cut them again.
        log.messages = [str(message) for message in item.get("messages") or ()]
        return log


class _Checked:
    """A cron setting whose every assignment goes through ICronSettings."""

    def __set_name__(self, owner, name):
        self.name = name
        self.attribute = "_" + name

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        return getattr(instance, self.attribute)

    def __set__(self, instance, value):
        setattr(instance, self.attribute, settings.clean(self.name, value))


@implementer(ICron)
class Cron:
    """A named job, its schedule and its recent logs."""

    uid = _Checked()
    name = _Checked()
    user = _Checked()
    activated = _Checked()
    periodicity = _Checked()
    environ = _Checked()
    timezone = _Checked()
    misfire = _Checked()
    title = _Checked()
    description = _Checked()
    notify = _Checked()
    recipients = _Checked()
    alert_after = _Checked()
    pause_after_failures = _Checked()
    retries = _Checked()
    retry_delay = _Checked()
    timeout = _Checked()
    saved_by = _Checked()

    def __init__(
        self,
        name=None,
        periodicity=None,
        environ=None,
        activated=True,
        logs_limit=5,
        user=None,
        uid=None,
        timezone=None,
        crontab=None,
        logs=None,
        misfire="run_once",
        saved_by=None,
        title="",
        description="",
        notify="never",
        recipients=None,
        alert_after=None,
        pause_after_failures=None,
        retries=0,
        retry_delay=60,
        timeout=None,
    ):
        self.uid = uid if uid is not None else uuid.uuid4().hex
        self.name = name
        self.periodicity = periodicity
        self.environ = environ
        self.activated = activated
        self.user = user
        self.timezone = timezone
        self.misfire = misfire
        self.title = title
        self.description = description
        self.notify = notify
        self.recipients = recipients
        self.alert_after = alert_after
        self.pause_after_failures = pause_after_failures
        self.retries = retries
        self.retry_delay = retry_delay
        self.timeout = timeout
        # Login of who last saved the cron: the job runs as this user when
        # `user` is not set. Written by the registry manager.
        self.saved_by = saved_by
        self._logs = []
        self.logs_limit = logs_limit
        self.logs = logs or []
        self._crontab = None
        if crontab is not None:
            crontab.add_cron(self)

    # -- logs ---------------------------------------------------------------

    # Loaded crons read their logs from the run history when first asked
    # (see read_logs_later): a run adds its log without reading the others.
    _logs_reader = None

    @property
    def logs_limit(self):
        return self._logs_limit

    @logs_limit.setter
    def logs_limit(self, value):
        self._logs_limit = settings.clean("logs_limit", value)
        del self._logs[self._logs_limit :]

    @property
    def logs(self):
        """Logs of prior runs, newest first (a list: pop/remove work)."""
        self._read_pending_logs()
        return self._logs

    @logs.setter
    def logs(self, value):
        # Read first, also when replaced: a save compares the new logs with
        # those stored.
        self._read_pending_logs()
        logs = [Log.load(item) for item in value or ()]
        self._logs = [log for log in logs if log is not None][: self.logs_limit]

    def _read_pending_logs(self):
        reader = self._logs_reader
        if reader is not None:
            self._logs_reader = None
            reader(self)

    def read_logs_later(self, reader):
        """Call reader(cron) when the logs are first asked for; it may set
        `cron.logs` (until then they are those the cron was made with)."""
        self._logs_reader = reader

    @property
    def logs_unread(self):
        """True while a reader given to read_logs_later waits."""
        return self._logs_reader is not None

    def logs_state(self):
        """What restore_logs() puts back: the logs as they are, or still
        to be read."""
        return list(self._logs), self._logs_reader

    def restore_logs(self, state):
        logs, reader = state
        self._logs = list(logs)
        self._logs_reader = reader

    def log(self, date=None, status=Status.OK, messages=None, **details):
        """Record a run as the newest log; keep at most logs_limit logs."""
        entry = Log(date=date, status=status, messages=messages, **details)
        logs = self.logs
        logs.insert(0, entry)
        del logs[self.logs_limit :]
        return entry

    @property
    def last(self):
        """The newest log, or None."""
        logs = self.logs
        return logs[0] if logs else None

    # 2.x accessors of the newest log (None, [] or '' before the first run).

    @property
    @deprecate("Cron.last_status is deprecated: use cron.last.status.")
    def last_status(self):
        return self.last.status if self.last is not None else None

    @property
    @deprecate("Cron.last_date is deprecated: use cron.last.date (aware UTC).")
    def last_date(self):
        return self.last.date if self.last is not None else None

    @property
    @deprecate("Cron.last_messages is deprecated: use cron.last.messages.")
    def last_messages(self):
        return list(self.last.messages) if self.last is not None else []

    @property
    @deprecate("Cron.slast is deprecated: use cron.last.sdate.")
    def slast(self):
        return self.last.sdate if self.last is not None else ""

    @property
    @deprecate("Cron.slast_date is deprecated: use cron.last.sdate.")
    def slast_date(self):
        return self.last.sdate if self.last is not None else ""

    # -- crontab ------------------------------------------------------------

    @property
    def crontab(self):
        return self._crontab

    @crontab.setter
    def crontab(self, crontab):
        self._crontab = crontab
        if crontab is not None:
            crontab.crons[self.uid] = self

    def save(self):
        """Save this cron alone, leaving other crons' stored state as it is."""
        if self._crontab is None:
            raise ValueError(f"Cron {self.uid} belongs to no crontab: nothing to save")
        self._crontab.save_cron(self)

    # -- time ---------------------------------------------------------------

    @property
    def tz(self):
        """The zone the periodicity is read in: the cron's, else the site's."""
        if self.timezone:
            return get_timezone(self.timezone)
        return site_timezone()

    @property
    def schedule(self):
        return parse_schedule(self.periodicity)

    def next_after(self, after):
        """The first fire time strictly after `after` (aware UTC)."""
        return self.schedule.next_after(clock.as_utc(after), self.tz)

    @property
    def next(self):
        """Next fire time strictly after now (aware UTC), None when inactive."""
        if not self.activated:
            return None
        return self.next_after(clock.now())

    @property
    def snext(self):
        return format_date(self.next)

    def explain(self):
        """The periodicity in English, e.g. 'At 02:30 every day'."""
        return self.schedule.explain()

    # -- comparison and (de)serialisation --------------------------------------

    def similar(self, other):
        """Same settings as `other` (logs and crontab aside)."""
        return all(getattr(self, key) == getattr(other, key, None) for key in SETTINGS)

    def __repr__(self):
        state = f"ON:{self.snext}" if self.activated else "OFF"
        text = f"cron: {self.name}/{self.uid} [{state}]"
        if self.logs:
            text += f" ({len(self.logs)} logs)"
        if self.environ:
            text += f" {self.environ!r}"
        return text

    def dump(self, logs=True):
        """JSON-ready mapping in the 2.x format (plus timezone, misfire, saved_by)."""
        data = {key: getattr(self, key) for key in SETTINGS}
        data["environ"] = dict(self.environ)
        data["recipients"] = list(self.recipients)
        data["saved_by"] = self.saved_by
        if logs:
            data["logs"] = [log.dump() for log in self.logs]
        return data

    def to_json(self, logs=True):
        """The cron as JSON text; refuses what JSON cannot hold."""
        try:
            return json.dumps(
                self.dump(logs=logs),
                sort_keys=True,
                ensure_ascii=False,
                allow_nan=False,  # NaN is not JSON: readers of the registry choke
            )
        except (TypeError, ValueError, RecursionError) as error:
            raise InvalidCron(
                "environ", self.environ, f"cannot be stored ({error})", uid=self.uid
            )

    @classmethod
    def load(cls, data, crontab=None):
        """A Cron from its dump (mapping or JSON text), as 2.x wrote it."""
        if isinstance(data, Cron):
            if crontab is not None:
                crontab.add_cron(data)
            return data
        if isinstance(data, (str, bytes)):
            try:
                data = json.loads(data)
            except (ValueError, RecursionError) as error:
                raise InvalidCron("cron", data, f"is not valid JSON ({error})")
        if not isinstance(data, dict):
            raise InvalidCron("cron", data, "must be a JSON object")
        uid = data.get("uid") or None
        try:
            # Every setting of the schema; 2.x data lacks the newer ones and
            # gets their defaults.
            given = {name: data.get(name) for name in settings.NAMES}
            given.update(
                uid=uid,
                activated=data.get("activated", False),
                logs_limit=data.get("logs_limit", 5),
            )
            logs = data.get("logs")
            cron = cls(**given, logs=logs if isinstance(logs, list) else None)
        except InvalidCron as error:
            label = uid or data.get("name") or None
            raise error if label is None else error.for_cron(label)
        if crontab is not None:
            crontab.add_cron(cron)
        return cron

    @classmethod
    def from_checked(cls, data, crontab=None):
        """A Cron from settings that passed the rules as they are: the
        mapping of a stored text that Cron.to_json(logs=False) wrote (see
        collective.cron.stored). No rule runs: 10,000 crons load in a
        fraction of the time."""
        cron = cls.__new__(cls)
        state = cron.__dict__
        for name in settings.NAMES:
            state["_" + name] = data[name]
        state["_logs"] = []
        state["_crontab"] = None
        if crontab is not None:
            crontab.add_cron(cron)
        return cron


def _crons_of(data):
    """(crons, activated or None) from the shapes Crontab.load accepts."""
    if isinstance(data, (str, bytes)):
        try:
            data = json.loads(data)
        except ValueError as error:
            raise InvalidCron("crontab", data, f"is not valid JSON ({error})")
    if isinstance(data, dict):
        if isinstance(data.get("crons"), list):  # Crontab.dump()
            return data["crons"], data.get("activated")
        return list(data.values()), None  # 2.x: uid -> cron
    if not isinstance(data, (list, tuple)):
        raise InvalidCron(
            "crontab", data, "must be a list of crons (JSON texts or mappings)"
        )
    return data, None


@implementer(ICrontab)
class Crontab:
    """All crons of a site (ordered by insertion, keyed by uid) and the switch."""

    def __init__(self, crons=None, activated=True, read_only=False):
        self.crons = OrderedDict()
        self.activated = activated
        # True: save() and save_cron() raise ReadOnlyCrontab (2.x's flag).
        self.read_only = read_only
        # Stored crons that break a rule, set aside by load(strict=False):
        # InvalidCron errors naming them; their stored text is left alone.
        self.broken = []
        self._stored = None  # StoredState, set by load() and save()
        for cron in crons or ():
            self.add_cron(cron)

    @property
    def activated(self):
        return self._activated

    @activated.setter
    def activated(self, value):
        self._activated = settings.clean("activated", value)

    @property
    def manager(self):
        """The component that stores this crontab (the site registry)."""
        return ICrontabRegistryManager(self)

    @classmethod
    def load(
        cls,
        data=None,
        activated=None,
        uids=None,
        logs=True,
        strict=True,
        read_only=False,
        sdata=None,
    ):
        """The crontab stored in the site registry, or built from `data`.

        `data` is a list of crons as JSON texts or mappings (the registry
        format of 2.x), a crontab's dump(), a mapping uid -> cron (2.x), or
        any of these as JSON text; a bad cron raises InvalidCron naming it.
        `read_only=True`: saving the crontab raises ReadOnlyCrontab.
        `sdata` is 2.x's name of `data` (deprecated).
        `uids` loads only these crons from the registry (a job needs one cron,
        not 10,000); saving such a crontab writes and deletes only them.
        `logs=False` skips the run history (for settings only); else each
        cron reads its logs from it when `cron.logs` is first used.
        `strict=False` sets aside (in `crontab.broken`) stored crons that break
        a rule added after they were saved, instead of raising: views and
        workers keep working with the other crons.
        """
        if sdata is not None:
            warnings.warn(
                "Crontab.load(sdata=...) is deprecated: use Crontab.load(data=...).",
                DeprecationWarning,
                stacklevel=2,
            )
            data = sdata if data is None else data
        if isinstance(data, Crontab):
            return data
        if data is None:
            crontab = cls(read_only=read_only)
            crontab.manager.load(uids=uids, logs=logs, strict=strict)
            return crontab
        data, dumped_activated = _crons_of(data)
        if activated is None:
            activated = dumped_activated
        crontab = cls(
            activated=True if activated is None else activated, read_only=read_only
        )
        for position, item in enumerate(data, start=1):
            try:
                Cron.load(item, crontab=crontab)
            except InvalidCron as error:
                raise error if error.uid is not None else error.for_cron(f"#{position}")
        return crontab

    # -- finding ------------------------------------------------------------

    def add_cron(self, cron):
        cron.crontab = self
        return cron

    def by(self, **filters):
        """Crons whose settings equal all given values, e.g. by(name="x")."""
        unknown = set(filters) - set(SETTINGS)
        if unknown:
            raise ValueError(
                f"Unknown cron setting(s) {sorted(unknown)}; use {', '.join(SETTINGS)}"
            )
        return [
            cron
            for cron in self.crons.values()
            if all(getattr(cron, key) == value for key, value in filters.items())
        ]

    def by_name(self, name):
        return self.by(name=name)

    def by_uid(self, uid):
        try:
            return self.crons[uid]
        except KeyError:
            raise NoSuchCron(uid)

    def __len__(self):
        return len(self.crons)

    def __iter__(self):
        return iter(self.crons.values())

    def __repr__(self):
        state = "ON" if self.activated else "OFF"
        return f"<Crontab [{state}] {len(self.crons)} crons>"

    # -- saving -------------------------------------------------------------

    def save(self):
        """Write the crontab to the registry and notify ModifiedCrontabEvent.

        Every cron is serialised before anything is written: a bad value
        raises InvalidCron and leaves the stored crontab untouched.
        """
        uids = self.manager.save()
        notify(ModifiedCrontabEvent(self, uids))

    def save_cron(self, cron):
        """Write only `cron` (added or changed) and notify ModifiedCrontabEvent."""
        if self.crons.get(cron.uid) is not cron:
            self.add_cron(cron)
        self.manager.save_cron(cron)
        notify(ModifiedCrontabEvent(self, {cron.uid}))

    def dump(self):
        return {
            "activated": self.activated,
            "crons": [cron.dump() for cron in self.crons.values()],
        }


@implementer(IJobRunner)
@adapter(IPloneSiteRoot, ICron)
class Runner:
    """Base class of job runners: `self.context` is the site, `self.cron` the cron.

    Subclass it, implement run() and register it as a named adapter; the cron
    whose name is the adapter's name runs it:

        <adapter factory=".jobs.Newsletter" name="newsletter" />
    """

    # When the run should be over (aware UTC), set for crons with a timeout:
    # Python cannot stop a thread, so a long runner checks it and stops.
    deadline = None

    def __init__(self, context, cron):
        self.context = context
        self.cron = cron

    def run(self):
        raise NotImplementedError(f"{type(self).__name__}.run() is not implemented")
