"""A real Zope instance as a worker: jobs run by themselves, survive restarts.

Starts `runwsgi` on a FileStorage in a temporary directory, on a free
127.0.0.1 port, configured through zope.conf's product-config; crons are set
over REST and results read from @crons. Real processes need real seconds:
waits are bounded.
"""

from datetime import UTC
from datetime import datetime
from datetime import timedelta
from tests.support.instances import Instance
from tests.support.instances import wait_for
from tests.support.runners import RUNNERS_ZCML
from tests.support.smtp import SMTPSink

import pytest
import time


pytestmark = pytest.mark.slow


WORKER_SETTINGS = {
    "worker": "on",
    "threads": "2",
    "poll-interval": "0.5",
    "heartbeat": "1",
    "misfire-grace": "1",
}


def demo_cron(uid, periodicity, **settings):
    cron = {
        "uid": uid,
        "name": "collective.cron.demo",
        "periodicity": periodicity,
        "activated": True,
        "environ": {"greeting": uid},
        "logs_limit": 25,
    }
    cron.update(settings)
    return cron


@pytest.fixture(scope="module")
def instance(tmp_path_factory):
    instance = Instance(
        tmp_path_factory.mktemp("worker"),
        product_config=WORKER_SETTINGS,
        zcml=RUNNERS_ZCML,
    )
    instance.create_site()
    instance.start()
    yield instance
    instance.stop()


def logs_of(instance, uid):
    return instance.cron(uid)["logs"]


def test_jobs_run_by_themselves(instance):
    instance.set_crons([demo_cron("every-second", "* * * * * *")])
    logs = wait_for(
        lambda: logs_of(instance, "every-second"), 30, message="a first log"
    )
    assert logs[0]["status_title"] == "OK"
    assert logs[0]["worker"].endswith(f":{instance.pid}")
    cron = instance.cron("every-second")
    assert cron["job"]["status"] in ("pending", "running")
    listing = instance.request("GET", "@crons")
    [worker] = listing["workers"]
    assert (
        worker["alive"] is True
        and worker["pid"] == instance.pid
        and worker["threads"] == 2
    )


def test_jobs_survive_restart_and_misfires_are_handled(instance):
    instance.set_crons(
        [
            demo_cron("run-once", "* * * * * *"),
            demo_cron("skipper", "* * * * * *", misfire="skip"),
        ]
    )
    for uid in ("run-once", "skipper"):
        wait_for(lambda uid=uid: logs_of(instance, uid), 30, message=f"{uid} running")
    instance.stop()
    time.sleep(3)  # the site is down: scheduled seconds pass unrun
    instance.start()

    def misfire_log(uid, predicate):
        return next((log for log in logs_of(instance, uid) if predicate(log)), None)

    late = wait_for(
        lambda: misfire_log("run-once", lambda log: log.get("missed", 0) >= 2),
        30,
        message="a late run",
    )
    assert late["status_title"] == "OK"
    assert "late; stands for" in late["messages"][-1]
    skipped = wait_for(
        lambda: misfire_log("skipper", lambda log: log["status_title"] == "NOTRUN"),
        30,
        message="a skipped misfire",
    )
    assert skipped["messages"][0].startswith("Skipped (misfire policy 'skip')")
    # The schedule resumed after the restart.
    wait_for(
        lambda: (
            sum(log["status_title"] == "OK" for log in logs_of(instance, "skipper"))
            >= 2
        ),
        30,
        message="skipper running again",
    )


@pytest.fixture
def smtp():
    sink = SMTPSink().start()
    yield sink
    sink.stop()


def once_at(moment):
    """A periodicity that fires at `moment` (UTC, to the second) and not again
    for a year."""
    return (
        f"{moment.second} {moment.minute} {moment.hour} {moment.day} {moment.month} *"
    )


def test_mail_from_a_run_is_delivered_once_and_never_for_a_failed_run(instance, smtp):
    instance.request(
        "PATCH",
        "@registry",
        {
            "plone.smtp_host": "127.0.0.1",
            "plone.smtp_port": smtp.port,
            "plone.email_from_address": "cron@example.org",
            "plone.email_from_name": "Cron",
        },
    )
    moment = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)
    mail = {"to": "reader@example.org"}
    instance.set_crons(
        [
            demo_cron(
                "sends",
                once_at(moment),
                name="tests.mail",
                timezone="UTC",
                environ={**mail, "subject": "Delivered"},
            ),
            demo_cron(
                "fails",
                once_at(moment),
                name="tests.mail-then-fail",
                timezone="UTC",
                environ={**mail, "subject": "Never"},
            ),
        ]
    )
    sent = wait_for(lambda: logs_of(instance, "sends"), 30, message="the mail run")
    failed = wait_for(lambda: logs_of(instance, "fails"), 30, message="the failed run")
    assert [log["status_title"] for log in sent] == ["OK"]
    assert [log["status_title"] for log in failed] == ["FAILURE"]
    assert failed[0]["messages"] == ["RuntimeError: failed after sending"]
    # The failed run's mail would have left during its commit, before its
    # log was written: by now it would be here.
    wait_for(lambda: smtp.messages, 20, message="the mail at the SMTP server")
    assert smtp.subjects() == ["Delivered"]
    [(_, recipients, _)] = smtp.messages
    assert recipients == ["reader@example.org"]
