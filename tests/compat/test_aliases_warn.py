"""Every collective.cron 2.x name still works and warns (DeprecationWarning)
with its 3.x spelling.

Module attributes warn the first time a process reads them (zope.deferredimport),
so they are read in a fresh interpreter; methods and properties warn at every
use and are checked here.
"""

from collective.cron.crontab import Cron
from collective.cron.crontab import Crontab
from collective.cron.events import ModifiedCrontabEvent
from datetime import UTC
from datetime import datetime

import json
import pytest
import subprocess
import sys


# (module, 2.x name, the 3.x object it is, text its warning must contain)
ALIASES = [
    ("collective.cron", "MessageFactory", "collective.cron:_", "collective.cron._"),
    (
        "collective.cron.utils",
        "asbool",
        "collective.cron.validators:check_activated",
        "check_activated",
    ),
    (
        "collective.cron.utils",
        "to_utc",
        "collective.cron.clock:as_utc",
        "collective.cron.clock.as_utc",
    ),
    (
        "collective.cron.utils",
        "NoSuchUserError",
        "collective.cron.job:UserMissing",
        "collective.cron.job.UserMissing",
    ),
    (
        "collective.cron.interfaces",
        "ILayer",
        "collective.cron.interfaces:ICollectiveCronLayer",
        "ICollectiveCronLayer",
    ),
    (
        "collective.cron.interfaces",
        "InvalidCron",
        "collective.cron.errors:InvalidCron",
        "collective.cron.errors.InvalidCron",
    ),
    (
        "collective.cron.interfaces",
        "CronFormatError",
        "collective.cron.errors:InvalidPeriodicity",
        "InvalidPeriodicity",
    ),
    ("collective.cron.interfaces", "job_status", None, "collective.cron.status.Status"),
    (
        "collective.cron.adapters.manager",
        "CronManager",
        "collective.cron.manager:CronManager",
        "collective.cron.manager",
    ),
    (
        "collective.cron.adapters.manager",
        "CrontabManager",
        "collective.cron.manager:CrontabManager",
        "collective.cron.manager",
    ),
    (
        "collective.cron.adapters.registry",
        "CrontabRegistryManager",
        "collective.cron.registry:CrontabRegistryManager",
        "collective.cron.registry",
    ),
    (
        "collective.cron.adapters.exportimport",
        "CronsExportImporter",
        "collective.cron.exportimport:CronsExportImporter",
        "collective.cron.exportimport",
    ),
    (
        "collective.cron.testing",
        "SITE_OWNER_NAME",
        "plone.app.testing:SITE_OWNER_NAME",
        "plone.app.testing",
    ),
    (
        "collective.cron.testing",
        "TEST_USER_ID",
        "plone.app.testing:TEST_USER_ID",
        "plone.app.testing",
    ),
    (
        "collective.cron.testing",
        "setRoles",
        "plone.app.testing:setRoles",
        "plone.app.testing",
    ),
    (
        "collective.cron.testing",
        "PLONE_MANAGER_NAME",
        "plone.app.testing:SITE_OWNER_NAME",
        "SITE_OWNER_NAME",
    ),
    (
        "collective.cron.testing",
        "Browser",
        "plone.testing.zope:Browser",
        "plone.testing.zope.Browser",
    ),
]

PROBE = """
import importlib, json, sys, warnings
found = {}
for module, name, target in json.loads(sys.argv[1]):
    owner = importlib.import_module(module)  # its import may warn of other things
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = getattr(owner, name)
    same = None
    if target:
        where, attribute = target.split(":")
        same = value is getattr(importlib.import_module(where), attribute)
    messages = [str(w.message) for w in caught if w.category is DeprecationWarning]
    found[module + "." + name] = {"same": same, "messages": messages}
print(json.dumps(found))
"""


@pytest.fixture(scope="module")
def read_in_fresh_process():
    wanted = [(module, name, target) for module, name, target, _ in ALIASES]
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(wanted)],
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "module,name,target,spelling", ALIASES, ids=[f"{m}.{n}" for m, n, _, _ in ALIASES]
)
def test_module_alias_is_todays_object_and_warns(
    read_in_fresh_process, module, name, target, spelling
):
    found = read_in_fresh_process[f"{module}.{name}"]
    if target is not None:
        assert found["same"] is True
    assert len(found["messages"]) == 1, found
    assert found["messages"][0].startswith(f"{name} is deprecated.")
    assert spelling in found["messages"][0]


# Their warnings are checked above: a name already read in this process
# (by the fake add-on) does not warn again.


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_message_factory_makes_messages():
    from collective.cron import MessageFactory

    message = MessageFactory("x")
    assert str(message) == "x" and message.domain == "collective.cron"


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_job_status_is_the_2x_vocabulary():
    from collective.cron.interfaces import job_status

    assert [(t.value, t.token, t.title) for t in job_status] == [
        (0, "0", "FAILURE"),
        (1, "1", "OK"),
        (2, "2", "WARN"),
        (3, "3", "NOTRUN"),
    ]


@pytest.mark.parametrize(
    "name,spelling,never_run,after_run",
    [
        ("last_status", "cron.last.status", None, 2),
        ("last_date", "cron.last.date", None, datetime(2008, 1, 1, 1, 3, tzinfo=UTC)),
        ("last_messages", "cron.last.messages", [], ["late"]),
        ("slast", "cron.last.sdate", "", "2008-01-01 01:03:00"),
        ("slast_date", "cron.last.sdate", "", "2008-01-01 01:03:00"),
    ],
)
def test_cron_last_accessors_warn(name, spelling, never_run, after_run):
    cron = Cron(name="x", periodicity="@daily")
    with pytest.warns(DeprecationWarning, match=spelling):
        assert getattr(cron, name) == never_run
    cron.log(date=datetime(2008, 1, 1, 1, 3), status=2, messages=["late"])
    with pytest.warns(DeprecationWarning, match=spelling):
        assert getattr(cron, name) == after_run


def test_event_object_is_the_crontab():
    crontab = Crontab()
    event = ModifiedCrontabEvent(crontab)
    with pytest.warns(DeprecationWarning, match="event.crontab"):
        assert event.object is crontab


def test_crontab_load_sdata():
    cron = Cron(name="x", periodicity="@daily")
    with pytest.warns(DeprecationWarning, match=r"Crontab.load\(data=...\)"):
        crontab = Crontab.load(sdata=[cron.dump()])
    assert list(crontab.crons) == [cron.uid]


def test_glue_functions_warn():
    from collective.cron import utils

    when = datetime(2008, 1, 1, 1, 3)
    with pytest.warns(DeprecationWarning, match="site_timezone"):
        assert utils.to_local(when) == when.replace(tzinfo=UTC)


def test_su_plone_warns_and_switches_user(portal):
    from AccessControl import getSecurityManager
    from collective.cron import utils
    from collective.cron.job import UserMissing

    app = portal.getPhysicalRoot()
    with pytest.warns(DeprecationWarning, match="adopt_user"):
        user = utils.su_plone(app, portal, ["nobody", "admin"])
    assert getSecurityManager().getUser().getUserName() == "admin" == user.getUserName()
    with pytest.warns(DeprecationWarning), pytest.raises(UserMissing, match="nobody"):
        utils.su_plone(app, portal, ["nobody"])


def test_run_job_and_register_or_remove_warn(portal):
    from collective.cron.crontab import runJob
    from collective.cron.interfaces import ICronManager
    from zope.component import getMultiAdapter

    crontab = Crontab()
    cron = Cron(name="nothing-by-this-name", periodicity="@daily", crontab=crontab)
    crontab.save()
    with pytest.warns(DeprecationWarning, match=r"register_job\(force=True\)"):
        status, messages, uid, path = runJob(portal, cron)
    assert (status, uid, path) == (3, cron.uid, ("", "plone"))
    manager = getMultiAdapter((portal, cron), ICronManager)
    with pytest.warns(DeprecationWarning, match=r"use synchronize\(\)"):
        assert manager.register_or_remove() == (True, False)
