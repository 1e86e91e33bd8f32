"""Cron expressions: validate, explain in English, compute fire times.

Built on cronsim (see docs/development.md for why not croniter). Accepts the
usual 5 fields, 6 fields whose first one is seconds, and the @yearly ... @hourly
macros. Times are computed in a time zone:

- a fixed-time schedule (minute and hour fields not starting with "*") follows
  the wall clock like Vixie cron: it fires once on the day the clocks go back,
  and at the first valid minute after the gap on the day they go forward;
- any other schedule follows real time (``*/30 * * * *`` fires every 30 real
  minutes through both changes).
"""

from collective.cron import _
from collective.cron.errors import InvalidPeriodicity
from cronsim import CronSim
from cronsim import CronSimError
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo
from zoneinfo import ZoneInfoNotFoundError
from zoneinfo import available_timezones

import functools


# The site's time zone: Plone's registry record (Site Setup > Date and Time).
RECORD_SITE_TIMEZONE = "plone.portal_timezone"


MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

# Field names and how many values each holds, in the order of a 6-field
# expression (5 fields drop the seconds). cronsim accepts any step, but a step
# larger than its field's range fires once per larger unit while explain()
# says "every 90th minute": such steps are refused.
FIELDS = (
    ("second", 60),
    ("minute", 60),
    ("hour", 24),
    ("day-of-month", 31),
    ("month", 12),
    ("day-of-week", 7),
)

# Names in the system's zone database that are not IANA zones: the host's own
# zone, the POSIX default rules and tzcode's placeholder.
_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})

# A guard against looping forever on a schedule cronsim accepts but whose
# matches all fall before `after` (only possible around DST changes).
_MAX_CANDIDATES = 10
# A remembered answer of Schedule.next_after covers at most this span, in
# which the zone's offset is checked every _OFFSET_CHECKED_EVERY (shorter
# than any daylight saving period).
_REMEMBERED_SPAN = timedelta(days=400)
_OFFSET_CHECKED_EVERY = timedelta(days=7)


def normalize(expression):
    """The expression with single spaces and macros expanded.

    Raises InvalidPeriodicity for a non-text or empty value.
    """
    if not isinstance(expression, str):
        raise InvalidPeriodicity(expression, "must be a cron expression (text)")
    text = " ".join(expression.split())
    if not text:
        raise InvalidPeriodicity(expression, "must not be empty")
    if text.startswith("@"):
        macro = MACROS.get(text.lower())
        if macro is None:
            known = ", ".join(sorted([*MACROS, MANUAL]))
            raise InvalidPeriodicity(expression, f"unknown macro; use one of {known}")
        return macro
    return text


def parse(expression):
    """A Schedule for `expression`; raises InvalidPeriodicity naming it."""
    if not isinstance(expression, str):
        raise InvalidPeriodicity(expression, "must be a cron expression (text)")
    return _parse(" ".join(expression.split()))


@functools.lru_cache(maxsize=4096)
def _parse(expression):
    if expression.lower() == MANUAL:
        return ManualSchedule()
    return Schedule(expression)


# A cron that runs only when someone runs it ("Run now", the API).
MANUAL = "@manual"


class ManualSchedule:
    """The schedule of a manual-only cron: no fire time, ever."""

    expression = MANUAL

    def __repr__(self):
        return "<ManualSchedule>"

    def explain(self):
        return "Manual only: runs when someone runs it"

    def next_after(self, after, tz=UTC):
        return None

    def next_times(self, after, tz=UTC, count=5):
        return []


def validate(expression):
    """Return `expression` with single spaces; raise InvalidPeriodicity if bad.

    Macros are kept as written ("@daily"): that is what the admin typed.
    """
    parse(expression)
    return " ".join(expression.split())


@functools.lru_cache(maxsize=512)
def get_timezone(name):
    """ZoneInfo for an IANA name; raises ValueError naming the bad one.

    Only names of timezone_names() are looked up: anything else could be a
    file name ZoneInfo would try to open (too long, "right/UTC", "localtime").
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"Invalid timezone {name!r}: must be an IANA name")
    if name.strip() not in _zone_set():
        raise ValueError(
            f"Invalid timezone {name!r}: unknown time zone (e.g. 'Europe/Paris')"
        )
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(
            f"Invalid timezone {name!r}: unknown time zone (e.g. 'Europe/Paris')"
        )


@functools.cache
def _zone_set():
    return frozenset(available_timezones() - _NOT_ZONES)


def timezone_names():
    """The IANA time zone names a cron may use, sorted (the form offers them)."""
    return sorted(_zone_set())


def is_timezone_name(name):
    """True when `name` is one of timezone_names()."""
    return isinstance(name, str) and name in _zone_set()


def _check_steps(expression, fields):
    """Refuse a step larger than its field's range ("*/90" minutes)."""
    named = FIELDS if len(fields) == 6 else FIELDS[1:]
    for text, (field, size) in zip(fields, named, strict=True):
        for part in text.split(","):
            _start, slash, step = part.partition("/")
            if slash and step.isdigit() and int(step) > size:
                raise InvalidPeriodicity(
                    expression,
                    _(
                        "the ${field} step ${step} is larger than the ${size} "
                        "values of the ${field} field",
                        mapping={"field": field, "step": step, "size": size},
                    ),
                )


def _is_imaginary(local):
    """True when wall time `local` does not exist (skipped by a DST change)."""
    round_trip = local.astimezone(UTC).astimezone(local.tzinfo)
    return round_trip.replace(tzinfo=None) != local.replace(tzinfo=None)


def _same_offset(tz, start, end):
    """True when the zone keeps one UTC offset from `start` to `end`: its
    wall clock there is UTC shifted, and a daylight saving change cannot
    make two moments between them answer differently."""
    if end - start > _REMEMBERED_SPAN:
        return False
    offset = start.astimezone(tz).utcoffset()
    moment = start
    while moment < end:
        moment = min(moment + _OFFSET_CHECKED_EVERY, end)
        if moment.astimezone(tz).utcoffset() != offset:
            return False
    return True


class Schedule:
    """A validated cron expression."""

    # (tz, after, following): the last answer of next_after (see there).
    _remembered = None

    def __init__(self, expression):
        self.expression = normalize(expression)
        fields = self.expression.split()
        if len(fields) not in (5, 6):
            raise InvalidPeriodicity(
                expression,
                f"wrong number of fields ({len(fields)}): "
                "give 5, or 6 with seconds first",
            )
        self.has_seconds = len(fields) == 6
        _check_steps(expression, fields)
        minute, hour = (fields[1], fields[2]) if self.has_seconds else fields[:2]
        self.fixed_time = not minute.startswith("*") and not hour.startswith("*")
        try:
            CronSim(self.expression, datetime(2000, 1, 1))
        except CronSimError as error:
            raise InvalidPeriodicity(expression, str(error).lower())
        except (ValueError, IndexError) as error:  # cronsim edge cases
            raise InvalidPeriodicity(expression, str(error) or "cannot be parsed")
        # A schedule that never fires (e.g. 31 April) must be rejected here.
        if self.next_after(datetime(2000, 1, 1, tzinfo=UTC), UTC) is None:
            raise InvalidPeriodicity(expression, "never fires")

    def __repr__(self):
        return f"<Schedule {self.expression!r}>"

    def explain(self):
        """English description, e.g. 'At 02:30 every day'."""
        try:
            return CronSim(self.expression, datetime(2000, 1, 1)).explain()
        except Exception:  # explain is a nicety: never fail on it
            return self.expression

    def next_after(self, after, tz=UTC):
        """First fire time strictly after aware `after`, as aware UTC, or None."""
        # Compare in UTC: datetimes sharing a tzinfo compare by wall time,
        # which is wrong inside the repeated hour of a DST change.
        after = after.astimezone(UTC)
        # A run asks for the time after its slot, its start and its end, and
        # crons sharing an expression ask for the same: when fire time b is
        # the first after a, it is the first after any moment in [a, b).
        remembered = self._remembered
        if (
            remembered is not None
            and remembered[0] is tz
            and remembered[1] <= after < remembered[2]
        ):
            return remembered[2]
        following = self._compute_next_after(after, tz)
        if following is not None and _same_offset(tz, after, following):
            self._remembered = (tz, after, following)  # one assignment: thread-safe
        return following

    def _compute_next_after(self, after, tz):
        local = after.astimezone(tz)
        wall_clock = self.fixed_time and tz is not UTC
        if wall_clock:
            candidates = CronSim(self.expression, local.replace(tzinfo=None))
        else:
            candidates = CronSim(self.expression, local)
        for _attempt in range(_MAX_CANDIDATES):
            try:
                candidate = next(candidates)
            except (StopIteration, CronSimError):
                return None
            if wall_clock:
                candidate = self._wall_to_aware(candidate, tz)
            candidate = candidate.astimezone(UTC)
            if candidate > after:
                return candidate
        return None

    def next_times(self, after, tz=UTC, count=5):
        """The next `count` fire times after `after` (aware UTC)."""
        times = []
        current = after
        for _time in range(count):
            current = self.next_after(current, tz)
            if current is None:
                break
            times.append(current)
        return times

    @staticmethod
    def _wall_to_aware(naive, tz):
        # fold=0 takes the first of a repeated wall time: one run on fall-back.
        aware = naive.replace(tzinfo=tz, fold=0)
        # A wall time skipped on spring-forward runs at the first real minute.
        while _is_imaginary(aware):
            naive += timedelta(minutes=1)
            aware = naive.replace(tzinfo=tz, fold=0)
        return aware


def site_timezone():
    """The current site's time zone (`plone.portal_timezone`), else UTC."""
    from plone.registry.interfaces import IRegistry
    from zope.component import queryUtility

    registry = queryUtility(IRegistry)
    name = registry.get(RECORD_SITE_TIMEZONE) if registry is not None else None
    if not name:
        return UTC
    try:
        return get_timezone(name)
    except ValueError:
        return UTC
