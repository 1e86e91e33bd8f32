"""Run history at a glance: the dashboard's strip of last runs, the cron
page's chart, and @@cron-runs (every cron's runs, newest first, by status)."""

from collective.cron.crontab import Cron
from collective.cron.crontab import Crontab
from collective.cron.status import Status
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from zope.component.hooks import setSite

import pytest
import re
import transaction


EVIL = '<script>alert("x")</script>'
START = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


@pytest.fixture
def crons(functional_portal):
    """`report` ran 12 times (every status), `backup` twice, an hour later."""
    setSite(functional_portal)
    crontab = Crontab.load()
    report = Cron(
        uid="report",
        name="collective.cron.demo",
        title="Report",
        periodicity="@hourly",
        logs_limit=20,
        crontab=crontab,
    )
    statuses = [Status.OK, Status.WARN, Status.FAILURE, Status.NOTRUN]
    for index in range(12):
        report.log(
            date=START + timedelta(minutes=index),
            status=statuses[index % 4],
            messages=[f"report {index}"],
            duration=index / 10,
            late_by=float(index),
        )
    backup = Cron(uid="backup", name=EVIL, periodicity="@daily", crontab=crontab)
    for index in range(2):
        backup.log(
            date=START + timedelta(hours=1, minutes=index),
            status=Status.FAILURE,
            messages=[EVIL],
            duration=2.0,
        )
    crontab.save()
    transaction.commit()


def test_dashboard_strip_shows_the_last_ten_runs(browser, functional_portal, crons):
    browser.open(functional_portal.absolute_url() + "/@@cron-settings")
    marks = re.findall(
        r'<li class="cron-run [^"]*"\s+title="([^"]*)"', browser.contents
    )
    report = [mark for mark in marks if "2026-03-02 06:" in mark]
    # Ten of report's twelve runs, oldest first, each with its status,
    # time and duration in words (the tooltip and the hidden text).
    assert len(report) == 10
    assert report[0] == "FAILURE, 2026-03-02 06:02:00, 0.200 s, 2 s late"
    assert report[-1] == "NOTRUN, 2026-03-02 06:11:00, 1.100 s, 11 s late"
    assert browser.contents.count('class="visually-hidden">FAILURE, ') == 3 + 2
    assert EVIL not in browser.contents


def test_cron_page_chart(browser, functional_portal, crons):
    browser.open(functional_portal.absolute_url() + "/@@cron?uid=report")
    [svg] = re.findall(r"<svg class=\"cron-chart\".*?</svg>", browser.contents, re.S)
    assert 'role="img"' in svg
    assert "Duration (bars) and lateness (dots) of the last 12 runs" in svg
    assert svg.count("<rect") == 12
    assert svg.count("<circle") == 11  # the first run was not late
    assert "<title>OK, 2026-03-02 06:00:00, 0.000 s</title>" in svg
    browser.open(functional_portal.absolute_url() + "/@@cron?uid=backup")
    [svg] = re.findall(r"<svg class=\"cron-chart\".*?</svg>", browser.contents, re.S)
    assert EVIL not in browser.contents


def test_recent_runs_newest_first_and_by_status(browser, functional_portal, crons):
    browser.open(functional_portal.absolute_url() + "/@@cron-settings")
    browser.getLink("Recent runs").click()
    assert browser.url.endswith("/@@cron-runs")
    dates = re.findall(r'<td class="text-nowrap">([^<]*)</td>', browser.contents)
    assert len(dates) == 14
    assert dates == sorted(dates, reverse=True)
    assert dates[0] == "2026-03-02 07:01:00"  # backup's, an hour after
    assert EVIL not in browser.contents
    assert "&lt;script&gt;" in browser.contents

    browser.getLink("FAILURE").click()
    assert browser.url.endswith("/@@cron-runs?status=failure")
    dates = re.findall(r'<td class="text-nowrap">([^<]*)</td>', browser.contents)
    assert dates == [
        "2026-03-02 07:01:00",
        "2026-03-02 07:00:00",
        "2026-03-02 06:10:00",
        "2026-03-02 06:06:00",
        "2026-03-02 06:02:00",
    ]
    assert 'aria-current="page"' in browser.contents

    browser.open(functional_portal.absolute_url() + "/@@cron-runs?status=bogus")
    assert len(re.findall(r'<td class="text-nowrap">', browser.contents)) == 14


def test_recent_runs_batched(browser, functional_portal, crons, monkeypatch):
    monkeypatch.setattr("collective.cron.browser.runs.RUNS_PER_PAGE", 5)
    browser.open(functional_portal.absolute_url() + "/@@cron-runs")
    first = re.findall(r'<td class="text-nowrap">([^<]*)</td>', browser.contents)
    assert len(first) == 5
    browser.open(functional_portal.absolute_url() + "/@@cron-runs?b_start:int=5")
    second = re.findall(r'<td class="text-nowrap">([^<]*)</td>', browser.contents)
    assert len(second) == 5
    assert max(second) < min(first)


def test_recent_runs_need_the_permission(anonymous, functional_portal, crons):
    anonymous.open(functional_portal.absolute_url() + "/@@cron-runs")
    assert "login" in anonymous.url
    assert "report 1" not in anonymous.contents


@pytest.mark.parametrize("start", ["abc", "-5"])
def test_recent_runs_bad_page_is_the_first(browser, functional_portal, crons, start):
    browser.open(functional_portal.absolute_url() + f"/@@cron-runs?b_start={start}")
    dates = re.findall(r'<td class="text-nowrap">([^<]*)</td>', browser.contents)
    assert dates[0] == "2026-03-02 07:01:00"
