"""The @crons writes over HTTP, as Volto or a deployment pipeline sends them:
add, edit, run, pause, delete, logs, the crontab switch, crons.xml export and
import, the periodicity explanation. Every bad value is named and nothing is
half-saved."""

from collective.cron.crontab import Cron
from collective.cron.crontab import Crontab
from collective.cron.status import Status
from collective.cron.testing import set_now
from datetime import datetime
from plone.app.testing import SITE_OWNER_NAME
from tests.security.helpers import PASSWORD
from tests.security.helpers import stored
from tests.support.instances import wait_for
from zope.component.hooks import setSite

import pytest
import transaction


@pytest.fixture
def portal(functional_portal):
    setSite(functional_portal)
    set_now(datetime(2026, 3, 2, 6, 30))
    return functional_portal


@pytest.fixture
def news(portal):
    crontab = Crontab.load()
    cron = Cron(
        uid="news",
        name="newsletter",
        periodicity="0 8 * * 1-5",
        environ={"list": "all"},
        crontab=crontab,
    )
    cron.log(date=datetime(2026, 3, 1, 8, 0), status=Status.OK, messages=["sent"])
    cron.log(date=datetime(2026, 3, 2, 8, 0), status=Status.FAILURE, messages=["x"])
    crontab.save()
    transaction.commit()
    return cron


def test_volto_client_flow(api, portal, demo_runner, start_dispatcher):
    """Add a cron, change it, run it on a real worker thread, read its log,
    delete it: the calls a Volto control panel makes, in order."""
    added = api.post(
        "@crons",
        json={
            "name": "collective.cron.demo",
            "periodicity": "0 3 * * *",
            "environ": {"greeting": "Bonjour"},
            "title": "Greeting",
        },
    )
    assert added.status_code == 201, added.text
    cron = added.json()
    assert added.headers["Location"] == cron["@id"]
    assert cron["explanation"] == "At 03:00 every day"
    assert cron["saved_by"] == SITE_OWNER_NAME
    uid = cron["uid"]

    changed = api.patch(
        f"@crons/{uid}",
        json={"periodicity": "30 4 * * *", "notify": "failure"},
        headers={"Prefer": "return=representation"},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["explanation"] == "At 04:30 every day"
    assert changed.json()["notify"] == "failure"

    ran = api.post(f"@crons/{uid}/@run", json={"environ": {"greeting": "Salut"}})
    assert ran.status_code == 202, ran.text
    assert ran.json()["job"]["forced"] is True
    start_dispatcher()
    logs = wait_for(
        lambda: api.get(f"@crons/{uid}").json()["logs"], 20, message="the run's log"
    )
    assert logs[0]["status_title"] == "OK"
    assert logs[0]["environ_override"] == {"greeting": "Salut"}

    assert api.delete(f"@crons/{uid}").status_code == 204
    assert api.get(f"@crons/{uid}").status_code == 404
    transaction.begin()
    assert uid not in Crontab.load().crons


def test_uid_given_on_add(api, news):
    response = api.post(
        "@crons", json={"uid": "digest", "name": "x", "periodicity": "@daily"}
    )
    assert response.status_code == 201
    assert response.headers["Location"].endswith("/@crons/digest")
    taken = api.post(
        "@crons", json={"uid": "news", "name": "x", "periodicity": "@daily"}
    )
    assert taken.status_code == 400
    assert "Invalid uid 'news': a cron with this uid exists" in taken.json()["message"]


BAD_SETTINGS = [
    ({"periodicity": "61 * * * *"}, "Invalid periodicity '61 * * * *'"),
    ({"environ": "{not json"}, "Invalid environ '{not json'"),
    ({"environ": [1, 2]}, "Invalid environ [1, 2]"),
    ({"logs_limit": -1}, "Invalid logs_limit -1"),
    ({"timezone": "Mars/Olympus"}, "Invalid timezone 'Mars/Olympus'"),
    ({"misfire": "later"}, "Invalid misfire 'later'"),
    ({"notify": "sometimes"}, "Invalid notify 'sometimes'"),
    ({"recipients": ["not-an-address"]}, "Invalid recipients"),
    ({"retries": 99}, "Invalid retries 99"),
    ({"timeout": "soon"}, "Invalid timeout 'soon'"),
    ({"activated": "maybe"}, "Invalid activated 'maybe'"),
    ({"user": "nobody-here"}, "Invalid user 'nobody-here'"),
    ({"periodicty": "@daily"}, "Invalid periodicty '@daily': is not a cron setting"),
    ({"name": "../../etc"}, "Invalid name '../../etc'"),
]


@pytest.mark.parametrize("bad, message", BAD_SETTINGS, ids=lambda v: str(v)[:30])
def test_add_names_the_bad_value_and_saves_nothing(api, news, bad, message):
    before = stored()
    body = {"name": "newsletter", "periodicity": "@daily", **bad}
    response = api.post("@crons", json=body)
    assert response.status_code in (400, 401), response.text
    assert message in response.json()["message"]
    assert stored() == before


@pytest.mark.parametrize("bad, message", BAD_SETTINGS, ids=lambda v: str(v)[:30])
def test_edit_names_the_bad_value_and_changes_nothing(api, news, bad, message):
    before = stored()
    # A good change next to the bad one is not applied either.
    response = api.patch("@crons/news", json={"title": "Changed", **bad})
    assert response.status_code in (400, 401), response.text
    assert message in response.json()["message"]
    assert stored() == before


def test_every_bad_value_is_named_at_once(api, news):
    response = api.patch("@crons/news", json={"retries": -1, "misfire": "x"})
    message = response.json()["message"]
    assert "Invalid retries -1" in message
    assert "Invalid misfire 'x'" in message


@pytest.mark.parametrize(
    "method, path, body, status, message",
    [
        ("POST", "@crons", {"name": "x"}, 400, "Missing cron settings: periodicity"),
        ("POST", "@crons", [1], 400, "The body must be a JSON object, not list"),
        ("PATCH", "@crons/news", {"uid": "other"}, 400, "Invalid uid 'other'"),
        ("PATCH", "@crons/nope", {"name": "x"}, 404, "/@crons/nope"),
        ("DELETE", "@crons/nope", None, 404, "/@crons/nope"),
        ("POST", "@crons/news/@run", {"environ": "[1]"}, 400, "Invalid environ '[1]'"),
        ("POST", "@crons/news/@pause", {"until": "soon"}, 400, "'soon'"),
        ("POST", "@crons/news/@explode", None, 400, "No POST @crons/news/@explode"),
        ("PATCH", "@crons", {"activated": "off-ish"}, 400, "Invalid activated"),
        ("PATCH", "@crons", {"enabled": False}, 400, "['enabled']"),
        ("GET", "@crons/news/logs", None, 400, "No GET @crons/news/logs"),
        (
            "DELETE",
            "@crons/news/@logs",
            {"dates": ["2020-01-01T00:00:00+00:00"]},
            400,
            "Invalid dates ['2020-01-01T00:00:00+00:00']",
        ),
        ("POST", "@crons/@import", {"xml": "<crons><cron"}, 400, "crons.xml"),
        (
            "POST",
            "@crons/@import",
            {"xml": '<crons><cron uid="a" name="x" periodicity="99 * * * *"/></crons>'},
            400,
            "Invalid periodicity '99 * * * *'",
        ),
    ],
)
def test_bad_requests(api, news, method, path, body, status, message):
    before = stored()
    response = api.request(method, path, json=body)
    assert response.status_code == status, response.text
    error = response.json()
    assert error["type"] == {400: "BadRequest", 404: "NotFound"}[status]
    assert message in error["message"]
    assert stored() == before


def test_run_as_rule(api, portal, news):
    """A Site Administrator cannot make a cron run as the Zope Manager."""
    portal.acl_users.userFolderAddUser(
        "siteadmin", PASSWORD, ["Site Administrator"], []
    )
    transaction.commit()
    api.auth = ("siteadmin", PASSWORD)
    before = stored()
    response = api.patch("@crons/news", json={"user": SITE_OWNER_NAME})
    assert response.status_code == 401
    assert f"Invalid user '{SITE_OWNER_NAME}'" in response.json()["message"]
    response = api.post(
        "@crons", json={"name": "x", "periodicity": "@daily", "user": SITE_OWNER_NAME}
    )
    assert response.status_code == 401
    assert stored() == before
    # Herself is fine.
    response = api.patch("@crons/news", json={"user": "siteadmin"})
    assert response.status_code == 204


def test_delete_selected_logs_then_all(api, news):
    logs = api.get("@crons/news").json()["logs"]
    assert [log["messages"] for log in logs] == [["x"], ["sent"]]
    response = api.delete("@crons/news/@logs", json={"dates": [logs[0]["date"]]})
    assert response.status_code == 204
    assert [log["messages"] for log in api.get("@crons/news").json()["logs"]] == [
        ["sent"]
    ]
    assert api.delete("@crons/news/@logs").status_code == 204
    assert api.get("@crons/news").json()["logs"] == []


def test_crontab_switch(api, news):
    assert api.patch("@crons", json={"activated": False}).status_code == 204
    listing = api.get("@crons").json()
    assert listing["activated"] is False
    assert listing["items"][0]["job"] is None  # nothing queued while off
    assert api.patch("@crons", json={"activated": True}).status_code == 204
    assert api.get("@crons").json()["items"][0]["job"] is not None


def test_pause_and_resume(api, news):
    paused = api.post("@crons/news/@pause", json={"reason": "holidays"})
    assert paused.json()["job"]["paused"]["reason"] == "holidays"
    assert api.get("@crons/news").json()["job"]["paused"]["by"] == SITE_OWNER_NAME
    resumed = api.post("@crons/news/@resume")
    assert resumed.json()["job"]["paused"] is None


def test_export_import_round_trip(api, news):
    exported = api.get("@crons/@export")
    assert exported.status_code == 200
    assert exported.headers["Content-Type"].startswith("application/xml")
    text = exported.text
    assert 'uid="news"' in text
    api.delete("@crons/news")
    assert api.get("@crons").json()["items_total"] == 0
    imported = api.post(
        "@crons/@import", data=text, headers={"Content-Type": "application/xml"}
    )
    assert imported.status_code == 200, imported.text
    assert imported.json()["added"] == ["news"]
    assert api.get("@crons/@export").text == text
    again = api.post("@crons/@import", json={"xml": text})
    assert again.json() == {
        "added": [],
        "changed": [],
        "removed": [],
        "items_total": 1,
    }


def test_import_is_all_or_nothing(api, news):
    before = stored()
    text = (
        "<crons>"
        '<cron uid="ok" name="fine" periodicity="@daily"/>'
        '<cron uid="news" name="newsletter" periodicity="@sometimes"/>'
        "</crons>"
    )
    response = api.post("@crons/@import", json={"xml": text})
    assert response.status_code == 400
    assert "@sometimes" in response.json()["message"]
    assert stored() == before


def test_explain(api, portal):
    response = api.get(
        "@crons-explain",
        params={"periodicity": "0 8 * * 1-5", "timezone": "Europe/Paris", "count": 3},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "periodicity": "0 8 * * 1-5",
        "explanation": "At 08:00 on Monday through Friday",
        "timezone": "Europe/Paris",
        "next": [
            "2026-03-02T08:00:00+01:00",
            "2026-03-03T08:00:00+01:00",
            "2026-03-04T08:00:00+01:00",
        ],
    }
    for params, message in [
        ({"periodicity": "0 25 * * *"}, "Invalid periodicity '0 25 * * *'"),
        ({"periodicity": "@daily", "timezone": "Nowhere"}, "Invalid timezone"),
        ({"periodicity": "@daily", "count": "1000"}, "Invalid count '1000'"),
        ({}, "Missing periodicity"),
    ]:
        bad = api.get("@crons-explain", params=params)
        assert bad.status_code == 400
        assert message in bad.json()["message"]


def test_controlpanel_settings(api, news):
    """Volto's Site Setup reads and writes the site-wide settings; a bad
    value is refused naming the field, nothing saved."""
    panel = api.get("@controlpanels/cron-dashboard").json()
    assert panel["title"] == "Cron Dashboard"
    assert set(panel["schema"]["properties"]) >= {
        "activated",
        "alert_recipients",
        "health_public",
        "audit_size",
        "metrics_token",
    }
    assert panel["data"]["audit_size"] == 1000
    response = api.patch(
        "@controlpanels/cron-dashboard",
        json={"audit_size": 50, "health_public": True, "alert_recipients": ["a@b.org"]},
    )
    assert response.status_code == 204, response.text
    data = api.get("@controlpanels/cron-dashboard").json()["data"]
    assert (data["audit_size"], data["health_public"]) == (50, True)
    assert data["alert_recipients"] == ["a@b.org"]
    bad = api.patch(
        "@controlpanels/cron-dashboard", json={"activated": False, "audit_size": 0}
    )
    assert bad.status_code == 400
    assert "audit_size" in bad.text
    assert api.get("@crons").json()["activated"] is True


def test_audit_trail_of_rest_changes(api, news):
    """Who changed what over REST, newest first, batched."""
    api.patch("@crons/news", json={"periodicity": "0 9 * * 1-5"})
    api.post("@crons/news/@pause", json={"reason": "holidays"})
    trail = api.get("@crons/news/@audit").json()
    newest, edit = trail["items"][:2]
    assert newest["action"] == "paused"
    assert edit["action"] == "changed"
    assert edit["who"] == SITE_OWNER_NAME
    assert edit["uid"] == "news"
    assert {"field": "periodicity", "old": "0 8 * * 1-5", "new": "0 9 * * 1-5"} in (
        edit["changes"]
    )
    site_wide = api.get("@crons/@audit", params={"b_size": 1}).json()
    assert site_wide["items_total"] >= 2
    assert len(site_wide["items"]) == 1
    assert "batching" in site_wide
    assert api.get("@crons/nope/@audit").status_code == 404
