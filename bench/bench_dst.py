"""DST: fire times across the 2026 clock changes, ours beside croniter and
APScheduler's CronTrigger; double-fires and skips counted.

For each zone and change day, a fixed-time cron (the changed hour's :30) must
fire exactly once that day; an interval cron (*/30 * * * *) must fire every
30 real minutes through the change.

    .venv/bin/python bench/bench_dst.py
"""

from common import emit
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo


CASES = [
    # zone, day of the change, fixed-time expression that hits the changed hour
    ("Europe/Paris", datetime(2026, 3, 29), "30 2 * * *"),
    ("Europe/Paris", datetime(2026, 10, 25), "30 2 * * *"),
    ("America/New_York", datetime(2026, 3, 8), "30 2 * * *"),
    ("America/New_York", datetime(2026, 11, 1), "30 1 * * *"),
]
INTERVAL = "*/30 * * * *"


def ours(expression, start, tz, end):
    from collective.cron.schedule import parse

    schedule, times, current = parse(expression), [], start
    while True:
        current = schedule.next_after(current, tz)
        if current is None or current >= end:
            return times
        times.append(current)


def croniter_times(expression, start, tz, end):
    from croniter import croniter

    iterator = croniter(expression, start.astimezone(tz))
    times = []
    while True:
        moment = iterator.get_next(datetime).astimezone(UTC)
        if moment >= end:
            return times
        times.append(moment)


def apscheduler_times(expression, start, tz, end):
    from apscheduler.triggers.cron import CronTrigger

    trigger = CronTrigger.from_crontab(expression, timezone=tz)
    times, previous, now = [], None, start.astimezone(tz)
    for _ in range(1000):  # bounded: the trigger can return a time twice
        moment = trigger.get_next_fire_time(previous, now)
        if moment is None or moment.astimezone(UTC) >= end:
            break
        times.append(moment.astimezone(UTC))
        previous = moment
        now = max(moment, now) + timedelta(seconds=1)
    return times


def faults(times, tz, day, fixed):
    """(double fires, skips) against the expected behaviour."""
    if fixed:
        on_day = [t for t in times if t.astimezone(tz).date() == day.date()]
        return max(0, len(on_day) - 1), int(len(on_day) == 0)
    gaps = [later - earlier for earlier, later in zip(times, times[1:])]
    short = sum(gap < timedelta(minutes=30) for gap in gaps)
    long = sum(gap > timedelta(minutes=30) for gap in gaps)
    return short, long


def main():
    engines = {
        "ours": ours,
        "croniter": croniter_times,
        "APScheduler": apscheduler_times,
    }
    totals = {name: [0, 0] for name in engines}
    for zone, day, fixed in CASES:
        tz = ZoneInfo(zone)
        start = (day - timedelta(days=1)).replace(tzinfo=tz).astimezone(UTC)
        end = (day + timedelta(days=2)).replace(tzinfo=tz).astimezone(UTC)
        for expression, is_fixed in ((fixed, True), (INTERVAL, False)):
            for name, engine in engines.items():
                # Distinct instants: an engine repeating one instant is not
                # a double fire; one firing twice at different instants is.
                times = sorted(set(engine(expression, start, tz, end)))
                doubles, skips = faults(times, tz, day, is_fixed)
                totals[name][0] += doubles
                totals[name][1] += skips
    for name, (doubles, skips) in totals.items():
        emit("dst", f"double fires, {name}", [doubles], "fires")
        emit("dst", f"skipped fires, {name}", [skips], "fires")


if __name__ == "__main__":
    main()
