"""Schedules: cron expressions validated, explained and computed in a time zone."""

from collective.cron import schedule
from collective.cron.errors import InvalidPeriodicity
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest


PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")


def local_times(expression, start, tz, count):
    times = schedule.parse(expression).next_times(start, tz, count)
    return [t.astimezone(tz).strftime("%Y-%m-%d %H:%M%z") for t in times]


@pytest.mark.parametrize(
    "macro,expression",
    [
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@monthly", "0 0 1 * *"),
        ("@weekly", "0 0 * * 0"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@hourly", "0 * * * *"),
        ("@DAILY", "0 0 * * *"),
    ],
)
def test_macros_expand(macro, expression):
    assert schedule.parse(macro).expression == expression


def test_validate_keeps_what_was_typed_tidied():
    assert schedule.validate("  @daily ") == "@daily"
    assert schedule.validate("*/5   *  * * *") == "*/5 * * * *"


@pytest.mark.parametrize(
    "expression,english",
    [
        ("30 2 * * *", "At 02:30 every day"),
        ("@daily", "At 00:00 every day"),
        ("0 0 L * *", "At 00:00 on the last day of every month"),
        ("0 9 * * MON#2", "At 09:00 on the second Monday of the month"),
        ("*/10 * * * * *", "Every 10th second of every minute"),
    ],
)
def test_explain_in_english(expression, english):
    assert schedule.parse(expression).explain() == english


def test_six_fields_have_seconds_first():
    start = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    times = schedule.parse("*/15 * * * * *").next_times(start, UTC, 3)
    assert [t.strftime("%H:%M:%S") for t in times] == [
        "12:00:15",
        "12:00:30",
        "12:00:45",
    ]


def test_next_is_strictly_after():
    start = datetime(2026, 1, 1, 12, 5, tzinfo=UTC)
    assert schedule.parse("*/5 * * * *").next_after(start) == datetime(
        2026, 1, 1, 12, 10, tzinfo=UTC
    )


def test_next_is_aware_utc_whatever_the_zone():
    start = datetime(2026, 7, 1, tzinfo=UTC)
    result = schedule.parse("0 8 * * *").next_after(start, PARIS)
    assert result.tzinfo is UTC
    assert result == datetime(2026, 7, 1, 6, 0, tzinfo=UTC)  # 08:00 CEST


@pytest.mark.parametrize(
    "expression,reason",
    [
        ("0 0 30 2 *", "bad day-of-month"),
        ("0 0 31 4,6 *", "bad day-of-month"),
        ("61 * * * *", "bad minute"),
        ("* 25 * * *", "bad hour"),
        ("* * * *", "wrong number of fields"),
        ("every day", "wrong number of fields"),
        ("", "must not be empty"),
        ("@reboot", "unknown macro"),
    ],
)
def test_invalid_expressions_named_in_error(expression, reason):
    with pytest.raises(InvalidPeriodicity) as info:
        schedule.parse(expression)
    assert repr(expression) in str(info.value)
    assert reason in str(info.value)


@pytest.mark.parametrize("value", [None, 5, ["* * * * *"]])
def test_non_text_refused(value):
    with pytest.raises(InvalidPeriodicity, match="must be a cron expression"):
        schedule.parse(value)


def test_unknown_timezone_named():
    with pytest.raises(ValueError, match="'Mars/Olympus'"):
        schedule.get_timezone("Mars/Olympus")


class TestDaylightSavingParis:
    """2026: clocks go forward on 29 March at 02:00, back on 25 October at 03:00."""

    def test_fixed_time_runs_once_on_fall_back(self):
        assert local_times(
            "30 2 * * *", datetime(2026, 10, 23, 22, tzinfo=UTC), PARIS, 3
        ) == [
            "2026-10-24 02:30+0200",
            "2026-10-25 02:30+0200",
            "2026-10-26 02:30+0100",
        ]

    def test_fixed_time_not_lost_on_spring_forward(self):
        assert local_times(
            "30 2 * * *", datetime(2026, 3, 27, 23, tzinfo=UTC), PARIS, 3
        ) == [
            "2026-03-28 02:30+0100",
            "2026-03-29 03:00+0200",
            "2026-03-30 02:30+0200",
        ]

    def test_fixed_time_with_seconds_runs_once_on_fall_back(self):
        times = local_times(
            "0 30 2 * * *", datetime(2026, 10, 24, 12, tzinfo=UTC), PARIS, 2
        )
        assert times == ["2026-10-25 02:30+0200", "2026-10-26 02:30+0100"]

    def test_fixed_time_asked_during_repeated_hour_is_not_in_the_past(self):
        # 02:15 in the second (winter) pass: today's 02:30 already ran in the first.
        after = datetime(2026, 10, 25, 2, 15, tzinfo=PARIS).replace(fold=1)
        result = schedule.parse("30 2 * * *").next_after(after, PARIS)
        assert result > after
        assert result.astimezone(PARIS).strftime("%Y-%m-%d %H:%M") == "2026-10-26 02:30"

    @pytest.mark.parametrize(
        "start",
        [datetime(2026, 10, 24, 23, tzinfo=UTC), datetime(2026, 3, 28, 23, tzinfo=UTC)],
    )
    def test_interval_follows_real_time(self, start):
        times = schedule.parse("*/30 * * * *").next_times(start, PARIS, 12)
        gaps = {later - earlier for earlier, later in zip(times, times[1:])}
        assert gaps == {timedelta(minutes=30)}


class TestDaylightSavingNewYork:
    """2026: clocks go forward on 8 March at 02:00, back on 1 November at 02:00."""

    def test_fixed_time_runs_once_on_fall_back(self):
        start = datetime(2026, 10, 31, 12, tzinfo=UTC)
        assert local_times("30 1 * * *", start, NEW_YORK, 3) == [
            "2026-11-01 01:30-0400",
            "2026-11-02 01:30-0500",
            "2026-11-03 01:30-0500",
        ]

    def test_fixed_time_not_lost_on_spring_forward(self):
        start = datetime(2026, 3, 7, 12, tzinfo=UTC)
        assert local_times("30 2 * * *", start, NEW_YORK, 2) == [
            "2026-03-08 03:00-0400",
            "2026-03-09 02:30-0400",
        ]

    @pytest.mark.parametrize(
        "start",
        [datetime(2026, 11, 1, 4, tzinfo=UTC), datetime(2026, 3, 8, 5, tzinfo=UTC)],
    )
    def test_interval_follows_real_time(self, start):
        times = schedule.parse("*/20 * * * *").next_times(start, NEW_YORK, 12)
        gaps = {later - earlier for earlier, later in zip(times, times[1:])}
        assert gaps == {timedelta(minutes=20)}


@pytest.mark.parametrize(
    "zone", ["UTC", "Europe/Paris", "America/New_York", "Australia/Lord_Howe"]
)
@pytest.mark.parametrize(
    "expression,step",
    [
        ("*/7 * * * *", timedelta(minutes=17)),
        ("30 2 * * *", timedelta(minutes=17)),
        ("0 */5 * * * *", timedelta(minutes=17)),
        ("15 1,2,3 * * *", timedelta(minutes=17)),
        ("30 2 1 * *", timedelta(hours=11)),
        ("0 0 1 1 *", timedelta(days=3, hours=5)),
    ],
)
def test_remembered_answers_equal_fresh_ones_across_dst(zone, expression, step):
    # A schedule remembers its last answer and gives it again for any moment
    # before that fire time: asked moment by moment through 2026's offset
    # changes, it answers as a schedule that remembers nothing.
    tz = UTC if zone == "UTC" else ZoneInfo(zone)
    remembering = schedule.Schedule(expression)
    starts = [datetime(2026, 3, 6, tzinfo=UTC), datetime(2026, 9, 29, tzinfo=UTC)]
    starts += [datetime(2026, 4, 3, tzinfo=UTC), datetime(2026, 10, 31, tzinfo=UTC)]
    for start in starts:
        moment = start
        for _step in range(700):  # 700 steps: past each zone's change
            expected = schedule.Schedule(expression).next_after(moment, tz)
            assert remembering.next_after(moment, tz) == expected, moment
            moment += step
