"""GET @crons and @crons/UID over HTTP (functional layer, real WSGI server)."""

from collective.cron.crontab import Cron
from collective.cron.crontab import Crontab
from collective.cron.testing import set_now
from datetime import datetime
from plone.app.testing import TEST_USER_NAME
from plone.app.testing import TEST_USER_PASSWORD
from zope.component.hooks import setSite

import pytest
import transaction


@pytest.fixture
def cron(functional_portal):
    setSite(functional_portal)
    set_now(datetime(2026, 1, 1, 6, 30))
    crontab = Crontab.load()
    cron = Cron(
        uid="news",
        name="newsletter",
        periodicity="0 8 * * 1-5",
        environ={"list": "all"},
        timezone="Europe/Paris",
        crontab=crontab,
    )
    cron.log(date=datetime(2026, 1, 1, 6, 0), status=2, messages=["3 bounced"])
    crontab.save()
    transaction.commit()
    return cron


def test_listing(api, cron):
    response = api.get("@crons")
    assert response.status_code == 200
    data = response.json()
    assert data["activated"] is True
    assert data["items_total"] == 1
    [item] = data["items"]
    assert item["@id"].endswith("/@crons/news")
    assert item["explanation"] == "At 08:00 on Monday through Friday"
    assert item["next"] == "2026-01-01T07:00:00+00:00"  # 08:00 in Paris
    assert item["job"]["begin_after"] == "2026-01-01T07:00:00+00:00"
    assert item["last"]["status_title"] == "WARN"
    assert "logs" not in item


def test_one_cron_with_logs(api, cron):
    data = api.get("@crons/news").json()
    assert data["environ"] == {"list": "all"}
    assert data["effective_timezone"] == "Europe/Paris"
    assert [(log["status_title"], log["messages"]) for log in data["logs"]] == [
        ("WARN", ["3 bounced"])
    ]


def test_unknown_uid_is_404(api, cron):
    response = api.get("@crons/nope")
    assert response.status_code == 404
    error = response.json()
    assert error["type"] == "NotFound"
    assert error["message"].endswith("/@crons/nope")


@pytest.mark.parametrize(
    "auth", [None, (TEST_USER_NAME, TEST_USER_PASSWORD)], ids=["anonymous", "member"]
)
def test_needs_manage_crons(api, cron, auth):
    api.auth = auth
    response = api.get("@crons")
    assert response.status_code == 401
