"""@@cron-health and GET @crons-health over HTTP: 200 when the scheduler
works, 503 when no worker is alive or a job is overdue."""

from collective.cron.crontab import Cron
from collective.cron.crontab import Crontab
from collective.cron.health import PUBLIC_RECORD
from collective.cron.status import Status
from collective.cron.testing import set_now
from collective.cron.workers import beat
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from plone import api
from plone.app.testing import SITE_OWNER_NAME
from plone.app.testing import SITE_OWNER_PASSWORD
from tests.support.rest import rest_session
from zope.component.hooks import setSite

import pytest
import transaction


NOW = datetime(2026, 6, 1, 7, 59, 0, tzinfo=UTC)
PATHS = ("@@cron-health", "@crons-health")


@pytest.fixture
def site(functional_portal):
    setSite(functional_portal)
    set_now(NOW)
    crontab = Crontab.load()
    Cron(uid="daily", name="mycronjob", periodicity="0 8 * * *", crontab=crontab)
    broken = Cron(uid="broken", name="other", periodicity="@yearly", crontab=crontab)
    broken.log(date=NOW, status=Status.FAILURE, messages=["ValueError: x"])
    crontab.save()
    transaction.commit()
    return functional_portal


def session(site, auth=(SITE_OWNER_NAME, SITE_OWNER_PASSWORD)):
    return rest_session(site, auth)


def worker_beats(site, name="w1"):
    transaction.begin()
    beat(site, name, 1, "token")
    transaction.commit()


@pytest.mark.parametrize("path", PATHS)
def test_no_worker_is_unhealthy(site, path):
    response = session(site).get(path)
    assert response.status_code == 503
    data = response.json()
    assert data["healthy"] is False
    assert data["problems"] == ["no worker is alive: no cron runs"]
    assert data["workers_alive"] == 0


@pytest.mark.parametrize("path", PATHS)
def test_healthy_with_a_live_worker(site, path):
    worker_beats(site)
    response = session(site).get(path)
    assert response.status_code == 200
    data = response.json()
    assert (data["healthy"], data["workers"], data["overdue"]) == (True, ["w1"], [])
    # A failing cron is news, not an outage: listed, still 200.
    assert [cron["uid"] for cron in data["failing"]] == ["broken"]
    daily = next(cron for cron in data["crons"] if cron["uid"] == "daily")
    assert daily["next"] == "2026-06-01 08:00:00"


@pytest.mark.parametrize("path", PATHS)
def test_overdue_job_is_unhealthy(site, path):
    set_now(NOW + timedelta(minutes=3))  # due at 08:00, not taken at 08:02
    worker_beats(site)  # a worker is alive, yet the job waits
    response = session(site).get(path)
    assert response.status_code == 503
    data = response.json()
    assert [job["uid"] for job in data["overdue"]] == ["daily"]
    assert data["overdue"][0]["due"] == "2026-06-01 08:00:00"
    assert data["problems"][0].startswith("1 job(s) overdue by more than 0:01:00")


@pytest.mark.parametrize("path", PATHS)
def test_anonymous_is_refused_by_default(site, path):
    response = session(site, auth=None).get(path)
    assert response.status_code == 401


@pytest.mark.parametrize("path", PATHS)
def test_public_health_shows_counts_only(site, path):
    worker_beats(site)
    api.portal.set_registry_record(PUBLIC_RECORD, True)
    transaction.commit()
    response = session(site, auth=None).get(path)
    assert response.status_code == 200
    assert response.json() == {
        "healthy": True,
        "workers_alive": 1,
        "overdue": 0,
        "failing": 1,
        "crons": 2,
    }
