"""The bundled tasks on a real site: each run through the job wrapper (a
committed run, as a worker makes it), bad environs refused before anything
changes. zodb-pack on a FileStorage that shrinks: test_cli_instance.py."""

from collective.cron.crontab import Cron
from collective.cron.crontab import Crontab
from collective.cron.interfaces import ICronManager
from collective.cron.runners import runners_offered
from collective.cron.status import Status
from collective.cron.testing import run_due_jobs
from DateTime import DateTime
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from plone import api
from plone.app.testing import TEST_USER_ID
from plone.app.testing import setRoles
from tests.support.instances import free_port
from zope.component import getMultiAdapter

import json
import pytest
import threading
import transaction


TASKS = "collective.cron.tasks."


@pytest.fixture
def site(site):
    setRoles(site, TEST_USER_ID, ["Manager"])
    transaction.commit()
    return site


def run_task(site, task, environ=None, **settings):
    """Add a cron for `task` and run it now; the run's (status, messages)."""
    crontab = Crontab.load()
    cron = Cron(
        name=TASKS + task,
        periodicity="@manual",
        environ=environ or {},
        crontab=crontab,
        **settings,
    )
    crontab.save()
    getMultiAdapter((site, cron), ICronManager).register_job(force=True)
    transaction.commit()
    [(status, messages, uid, path)] = run_due_jobs(site, commit=True)
    transaction.begin()
    return Status(status), messages


def test_every_task_is_offered_with_a_title_and_a_description():
    offered = {item["name"]: item for item in runners_offered()}
    for task in (
        "heartbeat",
        "http-request",
        "zodb-pack",
        "purge-expired",
        "catalog-maintenance",
    ):
        assert offered[TASKS + task]["title"]
        assert offered[TASKS + task]["description"]


def test_registered_tasks_schedule_nothing(site):
    assert list(Crontab.load().crons) == []


# -- heartbeat ------------------------------------------------------------------


def test_heartbeat_logs_a_line(site, caplog):
    caplog.set_level("INFO", "collective.cron")
    status, messages = run_task(site, "heartbeat", {"message": "still here"})
    assert status == Status.OK
    assert messages[0].startswith("still here: cron ")
    assert " of /plone ran at " in messages[0]
    assert messages[0] in caplog.text


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"message": 5}, "Invalid environ message 5: must be a text"),
        ({"mesage": "x"}, "Invalid environ mesage 'x': unknown option"),
    ],
)
def test_heartbeat_bad_environ(site, environ, message):
    status, messages = run_task(site, "heartbeat", environ)
    assert status == Status.FAILURE
    assert messages[0].startswith(f"InvalidCron: {message}")


# -- http-request ---------------------------------------------------------------


class Recorder(BaseHTTPRequestHandler):
    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.server.seen.append(
            {
                "method": self.command,
                "path": self.path,
                "headers": dict(self.headers),
                "body": self.rfile.read(length).decode(),
            }
        )
        status = int(self.path.rsplit("/", 1)[-1] or 200)
        body = f"answer {status}".encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), Recorder)
    httpd.seen = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(10)


def url(server, path):
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


def test_http_request_posts_json_with_headers_and_logs_status_and_timing(site, server):
    status, messages = run_task(
        site,
        "http-request",
        {
            "url": url(server, "/hook/200"),
            "method": "POST",
            "headers": {"X-Token": "s3cret"},
            "body": {"site": "plone"},
        },
    )
    assert status == Status.OK
    assert messages[0].startswith(f"POST {url(server, '/hook/200')} answered 200 OK in")
    assert messages[1] == "10 bytes"
    [seen] = server.seen
    assert seen["method"] == "POST" and seen["path"] == "/hook/200"
    assert seen["headers"]["X-Token"] == "s3cret"
    assert seen["headers"]["Content-Type"] == "application/json"
    assert json.loads(seen["body"]) == {"site": "plone"}
    assert "s3cret" not in " ".join(messages)  # header values are never logged


def test_http_request_unexpected_status_fails(site, server):
    status, messages = run_task(site, "http-request", {"url": url(server, "/503")})
    assert status == Status.FAILURE
    assert messages[0].startswith(f"TaskFailed: GET {url(server, '/503')} answered 503")
    assert "(expected 2xx): answer 503" in messages[0]


def test_http_request_expected_status(site, server):
    status, _ = run_task(
        site, "http-request", {"url": url(server, "/404"), "expect": [404, 410]}
    )
    assert status == Status.OK


def test_http_request_unreachable_server_fails_naming_it(site):
    address = f"http://127.0.0.1:{free_port()}/"
    status, messages = run_task(site, "http-request", {"url": address, "timeout": 5})
    assert status == Status.FAILURE
    assert messages[0].startswith(f"TaskFailed: GET {address} failed after")


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "Invalid environ url None: is required"),
        ({"url": "ftp://example.org/x"}, "Invalid environ url 'ftp://example.org/x'"),
        ({"url": "http:///nohost"}, "Invalid environ url 'http:///nohost'"),
        ({"url": "URL", "method": "BREW"}, "Invalid environ url 'URL'"),
        ({"method": "BREW"}, "Invalid environ method 'BREW': must be one of GET"),
        ({"timeout": -1}, "Invalid environ timeout -1: must be between 0.1 and 300"),
        ({"expect": 99}, "Invalid environ expect 99: must be between 100 and 599"),
        ({"headers": {"Bad Name": "x"}}, "Invalid environ headers 'Bad Name'"),
        ({"headers": {"X": "a\nb"}}, "Invalid environ headers {'X': 'a\\nb'}"),
    ],
)
def test_http_request_bad_environ_sends_nothing(site, server, environ, message):
    if environ:
        environ = {"url": url(server, "/200"), **environ}
    status, messages = run_task(site, "http-request", environ)
    assert status == Status.FAILURE
    assert messages[0].startswith(f"InvalidCron: {message}")
    assert server.seen == []


# -- purge-expired ----------------------------------------------------------------


@pytest.fixture
def content(site):
    """Three published documents: two expired, one current."""
    past, future = DateTime() - 2, DateTime() + 30
    made = {}
    for name, expires in (("old", past), ("older", past - 5), ("fresh", future)):
        obj = api.content.create(container=site, type="Document", id=name, title=name)
        api.content.transition(obj=obj, to_state="published")
        obj.setExpirationDate(expires)
        obj.reindexObject()
        made[name] = obj
    transaction.commit()
    return made


def states(site):
    transaction.begin()
    return {
        name: api.content.get_state(obj=site[name])
        for name in ("old", "older", "fresh")
        if name in site
    }


def test_purge_unpublishes_expired_content(site, content):
    status, messages = run_task(site, "purge-expired")
    assert status == Status.OK
    assert messages[0] == "unpublished 2 expired item(s)"
    assert sorted(messages[1:]) == [
        "unpublished: /plone/old",
        "unpublished: /plone/older",
    ]
    assert states(site) == {"old": "private", "older": "private", "fresh": "published"}
    # The next run finds them private already.
    status, messages = run_task(site, "purge-expired")
    assert messages[0] == "unpublished 0 expired item(s), 2 already private"


def test_purge_dry_run_changes_nothing(site, content):
    status, messages = run_task(
        site, "purge-expired", {"action": "delete", "dry_run": True}
    )
    assert status == Status.OK
    assert messages[0] == "Dry run: would have deleted 2 expired item(s)"
    assert states(site) == {
        "old": "published",
        "older": "published",
        "fresh": "published",
    }


def test_purge_deletes_with_a_query(site, content):
    status, messages = run_task(
        site,
        "purge-expired",
        {"action": "delete", "query": {"getId": "old"}},
    )
    assert (status, messages) == (
        Status.OK,
        ["deleted 1 expired item(s)", "deleted: /plone/old"],
    )
    assert sorted(states(site)) == ["fresh", "older"]


def test_purge_only_does_what_the_cron_user_may(site, content):
    api.user.create(email="m@example.org", username="member", password="secret-pw-1")
    transaction.commit()
    status, messages = run_task(
        site, "purge-expired", {"action": "delete"}, user="member"
    )
    # A Member finds the published documents but may delete none.
    assert status == Status.WARN
    assert messages[0] == "deleted 0 expired item(s), 2 could not be deleted"
    assert messages[1].startswith("failed: /plone/old")
    assert messages[1].endswith(": the cron's user may not delete it")
    assert sorted(states(site)) == ["fresh", "old", "older"]


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"action": "burn"}, "Invalid environ action 'burn': must be one of"),
        ({"query": {"nope": 1}}, "Invalid environ query 'nope': no such index"),
        ({"query": {"expires": 1}}, "Invalid environ query 'expires': is not an"),
        ({"query": []}, "Invalid environ query []: must be a JSON object"),
        ({"limit": 0}, "Invalid environ limit 0: must be between 1 and 10000"),
        ({"dry_run": "maybe"}, "Invalid environ dry_run 'maybe'"),
    ],
)
def test_purge_bad_environ_changes_nothing(site, content, environ, message):
    status, messages = run_task(site, "purge-expired", {"action": "delete", **environ})
    assert status == Status.FAILURE
    assert messages[0].startswith(f"InvalidCron: {message}")
    assert sorted(states(site)) == ["fresh", "old", "older"]


# -- catalog-maintenance ----------------------------------------------------------


def test_catalog_reindex_and_rebuild(site, content):
    catalog = api.portal.get_tool("portal_catalog")
    # Break the Title index behind the catalog's back; a reindex mends it.
    site["old"].title = "renamed"
    transaction.commit()
    assert not catalog(Title="renamed")
    status, messages = run_task(
        site, "catalog-maintenance", {"action": "reindex", "index": "Title"}
    )
    assert status == Status.OK and messages[0].startswith("Reindexed 'Title': ")
    assert [brain.getId for brain in catalog(Title="renamed")] == ["old"]

    status, messages = run_task(site, "catalog-maintenance", {"action": "rebuild"})
    assert status == Status.OK
    assert messages[0].startswith("Cleared and rebuilt the catalog: ")
    assert len(catalog(portal_type="Document")) == 3


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"index": "nope"}, "Invalid environ index 'nope': no such index"),
        ({}, "Invalid environ index None: is required"),
        ({"action": "rebuild", "index": "Title"}, "Invalid environ index ['Title']"),
        ({"action": "vacuum"}, "Invalid environ action 'vacuum'"),
    ],
)
def test_catalog_bad_environ(site, environ, message):
    status, messages = run_task(site, "catalog-maintenance", environ)
    assert status == Status.FAILURE
    assert messages[0].startswith(f"InvalidCron: {message}")


def test_catalog_needs_a_user_who_may_manage_it(site):
    api.user.create(email="m@example.org", username="member", password="secret-pw-1")
    transaction.commit()
    status, messages = run_task(
        site, "catalog-maintenance", {"index": "Title"}, user="member"
    )
    assert status == Status.FAILURE
    assert "'member' may not manage the catalog" in messages[0]


# -- zodb-pack (the pack itself: test_cli_instance.py) ---------------------------------


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"days": -1}, "Invalid environ days -1: must be between 0 and 36500"),
        ({"days": "week"}, "Invalid environ days 'week': must be a number"),
    ],
)
def test_pack_bad_days(site, environ, message):
    status, messages = run_task(site, "zodb-pack", environ)
    assert status == Status.FAILURE
    assert messages[0].startswith(f"InvalidCron: {message}")


def test_pack_needs_a_manager(site):
    api.user.create(email="m@example.org", username="member", password="secret-pw-1")
    transaction.commit()
    status, messages = run_task(site, "zodb-pack", user="member")
    assert status == Status.FAILURE
    assert "packing the database needs the Manager role: 'member'" in messages[0]
