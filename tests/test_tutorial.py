"""docs/tutorial.md works: its runner, registered by its ZCML, runs on a real
site with the cron the tutorial adds, and its failure sends the alert the
tutorial shows, through the site's MailHost to a real SMTP server.

The code, the ZCML, the cron's settings and the expected mail are read from
the page itself, so the page cannot drift from what the product does.
"""

from collective.cron.crontab import Cron
from collective.cron.crontab import Crontab
from collective.cron.status import Status
from collective.cron.testing import run_due_jobs
from collective.cron.testing import set_now
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from plone import api
from plone.app.testing import TEST_USER_ID
from plone.app.testing import setRoles
from tests.support.instances import wait_for
from tests.support.smtp import site_mail_to_sink
from zope.component import getGlobalSiteManager
from zope.component.hooks import setSite
from zope.configuration import config
from zope.configuration import xmlconfig

import json
import pytest
import re
import sys
import transaction
import types
import zope.component


TUTORIAL = Path(__file__).resolve().parents[1] / "docs" / "tutorial.md"
TEXT = TUTORIAL.read_text()
PROSE = " ".join(TEXT.split())  # the page's words, lines unwrapped
T0 = datetime(2026, 9, 1, 6, 0, 30, tzinfo=UTC)
# The add-on's package; a name of its own, so nothing else imports it.
PACKAGE = "tutorial_my_jobs"


def shown_file(path_end):
    """The code block the tutorial captions with a path ending in `path_end`."""
    blocks = re.findall(
        r"```\{code-block\} \w+\n:caption: (\S+)\n\n(.*?)```", TEXT, re.S
    )
    [code] = [code for caption, code in blocks if caption.endswith(path_end)]
    return code


def shown_text(start):
    """The ```text block that starts with `start`."""
    [block] = [
        b for b in re.findall(r"```text\n(.*?)```", TEXT, re.S) if b.startswith(start)
    ]
    return block


@pytest.fixture
def site(functional_portal):
    setSite(functional_portal)
    setRoles(functional_portal, TEST_USER_ID, ["Manager"])
    # The title of the site `make run` creates (scripts/create_site.py).
    functional_portal.setTitle("collective.cron demo")
    transaction.commit()
    return functional_portal


@pytest.fixture
def smtp(site):
    """Site Setup > Mail as the tutorial fills it in, the port aside."""
    with site_mail_to_sink("cron@example.org", "Cron") as sink:
        yield sink


@pytest.fixture
def tutorial_runner():
    """The tutorial's runners.py as a module of an add-on package, and its
    configure.zcml loaded: the runner registered as the ZCML says."""
    package = types.ModuleType(PACKAGE)
    package.__path__ = []
    package.__file__ = str(TUTORIAL)
    runners = types.ModuleType(f"{PACKAGE}.runners")
    runners.__file__ = str(TUTORIAL)
    exec(compile(shown_file("runners.py"), str(TUTORIAL), "exec"), runners.__dict__)  # noqa: S102
    package.runners = runners
    sys.modules[PACKAGE] = package
    sys.modules[runners.__name__] = runners
    context = config.ConfigurationMachine()
    xmlconfig.registerCommonDirectives(context)
    xmlconfig.file("meta.zcml", zope.component, context=context)
    context.package = package
    zcml = shown_file("configure.zcml")
    xmlconfig.string(zcml, context=context)
    name = re.search(r'<adapter factory="\.runners\.(\w+)" name="([^"]+)"', zcml)
    factory = getattr(runners, name[1])
    yield name[2]
    getGlobalSiteManager().unregisterAdapter(factory, name=name[2])
    del sys.modules[runners.__name__], sys.modules[PACKAGE]


def run_next_minute(site, minutes):
    set_now(T0 + timedelta(minutes=minutes))
    return run_due_jobs(site, commit=True)


def edit(uid, **settings):
    crontab = Crontab.load()
    cron = crontab.by_uid(uid)
    for setting, value in settings.items():
        setattr(cron, setting, value)
    crontab.save()
    transaction.commit()


def test_tutorial_runner_runs_fails_and_mails(site, smtp, tutorial_runner):
    # Step 3: the cron the tutorial adds (its REST call's settings).
    settings = json.loads(re.search(r"-d '(\{.*?\})'", TEXT)[1])
    assert settings["name"] == tutorial_runner
    set_now(T0)
    crontab = Crontab.load()
    Cron(crontab=crontab, **settings)
    crontab.save()
    api.content.create(container=site, type="Document", id="welcome", title="Hi")
    transaction.commit()
    uid = settings["uid"]

    # Step 4: it runs every minute and counts the pages.
    assert run_next_minute(site, 1) == [
        (Status.OK, [f"1 pages in {site.absolute_url()}"], uid, site.getPhysicalPath())
    ]

    # Step 5: the environ and alert settings the tutorial sets.
    environ = json.loads(re.search(r"\*\*Environ\*\*: `(\{.*?\})`", TEXT)[1])
    recipient = re.search(r"\*\*Alert recipients\*\*: `([^`]+)`", TEXT)[1]
    assert "*When a run fails*" in PROSE
    edit(uid, environ=environ, notify="failure", recipients=[recipient])
    [(status, messages, _, _)] = run_next_minute(site, 2)
    failure = shown_text("FAILURE").split("...")[-1].strip()
    assert (status, messages) == (Status.FAILURE, [failure])

    wait_for(lambda: smtp.messages, 10, interval=0.05, message="the alert")
    [(sender, recipients, message)] = smtp.messages
    assert (sender, recipients) == ("cron@example.org", [recipient])
    assert message["From"] == "Cron <cron@example.org>"
    assert message["Subject"] == "[collective.cron demo] cron Count pages: FAILURE"
    assert message["Subject"] in TEXT
    body = message.get_content()
    shown = shown_text("---------- MESSAGE FOLLOWS")
    headers, shown_body = shown.split("...\nA run of this cron failed.", 1)
    expected = ["A run of this cron failed."] + [
        line.replace("uid ...", f"uid {uid}")
        for line in shown_body.splitlines()
        if line.strip()
        and "..." not in line.replace("uid ...", "")
        and "localhost:8080" not in line
        and "MESSAGE" not in line
    ]
    assert len(expected) > 5, expected
    missing = [line for line in expected if line not in body]
    assert missing == [], body
    assert f"Site: collective.cron demo ({site.absolute_url()})" in body

    # A failing cron sends no mail storm: the next failure is quiet.
    run_next_minute(site, 3)
    assert len(smtp.messages) == 1

    # "Choose *When a run fails, and when it recovers* and put the environ
    # back to {}": the next run sends a "recovered" mail.
    assert "*When a run fails, and when it recovers*" in PROSE
    edit(uid, environ={}, notify="failure_recovery")
    [(status, _, _, _)] = run_next_minute(site, 4)
    assert status == Status.OK
    wait_for(lambda: len(smtp.messages) == 2, 10, interval=0.05, message="recovered")
    assert smtp.subjects()[1] == "[collective.cron demo] cron Count pages: recovered"
