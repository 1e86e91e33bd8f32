"""A periodicity in English with its next fire times, before it is saved.

Shared by the forms' live explanation (@@cron-explain) and GET @crons-explain.
"""

from collective.cron import clock
from collective.cron.schedule import get_timezone
from collective.cron.schedule import parse
from collective.cron.schedule import site_timezone
from collective.cron.settings import clean
from collective.cron.validators import whole_number


MAX_COUNT = 100


def preview(periodicity, timezone=None, count=5, now=None):
    """(explanation, zone, next fire times as aware datetimes in that zone).

    `timezone`: an IANA name of the cron form's list, or empty for the
    site's zone. Raises InvalidCron naming a bad periodicity, zone or count.
    """
    schedule = parse(periodicity or "")
    # The cron's own rule: one IANA name of the form's list, else refused.
    zone = clean("timezone", timezone or None)
    tz = get_timezone(zone) if zone else site_timezone()
    count = whole_number("count", count, 1, MAX_COUNT, 5)
    times = schedule.next_times(now or clock.now(), tz, count)
    return schedule.explain(), tz, [t.astimezone(tz) for t in times]


def zone_name(tz):
    return getattr(tz, "key", None) or str(tz)
