"""ICronSettings: a cron's settings defined once, used by every channel."""

from collective.cron.browser.forms import ICronForm
from collective.cron.crontab import SETTINGS
from collective.cron.crontab import Cron
from collective.cron.errors import InvalidCron
from collective.cron.exportimport import ALLOWED
from collective.cron.interfaces import ICron
from collective.cron.settings import NAMES
from collective.cron.settings import ICronSettings
from collective.cron.settings import SettingError
from collective.cron.settings import clean
from zope.i18n import translate
from zope.schema import getFieldNamesInOrder
from zope.schema import getValidationErrors

import pytest
import re


def test_icron_is_the_settings_schema_and_more():
    assert ICron.extends(ICronSettings)
    assert set(NAMES) <= set(ICron.names(all=True))
    assert "misfire" in ICron.names(all=True)
    assert "saved_by" in ICron.names(all=True)


def test_every_channel_covers_every_setting():
    assert set(SETTINGS) == set(NAMES) - {"saved_by"}
    # crons.xml: environ is an element, saved_by is set on save.
    assert set(ALLOWED) == set(NAMES) - {"environ", "saved_by"} | {"remove"}
    form = set(getFieldNamesInOrder(ICronForm))
    assert form == set(NAMES) - {"uid", "environ", "saved_by"} | {"senviron"}


def test_a_cron_validates_against_the_schema():
    cron = Cron(
        name="x", periodicity="@daily", environ={"a": 1}, timezone="Europe/Paris"
    )
    assert getValidationErrors(ICronSettings, cron) == []


@pytest.mark.parametrize(
    "name,value,message",
    [
        ("periodicity", "*/90 * * * *", "Invalid periodicity '*/90 * * * *'"),
        ("timezone", "localtime", "Invalid timezone 'localtime'"),
        ("environ", {"a": float("nan")}, "Invalid environ {'a': nan}"),
        ("name", "../x", "Invalid name '../x'"),
        ("logs_limit", 30, "Invalid logs_limit 30"),
        ("uid", "a b", "Invalid uid 'a b'"),
    ],
)
def test_fields_carry_the_rules(name, value, message):
    """z3c.form (and any zope.schema user) gets the model's rules and messages."""
    field = ICronSettings[name]
    with pytest.raises(SettingError) as info:
        field.validate(value)
    assert translate(info.value.doc()).startswith(message)
    with pytest.raises(InvalidCron, match=message.replace("*", r"\*")):
        clean(name, value)


def test_clean_reads_text_forms():
    assert clean("logs_limit", "7") == 7
    assert clean("activated", "false") is False
    assert clean("environ", '{"a": [1]}') == {"a": [1]}
    assert clean("timezone", "") is None
    with pytest.raises(
        InvalidCron, match="Invalid colour 'red': is not a cron setting"
    ):
        clean("colour", "red")


def test_runner_names_may_look_like_paths(recording):
    """A registered IJobRunner name is not a path: the path rule leaves it be."""
    from collective.cron.crontab import Runner
    from zope.component import getGlobalSiteManager

    gsm = getGlobalSiteManager()
    gsm.registerAdapter(Runner, name="../odd")
    try:
        assert Cron(name="../odd", periodicity="@daily").name == "../odd"
    finally:
        gsm.unregisterAdapter(Runner, name="../odd")
    with pytest.raises(InvalidCron, match="has a '..' segment"):
        Cron(name="../odd", periodicity="@daily")


def test_choice_rules_and_vocabularies_agree():
    """The form offers exactly what the rules accept."""
    from collective.cron.schedule import timezone_names
    from collective.cron.validators import MISFIRE_POLICIES

    assert [t.value for t in ICronSettings["timezone"].vocabulary] == timezone_names()
    assert [t.value for t in ICronSettings["misfire"].vocabulary] == list(
        MISFIRE_POLICIES
    )
    for zone in ("localtime", "posixrules", "Factory"):
        assert zone not in timezone_names()


@pytest.mark.parametrize(
    "name,reason",
    [
        ("a//b", "has an empty segment"),
        ("@@", "has an empty view name after '@@'"),
        ("./x", "has a '.' segment"),
        ("_private/x", "has the segment '_private'"),
        ("x/aq_inner", "has the segment 'aq_inner'"),
        ("++resource++a/b", "has the segment '++resource++a'"),
    ],
)
def test_paths_that_could_leave_the_site(name, reason):
    with pytest.raises(
        InvalidCron, match=re.escape(f"Invalid name {name!r}: {reason}")
    ):
        Cron(name=name, periodicity="@daily")


@pytest.mark.parametrize(
    "name", ["newsletter", "folder/my_script", "folder/script/", "@@purge-old-news"]
)
def test_paths_below_the_site(name):
    assert Cron(name=name, periodicity="@daily").name == name
