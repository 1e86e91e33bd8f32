"""The Cron and Log model: settings, validation, logs, next run, JSON form."""

from collective.cron.crontab import Cron
from collective.cron.crontab import Crontab
from collective.cron.crontab import Log
from collective.cron.crontab import NoSuchCron
from collective.cron.crontab import Runner
from collective.cron.errors import InvalidCron
from collective.cron.interfaces import IJobRunner
from collective.cron.status import Status
from collective.cron.testing import set_now
from datetime import UTC
from datetime import datetime
from zope.component import getGlobalSiteManager
from zope.component import queryMultiAdapter

import json
import pytest


def make_cron(**settings):
    values = {"name": "mycronjob", "periodicity": "*/1 * * * *"}
    values.update(settings)
    return Cron(**values)


class TestCreate:
    def test_defaults(self):
        cron = make_cron()
        assert cron.activated is True
        assert cron.logs_limit == 5
        assert cron.environ == {}
        assert cron.user is None
        assert cron.timezone is None
        assert cron.logs == []
        assert len(cron.uid) == 32

    def test_passing_crontab_adds_it_there(self):
        crontab = Crontab()
        cron = make_cron(crontab=crontab)
        assert crontab.crons[cron.uid] is cron
        assert cron.crontab is crontab

    def test_repr_like_2x(self):
        set_now(datetime(2008, 1, 1, 1, 3))
        cron = make_cron(uid="abc", environ={"foo": "bar"})
        assert (
            repr(cron) == "cron: mycronjob/abc [ON:2008-01-01 01:04:00] {'foo': 'bar'}"
        )
        cron.log(status=Status.OK)
        cron.activated = False
        assert repr(cron) == "cron: mycronjob/abc [OFF] (1 logs) {'foo': 'bar'}"
        cron.environ = {}
        assert repr(cron) == "cron: mycronjob/abc [OFF] (1 logs)"


class TestValidation:
    @pytest.mark.parametrize(
        "setting,value,message",
        [
            ("name", "", "Invalid name '': must not be empty"),
            ("name", "   ", "Invalid name '   ': must not be empty"),
            (
                "periodicity",
                "0 0 30 2 *",
                "Invalid periodicity '0 0 30 2 *': bad day-of-month",
            ),
            ("periodicity", "@reboot", "Invalid periodicity '@reboot': unknown macro"),
            ("environ", "[1, 2]", "Invalid environ '[1, 2]': must be a JSON object"),
            ("environ", "{foo", "Invalid environ '{foo': is not valid JSON"),
            ("environ", ["a"], "Invalid environ ['a']: must be a JSON object"),
            ("logs_limit", 0, "Invalid logs_limit 0: must be between 1 and 25"),
            ("logs_limit", 26, "Invalid logs_limit 26: must be between 1 and 25"),
            ("logs_limit", "many", "Invalid logs_limit 'many': must be a whole number"),
            (
                "timezone",
                "Mars/Olympus",
                "Invalid timezone 'Mars/Olympus': unknown time zone",
            ),
            ("activated", "maybe", "Invalid activated 'maybe': must be true or false"),
        ],
    )
    def test_bad_value_refused_and_named(self, setting, value, message):
        with pytest.raises(InvalidCron) as info:
            make_cron(**{setting: value})
        assert str(info.value).startswith(message)
        assert info.value.field == setting

    def test_assignment_refused_and_value_kept(self):
        cron = make_cron(periodicity="0 8 * * *")
        with pytest.raises(InvalidCron, match="'61 8 \\* \\* \\*'"):
            cron.periodicity = "61 8 * * *"
        assert cron.periodicity == "0 8 * * *"
        with pytest.raises(InvalidCron):
            cron.logs_limit = 99
        assert cron.logs_limit == 5

    def test_environ_from_json_text(self):
        assert make_cron(environ='{"foo": "bar"}').environ == {"foo": "bar"}

    def test_environ_that_cannot_be_stored_refused_on_save(self):
        cron = make_cron(uid="u1", environ={"a": 1})
        cron.environ["when"] = datetime(2020, 1, 1)  # mutated in place
        with pytest.raises(InvalidCron, match="Cron u1: Invalid environ"):
            cron.to_json()


class TestLogs:
    def test_newest_first_and_cut_to_limit(self):
        cron = make_cron(logs_limit=3)
        for minute in range(5):
            cron.log(date=datetime(2020, 1, 1, 0, minute), status=Status.OK)
        assert [log.date.minute for log in cron.logs] == [4, 3, 2]
        assert cron.last.date.minute == 4

    def test_lowering_limit_cuts_logs(self):
        cron = make_cron(logs_limit=5)
        for _ in range(5):
            cron.log()
        cron.logs_limit = 2
        assert len(cron.logs) == 2

    def test_log_repr_and_dump_2x_format(self):
        log = Log(date=datetime(2008, 1, 1, 2, 4), status=Status.OK)
        assert repr(log) == "log: 2008-01-01 02:04:00/OK"
        assert log.dump() == {
            "date": "2008-01-01 02:04:00",
            "status": 1,
            "messages": [],
        }
        warn = Log(date=datetime(2008, 1, 1), status=Status.WARN, messages="careful")
        assert repr(warn) == "log: 2008-01-01 00:00:00/WARN+"
        assert warn.messages == ["careful"]

    def test_log_details_round_trip(self):
        log = Log(
            status=Status.FAILURE, messages=["boom"], duration=1.5, traceback="tb"
        )
        again = Log.load(json.loads(json.dumps(log.dump())))
        assert again == log
        assert again.details == {"duration": 1.5, "traceback": "tb"}

    def test_malformed_logs_skipped(self):
        cron = make_cron(
            logs=[
                {"date": "not a date", "status": 1},
                {"date": "2008-01-01 00:00:00", "status": 1, "messages": []},
                "junk",
            ]
        )
        assert [log.sdate for log in cron.logs] == ["2008-01-01 00:00:00"]


class TestNext:
    def test_next_strictly_after_now_in_utc(self):
        set_now(datetime(2008, 1, 1, 1, 3))
        cron = make_cron(periodicity="*/1 * * * *")
        assert cron.next == datetime(2008, 1, 1, 1, 4, tzinfo=UTC)
        assert cron.snext == "2008-01-01 01:04:00"
        set_now(datetime(2008, 1, 1, 1, 4))
        assert cron.next == datetime(2008, 1, 1, 1, 5, tzinfo=UTC)

    def test_next_none_when_inactive(self):
        cron = make_cron(activated=False)
        assert cron.next is None
        assert cron.snext == ""

    def test_cron_timezone(self):
        set_now(datetime(2026, 7, 1, 0, 0))
        cron = make_cron(periodicity="0 8 * * *", timezone="America/New_York")
        assert cron.next == datetime(2026, 7, 1, 12, 0, tzinfo=UTC)  # 08:00 EDT

    def test_without_site_zone_is_utc(self):
        set_now(datetime(2026, 7, 1, 0, 0))
        assert make_cron(periodicity="0 8 * * *").next == datetime(
            2026, 7, 1, 8, tzinfo=UTC
        )


class TestDumpLoad:
    def test_round_trip_and_similar(self):
        crontab = Crontab()
        cron = make_cron(
            environ={"foo": "bar"}, user="bob", timezone="Europe/Paris", crontab=crontab
        )
        cron.log(status=Status.WARN, messages=["hi"])
        copy = Cron.load(cron.dump())
        assert copy.similar(cron)
        assert copy.dump() == cron.dump()
        assert copy.crontab is None

    def test_similar_ignores_logs_but_not_settings(self):
        cron = make_cron()
        other = Cron.load(cron.dump())
        other.log()
        assert other.similar(cron)
        other.environ = {"x": 1}
        assert not other.similar(cron)

    def test_load_from_json_text(self):
        cron = Cron.load(
            '{"uid": "u", "name": "n", "periodicity": "@hourly", "activated": true}'
        )
        assert (cron.uid, cron.name, cron.periodicity, cron.activated) == (
            "u",
            "n",
            "@hourly",
            True,
        )

    def test_load_bad_cron_names_it(self):
        with pytest.raises(InvalidCron, match="Cron u9: Invalid periodicity 'nope'"):
            Cron.load({"uid": "u9", "name": "n", "periodicity": "nope"})


class TestCrontab:
    def test_lookups(self):
        crontab = Crontab()
        first = make_cron(name="a", crontab=crontab)
        second = make_cron(name="b", activated=False, crontab=crontab)
        third = make_cron(name="a", periodicity="@daily", crontab=crontab)
        assert list(crontab.crons) == [first.uid, second.uid, third.uid]
        assert crontab.by_name("a") == [first, third]
        assert crontab.by(name="a", periodicity="@daily") == [third]
        assert crontab.by(activated=False) == [second]
        assert crontab.by_uid(second.uid) is second

    def test_unknown_uid(self):
        with pytest.raises(NoSuchCron, match="No cron with uid 'nope'"):
            Crontab().by_uid("nope")

    def test_unknown_filter_named(self):
        with pytest.raises(ValueError, match="colour"):
            Crontab().by(colour="red")

    def test_load_from_list_names_bad_position(self):
        good = make_cron().dump()
        with pytest.raises(InvalidCron, match="Cron #2: Invalid name"):
            Crontab.load([good, {"periodicity": "@daily", "name": ""}])


class MyRunner(Runner):
    def run(self):
        return self.cron.environ


def test_runner_registers_without_more_arguments(portal):
    gsm = getGlobalSiteManager()
    gsm.registerAdapter(MyRunner, name="myrunner")
    try:
        cron = make_cron(name="myrunner", environ={"k": "v"})
        runner = queryMultiAdapter((portal, cron), IJobRunner, name="myrunner")
        assert isinstance(runner, MyRunner)
        assert runner.context is portal
        assert runner.run() == {"k": "v"}
    finally:
        gsm.unregisterAdapter(MyRunner, name="myrunner")


def test_runner_must_implement_run(portal):
    with pytest.raises(NotImplementedError, match="Runner.run"):
        Runner(portal, make_cron()).run()
