"""@@cron-metrics: Prometheus text format (parsed back with prometheus_client's
parser), counters kept in the ZODB, permission or token."""

from collective.cron import Result
from collective.cron.crontab import Cron
from collective.cron.crontab import Crontab
from collective.cron.interfaces import ICronManager
from collective.cron.testing import run_due_jobs
from collective.cron.testing import set_now
from collective.cron.workers import beat
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from plone import api
from plone.app.testing import SITE_OWNER_NAME
from plone.app.testing import SITE_OWNER_PASSWORD
from plone.testing.zope import Browser
from prometheus_client.parser import text_string_to_metric_families
from zope.component import getMultiAdapter

import pytest
import transaction


T0 = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)


@pytest.fixture
def app(functional):
    return functional["app"]


def scrape(app, site, auth=None, bearer=None):
    """(status, content type, {sample name + labels: value})."""
    transaction.commit()
    browser = Browser(app)
    browser.handleErrors = False
    browser.raiseHttpErrors = False
    if auth:
        browser.addHeader("Authorization", f"Basic {auth[0]}:{auth[1]}")
    if bearer is not None:
        browser.addHeader("Authorization", f"Bearer {bearer}")
    browser.open(site.absolute_url() + "/@@cron-metrics")
    status = int(browser.headers["status"].split()[0])
    samples = {}
    if status == 200:
        for family in text_string_to_metric_families(browser.contents):
            for sample in family.samples:
                key = sample.name + "".join(
                    f"|{k}={v}" for k, v in sorted(sample.labels.items())
                )
                samples[key] = sample.value
    return status, browser.headers["Content-Type"], samples, browser.contents


MANAGER = (SITE_OWNER_NAME, SITE_OWNER_PASSWORD)


def add_cron(uid, **settings):
    crontab = Crontab.load()
    cron = Cron(
        uid=uid,
        name="mycronjob",
        periodicity="*/10 * * * *",
        crontab=crontab,
        **settings,
    )
    crontab.save()
    transaction.commit()
    return cron


def run_now(site, cron):
    getMultiAdapter((site, cron), ICronManager).register_job(force=True)
    transaction.commit()
    return run_due_jobs(site, commit=True)


def test_runs_durations_lateness_and_last_success(site, app, recording):
    set_now(T0)
    cron = add_cron("news")
    set_now(T0 + timedelta(minutes=10, seconds=30))  # 30 s late
    [result] = run_due_jobs(site, commit=True)
    assert result[0] == 1
    recording.behaviour = lambda runner: 1 / 0
    run_now(site, cron)
    recording.behaviour = lambda runner: Result("WARN", "meh")
    run_now(site, cron)
    status, content_type, samples, text = scrape(app, site, auth=MANAGER)
    assert status == 200
    assert content_type == "text/plain; version=0.0.4; charset=utf-8"
    assert samples["collective_cron_runs_total|cron=news|status=OK"] == 1
    assert samples["collective_cron_runs_total|cron=news|status=FAILURE"] == 1
    assert samples["collective_cron_runs_total|cron=news|status=WARN"] == 1
    assert samples["collective_cron_runs_total|cron=news|status=NOTRUN"] == 0
    assert samples["collective_cron_run_duration_seconds_count|cron=news"] == 3
    assert samples["collective_cron_run_duration_seconds_bucket|cron=news|le=0.1"] == 3
    # The scheduled run started 30 s late; the two forced runs on time.
    assert samples["collective_cron_run_lateness_seconds_count|cron=news"] == 3
    assert samples["collective_cron_run_lateness_seconds_sum|cron=news"] == 30
    assert samples["collective_cron_run_lateness_seconds_bucket|cron=news|le=15.0"] == 2
    assert samples["collective_cron_run_lateness_seconds_bucket|cron=news|le=60.0"] == 3
    assert samples[
        "collective_cron_last_success_timestamp_seconds|cron=news"
    ] == pytest.approx((T0 + timedelta(minutes=10, seconds=30)).timestamp())
    assert (
        samples["collective_cron_cron_info|activated=true|cron=news|name=mycronjob"]
        == 1
    )
    assert samples["collective_cron_crontab_activated"] == 1


def test_jobs_due_and_overdue_and_workers_alive(site, app, recording):
    set_now(T0)
    add_cron("a")
    add_cron("b")
    beat(site, "w1", threads=1)
    _, _, samples, _ = scrape(app, site, auth=MANAGER)
    assert samples["collective_cron_jobs_due"] == 0
    assert samples["collective_cron_workers_alive"] == 1
    set_now(T0 + timedelta(minutes=10, seconds=5))
    _, _, samples, _ = scrape(app, site, auth=MANAGER)
    assert (
        samples["collective_cron_jobs_due"],
        samples["collective_cron_jobs_overdue"],
    ) == (2, 0)
    set_now(T0 + timedelta(minutes=15))
    _, _, samples, _ = scrape(app, site, auth=MANAGER)
    assert samples["collective_cron_jobs_overdue"] == 2
    assert samples["collective_cron_workers_alive"] == 0  # its heartbeat is old


def test_counters_outlive_the_logs(site, app, recording):
    """Counts come from the ZODB, not from the logs a cron keeps."""
    cron = add_cron("short", logs_limit=1)
    for _ in range(4):
        run_now(site, cron)
    transaction.begin()
    assert len(Crontab.load().by_uid("short").logs) == 1
    _, _, samples, _ = scrape(app, site, auth=MANAGER)
    assert samples["collective_cron_runs_total|cron=short|status=OK"] == 4


def test_anonymous_gets_401_not_a_login_page(site, app):
    status, _, _, text = scrape(app, site)
    assert status == 401
    assert "Manage crons" in text


def test_the_token_opens_the_metrics_to_scrapers(site, app, recording):
    add_cron("news")
    assert scrape(app, site, bearer="s3cret-token")[0] == 401  # no token set
    api.portal.set_registry_record("collective.cron.metrics_token", "s3cret-token")
    status, _, samples, _ = scrape(app, site, bearer="s3cret-token")
    assert status == 200
    assert samples["collective_cron_runs_total|cron=news|status=OK"] == 0
    assert scrape(app, site, bearer="wrong")[0] == 401
    assert scrape(app, site, bearer="")[0] == 401


def test_a_site_administrator_may_read_them_a_member_may_not(site, app):
    for login, role in (("siteadmin", "Site Administrator"), ("member", "Member")):
        api.user.create(
            email=f"{login}@example.org", username=login, password="secret-pw-1"
        )
        api.user.grant_roles(username=login, roles=[role])
    assert scrape(app, site, auth=("siteadmin", "secret-pw-1"))[0] == 200
    assert scrape(app, site, auth=("member", "secret-pw-1"))[0] == 401
