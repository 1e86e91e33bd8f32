"""The installed `collective-cron` script against a real FileStorage instance,
in subprocesses: what a container entry point, a systemd unit or a CI job runs.

The instance is configured as a worker (`worker on`), yet the script never
starts one: `status` finds no worker alive.
"""

from pathlib import Path
from tests.support.instances import BIN
from tests.support.instances import REPO
from tests.support.instances import Instance
from tests.support.instances import ZEOServer
from tests.support.instances import wait_for

import json
import os
import pytest
import signal
import subprocess


pytestmark = pytest.mark.slow

SCRIPT = BIN / "collective-cron"

CRONS_XML = """<?xml version="1.0" encoding="UTF-8"?>
<crons>
  <cron uid="beat" name="collective.cron.tasks.heartbeat" periodicity="*/5 * * * *"
        activated="True">
    <environ><![CDATA[ {"message": "all is well"} ]]></environ>
  </cron>
  <cron uid="pack" name="collective.cron.tasks.zodb-pack" periodicity="@manual"
        activated="True">
    <environ><![CDATA[ {"days": 0} ]]></environ>
  </cron>
  <cron uid="bad-pack" name="collective.cron.tasks.zodb-pack" periodicity="@manual"
        activated="True">
    <environ><![CDATA[ {"days": -1} ]]></environ>
  </cron>
</crons>
"""

BLOAT = """
import transaction
site = app.Plone
for size in range(6):
    site._bloat = b"x" * 1_000_000 + bytes([size])  # a new revision each time
    transaction.commit()
del site._bloat
transaction.commit()
app._p_jar.db().close()
"""


def cli(instance, *argv, stdin=None):
    """(exit code, stdout, stderr) of the script run on `instance`."""
    result = subprocess.run(
        [str(SCRIPT), "-C", str(instance.directory / "etc" / "zope.conf"), *argv],
        capture_output=True,
        text=True,
        input=stdin,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        timeout=300,
    )
    return result.returncode, result.stdout, result.stderr


@pytest.fixture(scope="module")
def instance(tmp_path_factory):
    instance = Instance(tmp_path_factory.mktemp("cli"), product_config={"worker": "on"})
    instance.create_site()
    return instance


@pytest.fixture(scope="module")
def imported(instance, tmp_path_factory):
    path = tmp_path_factory.mktemp("xml") / "crons.xml"
    path.write_text(CRONS_XML)
    code, out, err = cli(instance, "import", "--dry-run", str(path))
    assert code == 0, err
    assert "+ beat: added (collective.cron.tasks.heartbeat, */5 * * * *)" in out
    assert json.loads(cli(instance, "list", "--json")[1]) == []
    code, out, err = cli(instance, "import", str(path))
    assert code == 0, err
    return instance


def test_list_run_show_and_export(imported):
    code, out, err = cli(imported, "list", "--json")
    rows = {row["uid"]: row for row in json.loads(out)}
    assert sorted(rows) == ["bad-pack", "beat", "pack"]
    assert rows["beat"]["schedule"] == "Every fifth minute of every hour"
    assert rows["pack"]["schedule"] == "Manual only: runs when someone runs it"

    code, out, err = cli(imported, "run", "beat")
    assert code == 0, err
    assert " OK in " in out and "all is well: cron beat of /Plone ran at" in out
    code, out, err = cli(imported, "show", "beat")
    assert code == 0 and "Logs (1, newest first):" in out
    assert "all is well" in out

    code, out, err = cli(imported, "export")
    assert code == 0
    assert '<cron uid="beat" name="collective.cron.tasks.heartbeat"' in out


def test_a_task_with_a_bad_environ_fails_naming_it_exit_1(imported):
    code, out, err = cli(imported, "run", "bad-pack")
    assert code == 1
    assert "FAILURE" in out
    assert "Invalid environ days -1: must be between 0 and 36500" in out


def test_pack_shrinks_the_filestorage(imported):
    data_fs = imported.directory / "var" / "Data.fs"
    imported.zconsole(_script(imported, BLOAT))
    bloated = data_fs.stat().st_size
    code, out, err = cli(imported, "run", "pack")
    assert code == 0, out + err
    assert "Packed the database 'main' keeping 0 day(s) of history" in out
    assert data_fs.stat().st_size < bloated - 5_000_000


def test_pack_on_zeo_shrinks_the_server_filestorage(tmp_path):
    """The same through a ZEO client instance: the ZEO server packs its
    FileStorage while the server runs (no instance has to stop)."""
    server = ZEOServer(tmp_path / "zeo").start()
    try:
        client = Instance(tmp_path / "client", zeo=server)
        client.create_site()
        path = tmp_path / "crons.xml"
        path.write_text(CRONS_XML)
        assert cli(client, "import", str(path))[0] == 0
        data_fs = server.directory / "Data.fs"
        client.zconsole(_script(client, BLOAT))
        bloated = data_fs.stat().st_size
        code, out, err = cli(client, "run", "pack")
        assert code == 0, out + err
        assert "Packed the database 'main' keeping 0 day(s) of history" in out
        assert data_fs.stat().st_size < bloated - 5_000_000
    finally:
        server.stop()


def test_pause_and_resume_from_the_shell(imported):
    code, out, err = cli(imported, "pause", "beat", "--reason", "deploy")
    assert (code, out) == (0, "Cron beat paused until resumed\n"), err
    code, out, err = cli(imported, "show", "beat", "--json")
    assert code == 0, err
    show = json.loads(out)
    assert show["job"]["paused"]["reason"] == "deploy"
    assert show["job"]["paused"]["by"].endswith("(collective-cron)")
    assert cli(imported, "resume", "beat")[0] == 0


def test_status_is_unhealthy_without_workers_and_the_script_starts_none(imported):
    code, out, err = cli(imported, "status")
    assert code == 1
    assert "workers alive: 0" in out and "no worker is alive" in out
    report = json.loads(cli(imported, "status", "--json")[1])
    assert report["workers"] == []


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (("run", "nope"), "no cron with uid 'nope' in this site"),
        (("--site", "/nope", "list"), "no Plone site at '/nope' (sites: /Plone)"),
        (("import", "/no/such.xml"), "cannot read '/no/such.xml'"),
    ],
)
def test_errors_are_one_line_exit_2(imported, argv, error):
    code, out, err = cli(imported, *argv)
    assert code == 2 and out == ""
    assert err.startswith(f"collective-cron: error: {error}")
    assert err.count("\n") == 1


def test_a_missing_zope_conf_is_named(tmp_path):
    result = subprocess.run(
        [str(SCRIPT), "-C", str(tmp_path / "zope.conf"), "list"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr == (
        f"collective-cron: error: no zope.conf at {str(tmp_path / 'zope.conf')!r} "
        "(use -C PATH)\n"
    )


def test_several_sites_need_site(tmp_path):
    instance = Instance(tmp_path / "two")
    instance.create_site()
    instance.zconsole(
        str(REPO / "scripts" / "create_site.py"),
        {"SITE_ID": "Second", "CREATE_DEMO_CRON": "0"},
    )
    code, out, err = cli(instance, "list")
    assert code == 2
    assert "several Plone sites (/Plone, /Second): choose one with --site" in err
    code, out, err = cli(instance, "--site", "/Second", "list")
    assert (code, out) == (0, "No crons.\n")


SLOW_CRONS = [
    {
        "uid": uid,
        "name": "collective.cron.demo",
        "periodicity": "@yearly",
        "activated": True,
        "environ": {"sleep": sleep},
    }
    for uid, sleep in (("slow", 15), ("hung", 600))
]
# A short lease and fast heartbeats, for the worker and the command alike.
LEASE = {"lease": "3", "heartbeat": "0.5", "poll-interval": "0.2"}


def start_run(instance, uid):
    """`collective-cron run uid` started in the background."""
    return subprocess.Popen(
        [SCRIPT, "-C", instance.directory / "etc" / "zope.conf", "run", uid],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )


def wait_for_claim(worker, uid):
    def claimed():
        job = worker.cron(uid)["job"]
        return job if job and job["status"] == "running" else None

    job = wait_for(claimed, 120, interval=0.5, message=f"the command's claim of {uid}")
    assert job["worker"].startswith("collective-cron:")
    return job


def test_run_is_held_with_heartbeats_sigterm_and_sigkill_give_it_back(tmp_path):
    """`run` holds its job with heartbeats, as a worker does: a worker leaves
    a run that outlasts the lease alone while they come, yet never counts
    the command as a worker. SIGTERM (`docker stop`) gives the job back at
    once; after SIGKILL, which nothing in the command can catch, a worker
    takes it back within a lease (6 hours before heartbeats)."""
    server = ZEOServer(tmp_path / "zeo").start()
    worker = Instance(
        tmp_path / "worker", zeo=server, product_config=dict(LEASE, worker="on")
    )
    shell = Instance(tmp_path / "shell", zeo=server, product_config=LEASE)
    commands = []
    try:
        worker.create_site()
        worker.start()
        worker.set_crons(SLOW_CRONS)

        # Alive: the run lasts five leases; the worker polls meanwhile.
        commands.append(start_run(shell, "slow"))
        wait_for_claim(worker, "slow")
        report = json.loads(cli(shell, "status", "--json")[1])
        assert report["workers_alive"] == 1
        assert not report["workers"][0].startswith("collective-cron:")
        assert commands[-1].wait(timeout=120) == 0
        logs = worker.cron("slow")["logs"]
        assert [log["status_title"] for log in logs] == ["OK"], logs
        assert logs[0]["duration"] >= 15

        # SIGTERM: logged and given back by the command itself.
        commands.append(start_run(shell, "hung"))
        wait_for_claim(worker, "hung")
        commands[-1].send_signal(signal.SIGTERM)
        assert commands[-1].wait(timeout=60) == 143
        [log] = worker.cron("hung")["logs"]
        assert log["messages"][0].startswith(
            "interrupted (the command line run was stopped"
        )
        assert worker.cron("hung")["job"]["status"] == "pending"

        # SIGKILL: taken back by the worker, lease 3 s, heartbeat 0.5 s.
        commands.append(start_run(shell, "hung"))
        job = wait_for_claim(worker, "hung")
        commands[-1].send_signal(signal.SIGKILL)
        commands[-1].wait(timeout=30)
        wait_for(
            lambda: worker.cron("hung")["logs"][1:],
            60,
            interval=0.5,
            message="the worker's log of the killed run",
        )
        log = worker.cron("hung")["logs"][0]
        assert log["status_title"] == "FAILURE"
        assert "interrupted: worker lost" in log["messages"][0]
        assert f"worker {job['worker']} sent no heartbeat since" in log["messages"][0]
        assert worker.cron("hung")["job"]["status"] == "pending"
    finally:
        for command in commands:
            if command.poll() is None:
                command.kill()
                command.wait(timeout=30)
        worker.stop()
        server.stop()


def _script(instance, body):
    path = Path(instance.directory) / "script.py"
    path.write_text(body)
    return str(path)
