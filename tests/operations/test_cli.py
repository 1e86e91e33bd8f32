"""The collective-cron commands, in this process on a real site (functional
layer: real commits). The installed script against a real FileStorage
instance: test_cli_instance.py."""

from collective.cron import Result
from collective.cron.crontab import Crontab
from collective.cron.interfaces import IQueue
from collective.cron.status import Status
from collective.cron.testing import set_now
from collective.cron.workers import alive
from collective.cron.workers import beat
from collective.cron.workers import record_of
from datetime import UTC
from datetime import datetime
from tests.operations.conftest import logs_of

import json
import os
import pytest
import signal
import time
import transaction


T0 = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen(site, recording):
    set_now(T0)


def test_list_gives_schedule_next_run_and_last_status(command, add_cron):
    add_cron(uid="news", name="mycronjob", title="Newsletter", activated=True)
    add_cron(uid="idle", name="myfoojob", periodicity="@daily", activated=False)
    code, out, error = command("list")
    assert (code, error) == (0, "")
    header, news, idle = out.splitlines()[:3]
    assert header.split()[:3] == ["UID", "NAME", "SCHEDULE"]
    assert news.startswith("news") and "Newsletter" in news
    assert "Every 10th minute" in news and "2026-10-05 08:10:00" in news
    assert idle.startswith("idle") and " off " in idle + " "

    assert command("run", "news")[0] == 0
    code, out, _ = command("list", "--json")
    rows = {row["uid"]: row for row in json.loads(out)}
    assert rows["news"]["last_status"] == "OK"
    assert rows["news"]["next"] == "2026-10-05 08:10:00"
    assert rows["news"]["schedule"].startswith("Every 10th minute")
    assert rows["idle"] == {**rows["idle"], "activated": False, "next": None}


def test_show_gives_settings_and_logs(command, add_cron):
    add_cron(uid="news", name="mycronjob", environ={"list": "members"})
    command("run", "news")
    code, out, _ = command("show", "news")
    assert code == 0
    assert "  name: mycronjob" in out
    assert '  environ: {"list": "members"}' in out
    assert "Logs (1, newest first):" in out and " OK in " in out
    data = json.loads(command("show", "news", "--json")[1])
    assert data["settings"]["environ"] == {"list": "members"}
    assert data["logs"][0]["forced"] is True


@pytest.mark.parametrize("argv", [("show", "nope"), ("run", "nope"), ("pause", "nope")])
def test_an_unknown_uid_is_one_line_naming_it_exit_2(command, argv):
    assert command(*argv) == (2, "", "no cron with uid 'nope' in this site")


def test_run_goes_through_the_job_wrapper_and_exit_codes_follow_the_status(
    command, add_cron, recording
):
    add_cron(uid="job", name="mycronjob", user=None)
    code, out, _ = command("run", "job")
    assert code == 0
    assert out.splitlines()[1].startswith("2026-10-05 08:00:00 UTC  OK")
    [log] = logs_of("job")
    # The wrapper's log: a forced run, by the command line's own worker name.
    assert log.details["forced"] is True
    assert log.details["worker"].startswith("collective-cron:")
    assert len(recording.calls) == 1
    # The job went back to its schedule.
    assert IQueue(recording.calls[0].context).job("job").begin_after > T0

    recording.behaviour = lambda runner: 1 / 0
    code, out, _ = command("run", "job")
    assert code == 1 and "FAILURE" in out and "ZeroDivisionError" in out

    recording.behaviour = lambda runner: Result("WARN", "half done")
    code, out, _ = command("run", "job")
    assert code == 2 and "WARN" in out and "half done" in out


def test_run_with_an_environ_for_this_run_only(command, add_cron, recording):
    add_cron(uid="job", name="mycronjob", environ={"a": 1, "b": 2})
    assert command("run", "job", "--environ", '{"b": 3}')[0] == 0
    assert recording.calls[0].cron.environ == {"a": 1, "b": 3}
    assert Crontab.load().by_uid("job").environ == {"a": 1, "b": 2}


def test_run_beats_while_it_runs_and_is_no_worker(
    command, add_cron, recording, site, db, monkeypatch
):
    """A thread of the command's own writes its heartbeat record while the
    run lasts; the run's commit does not conflict with a beat (the runner
    runs once); the record is gone when the command ends, and no worker was
    counted meanwhile."""
    monkeypatch.setenv("COLLECTIVE_CRON_HEARTBEAT", "0.05")
    add_cron(uid="job", name="mycronjob")
    seen = {}

    def watch_beats(runner):
        name = IQueue(site).job("job").worker
        # From a connection of its own, as another worker would see them.
        manager = transaction.TransactionManager()
        connection = db.open(transaction_manager=manager)
        try:
            serials, deadline = set(), time.monotonic() + 20
            while len(serials) < 4 and time.monotonic() < deadline:
                manager.begin()
                record = record_of(connection.root(), name)
                serials.add(record._p_serial)
                seen.update(
                    name=name,
                    command_line=record.command_line,
                    gap=record.gap,
                    workers_alive=alive(connection.root()),
                    beats=len(serials),
                )
                manager.abort()
                time.sleep(0.02)
        finally:
            connection.close()

    recording.behaviour = watch_beats
    code, out, error = command("run", "job")
    assert (code, error) == (0, ""), out
    assert " OK in " in out
    assert seen["name"].startswith("collective-cron:")
    assert seen["beats"] >= 4  # the claim's beat, then the thread's
    assert (seen["command_line"], seen["gap"]) == (True, 0.05)
    assert seen["workers_alive"] == []
    assert len(recording.calls) == 1
    assert record_of(site, seen["name"]) is None


def test_sigterm_gives_the_job_back_at_once_and_ends_the_command_143(
    command, add_cron, recording, site
):
    """`docker stop` or systemd: the run is logged interrupted and its job
    is free for the workers, with no lease to wait for."""
    add_cron(uid="job", name="mycronjob")
    handler = signal.getsignal(signal.SIGTERM)

    def terminate(runner):
        # Only to the command's own handler: the one before would end pytest.
        assert signal.getsignal(signal.SIGTERM) is not handler
        os.kill(os.getpid(), signal.SIGTERM)

    recording.behaviour = terminate
    with pytest.raises(SystemExit) as stopped:
        command("run", "job")
    assert stopped.value.code == 143
    assert signal.getsignal(signal.SIGTERM) is handler
    transaction.begin()
    [log] = logs_of("job")
    assert log.status == Status.FAILURE
    assert log.messages[0].startswith("interrupted (the command line run was stopped")
    job = IQueue(site).job("job")
    assert not job.running and job.begin_after > T0
    assert record_of(site, log.details["worker"]) is None


def test_run_with_a_bad_lease_setting_names_it_and_claims_nothing(
    command, add_cron, recording, site, monkeypatch
):
    monkeypatch.setenv("COLLECTIVE_CRON_LEASE", "2")
    add_cron(uid="job", name="mycronjob")
    code, out, error = command("run", "job")
    assert code == 2
    assert error.startswith("collective.cron setting lease = 2: must be at least")
    assert recording.calls == []
    job = IQueue(site).job("job")
    assert not job.running and not job.forced


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ("{b: 3", "--environ '{b: 3' is not JSON"),
        ("[1]", "--environ '[1]' must be a JSON object"),
        ('{"a": NaN}', "Invalid environ"),
    ],
)
def test_run_with_a_bad_environ_runs_nothing(
    command, add_cron, recording, site, environ, message
):
    add_cron(uid="job", name="mycronjob")
    code, out, error = command("run", "job", "--environ", environ)
    assert code == 2 and error.startswith(message)
    assert recording.calls == []
    assert not IQueue(site).job("job").forced


def test_pause_and_resume(command, add_cron, site):
    add_cron(uid="job", name="mycronjob")
    code, out, _ = command(
        "pause", "job", "--until", "2026-10-05T09:05:00", "--reason", "migration"
    )
    assert code == 0 and out == "Cron job paused until 2026-10-05 09:05:00 UTC\n"
    paused = IQueue(site).job("job").paused
    # By who runs it: here the test's user (the script: the shell's login).
    assert (paused["reason"], paused["by"]) == ("migration", "test-user")
    assert IQueue(site).job("job").begin_after == datetime(
        2026, 10, 5, 9, 10, tzinfo=UTC
    )
    code, out, _ = command("resume", "job")
    assert code == 0 and "next run: 2026-10-05 08:10:00" in out
    assert IQueue(site).job("job").paused is None
    assert command("resume", "job")[1] == "Cron job was not paused\n"


def test_pause_with_a_bad_time_names_it_and_changes_nothing(command, add_cron, site):
    add_cron(uid="job", name="mycronjob")
    code, _, error = command("pause", "job", "--until", "2020-01-01T00:00")
    assert code == 2
    assert error.startswith("Invalid paused_until '2020-01-01T00:00:00+00:00'")
    assert IQueue(site).job("job").paused is None


CRONS_XML = """<?xml version="1.0" encoding="UTF-8"?>
<crons>
  <cron uid="news" periodicity="0 8 * * *" />
  <cron uid="fresh" name="myfoojob" periodicity="@hourly" activated="True" />
  <cron uid="old" remove="true" />
</crons>
"""


def test_import_dry_run_prints_the_changes_and_saves_nothing(
    command, add_cron, tmp_path
):
    add_cron(uid="news", name="mycronjob")
    add_cron(uid="old", name="mycronjob")
    path = tmp_path / "crons.xml"
    path.write_text(CRONS_XML)
    code, out, _ = command("import", "--dry-run", str(path))
    assert code == 0
    assert out.splitlines() == [
        "~ news: periodicity '*/10 * * * *' -> '0 8 * * *'",
        "+ fresh: added (myfoojob, @hourly)",
        "- old: removed",
        "Dry run: nothing was saved.",
    ]
    assert list(Crontab.load().crons) == ["news", "old"]
    assert Crontab.load().by_uid("news").periodicity == "*/10 * * * *"

    code, out, _ = command("import", str(path))
    assert code == 0 and out.endswith("3 change(s) saved.\n")
    assert sorted(Crontab.load().crons) == ["fresh", "news"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("<crons><cron", "is not well-formed XML"),
        ('<crons><cron uid="x" name="a" periodicity="0 0 30 2 *"/></crons>', "30 2"),
        ('<crons><cron uid="news" logs_limit="99"/></crons>', "logs_limit '99'"),
    ],
)
def test_import_of_a_bad_file_names_the_problem_and_changes_nothing(
    command, add_cron, tmp_path, body, message
):
    add_cron(uid="news", name="mycronjob")
    path = tmp_path / "crons.xml"
    path.write_text(body)
    code, out, error = command("import", str(path))
    assert code == 2 and out == ""
    assert error.startswith(f"{path}: crons.xml") and message in error
    assert list(Crontab.load().crons) == ["news"]
    assert Crontab.load().by_uid("news").logs_limit == 5


def test_import_of_a_missing_file_names_it(command, tmp_path):
    missing = tmp_path / "nope.xml"
    code, _, error = command("import", str(missing))
    assert code == 2 and error.startswith(f"cannot read {str(missing)!r}")


def test_export_writes_crons_xml_that_imports_back(command, add_cron, tmp_path):
    add_cron(uid="news", name="mycronjob", environ={"list": "members"})
    code, out, _ = command("export")
    assert code == 0 and out.startswith('<?xml version="1.0"')
    assert '<cron uid="news" name="mycronjob"' in out
    path = tmp_path / "crons.xml"
    path.write_text(out)
    assert (
        command("import", str(path))[1]
        == "No changes.\nImported " + str(path) + ": 0 change(s) saved.\n"
    )


def test_status_exit_1_without_a_live_worker_and_0_with_one(command, add_cron, site):
    add_cron(uid="job", name="mycronjob")
    code, out, _ = command("status")
    assert code == 1
    assert "UNHEALTHY" in out and "no worker is alive" in out
    beat(site, "w1", threads=1)
    transaction.commit()
    code, out, _ = command("status")
    assert code == 0 and "workers alive: 1 (w1)" in out
    report = json.loads(command("status", "--json")[1])
    assert report["healthy"] is True and report["workers"] == ["w1"]


def test_status_names_overdue_jobs(command, add_cron, site):
    add_cron(uid="job", name="mycronjob")
    beat(site, "w1", threads=1)
    transaction.commit()
    set_now(datetime(2026, 10, 5, 8, 30, tzinfo=UTC))
    beat(site, "w1", threads=1)
    transaction.commit()
    code, out, _ = command("status")
    assert code == 1
    assert "overdue: job (mycronjob), due 2026-10-05 08:10:00" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("frobnicate",), "argument COMMAND: invalid choice: 'frobnicate'"),
        (("run",), "the following arguments are required: uid"),
        (("list", "--colour"), "unrecognized arguments: --colour"),
    ],
)
def test_bad_arguments_are_one_line_exit_2(command, argv, message):
    code, out, error = command(*argv)
    assert code == 2 and out == "" and error.startswith(message)


def test_acting_as_an_unknown_user_is_refused(command):
    code, _, error = command("--user", "ghost", "list")
    assert code == 2
    assert error == "no user with login 'ghost' in the site or the Zope root"
