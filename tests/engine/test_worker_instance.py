"""A real Zope instance as a worker: jobs run by themselves, survive restarts.

Starts `runwsgi` on a FileStorage in a temporary directory, on a free
127.0.0.1 port, configured through zope.conf's product-config; crons are set
over REST and results read from @crons. Real processes need real seconds:
waits are bounded.
"""

from tests.support.instances import Instance
from tests.support.instances import wait_for

import pytest
import time


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
        tmp_path_factory.mktemp("worker"), product_config=WORKER_SETTINGS
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
