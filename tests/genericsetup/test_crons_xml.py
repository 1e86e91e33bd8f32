"""crons.xml: the 2.x GenericSetup scenarios, export, round trip, bad input."""

from collective.cron.crontab import Crontab
from collective.cron.exportimport import CronsXMLError
from collective.cron.interfaces import IExportImporter
from collective.cron.interfaces import IQueue
from collective.cron.registry import RECORD_CRONTAB
from collective.cron.testing import set_now
from datetime import datetime
from lxml import etree
from plone import api
from plone.app.testing import TEST_USER_ID
from plone.app.testing import setRoles
from zope.component import getMultiAdapter

import io
import json
import pytest
import tarfile


CRONS = """<?xml version="1.0"?>
<crons>
<cron uid="foogsuid" name="foo" activated="true"
  periodicity="*/1 * * * *" >
<environ> <![CDATA[ {"foo":"bar"} ]]> </environ>
</cron>
<!-- YOU CAN OMIT ENVIRON & activated-->
<cron uid="foogsuid2" name="foo2" periodicity="*/1 * * * *" />
<cron uid="foogsuid3" name="foo3" periodicity="*/1 * * * *" />
</crons> """

CRONSD = """<?xml version="1.0"?>
<crons>
<cron uid="foogsuid2" name="foo2" remove="true" periodicity="*/1 * * * *" />
<cron uid="foogsuid2" name="foo2changed" periodicity="*/3 * * * *"/>
<cron uid="foogsuid3" remove="true"/>
</crons> """

CRONSE = """<?xml version="1.0"?>
<crons>
<cron uid="foogsuid2" name="foo2editeé" activated="True" periodicity="*/4 * * * *">
<environ><![CDATA[ {"foo":"bar", "miche":"muche"} ]]></environ>
</cron>
</crons> """


def summary():
    """The stored crontab: (uid, name, periodicity, activated, environ, next)."""
    return [
        (c.uid, c.name, c.periodicity, c.activated, c.environ, c.snext)
        for c in Crontab.load().crons.values()
    ]


@pytest.fixture
def exportimport(portal):
    set_now(datetime(2008, 1, 1, 0, 1))
    return getMultiAdapter((portal, Crontab()), IExportImporter)


def test_2x_add_delete_edit_export(portal, exportimport):
    exportimport.do_import(CRONS)
    assert summary() == [
        ("foogsuid", "foo", "*/1 * * * *", True, {"foo": "bar"}, "2008-01-01 00:02:00"),
        ("foogsuid2", "foo2", "*/1 * * * *", False, {}, ""),
        ("foogsuid3", "foo3", "*/1 * * * *", False, {}, ""),
    ]
    # Only the active cron has a job.
    assert [job.cron_uid for job in IQueue(portal).jobs] == ["foogsuid"]

    exportimport.do_import(CRONSD)  # delete and register again, in order
    assert summary() == [
        ("foogsuid", "foo", "*/1 * * * *", True, {"foo": "bar"}, "2008-01-01 00:02:00"),
        ("foogsuid2", "foo2changed", "*/3 * * * *", False, {}, ""),
    ]

    exportimport.do_import(CRONSE)  # edit
    assert summary() == [
        ("foogsuid", "foo", "*/1 * * * *", True, {"foo": "bar"}, "2008-01-01 00:02:00"),
        (
            "foogsuid2",
            "foo2editeé",
            "*/4 * * * *",
            True,
            {"foo": "bar", "miche": "muche"},
            "2008-01-01 00:04:00",
        ),
    ]
    assert [job.cron_uid for job in IQueue(portal).jobs] == ["foogsuid", "foogsuid2"]

    exported = getMultiAdapter((portal, Crontab.load()), IExportImporter).do_export()
    assert exported.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<crons>')
    root = etree.fromstring(exported.encode("utf-8"))
    crons = [(dict(cron.attrib), json.loads(cron.findtext("environ"))) for cron in root]
    assert crons == [
        (
            {
                "uid": "foogsuid",
                "name": "foo",
                "activated": "True",
                "periodicity": "*/1 * * * *",
                "logs_limit": "5",
                "user": "",
                "timezone": "",
                "misfire": "run_once",
            },
            {"foo": "bar"},
        ),
        (
            {
                "uid": "foogsuid2",
                "name": "foo2editeé",
                "activated": "True",
                "periodicity": "*/4 * * * *",
                "logs_limit": "5",
                "user": "",
                "timezone": "",
                "misfire": "run_once",
            },
            {"foo": "bar", "miche": "muche"},
        ),
    ]
    assert "<![CDATA[" in exported


def test_edit_changes_only_given_attributes(portal, exportimport):
    setRoles(portal, TEST_USER_ID, ["Manager"])  # a Manager may pick any user
    exportimport.do_import(
        '<crons><cron uid="a" name="a" periodicity="@daily" activated="true" '
        'user="admin" logs_limit="9" timezone="Europe/Paris" misfire="skip">'
        '<environ><![CDATA[{"k": 1}]]></environ></cron></crons>'
    )
    exportimport.do_import('<crons><cron uid="a" periodicity="@hourly" /></crons>')
    [cron] = Crontab.load().crons.values()
    assert (cron.name, cron.periodicity, cron.activated, cron.environ) == (
        "a",
        "@hourly",
        True,
        {"k": 1},
    )
    assert (cron.user, cron.logs_limit, cron.timezone, cron.misfire) == (
        "admin",
        9,
        "Europe/Paris",
        "skip",
    )
    exportimport.do_import('<crons><cron uid="a" user="" timezone="" /></crons>')
    [cron] = Crontab.load().crons.values()
    assert (cron.user, cron.timezone) == (None, None)


def test_round_trip(portal, exportimport):
    api.user.create(email="bob@example.org", username="bob", password="secret-bob-1")
    exportimport.do_import(CRONS)
    exportimport.do_import(CRONSE)
    exportimport.do_import(
        '<crons><cron uid="tz" name="été" periodicity="0 30 2 * * *" user="bob" '
        'logs_limit="12" timezone="America/New_York" misfire="skip" /></crons>'
    )
    before = [cron.dump(logs=False) for cron in Crontab.load().crons.values()]
    exported = getMultiAdapter((portal, Crontab.load()), IExportImporter).do_export()
    api.portal.set_registry_record(RECORD_CRONTAB, [])
    exportimport.do_import(exported)
    after = [cron.dump(logs=False) for cron in Crontab.load().crons.values()]
    for cron in before + after:
        cron.pop("saved_by")
    assert after == before


def test_logs_are_not_imported(portal, exportimport):
    with pytest.raises(CronsXMLError, match="unknown element <logs>"):
        exportimport.do_import(
            '<crons><cron uid="a" name="a" periodicity="@daily"><logs/></cron></crons>'
        )


STORED = (
    '<crons><cron uid="keep" name="keep" periodicity="@daily" activated="true">'
    '<environ><![CDATA[{"k": 1}]]></environ></cron></crons>'
)


@pytest.mark.parametrize(
    "xml,message",
    [
        ("<crons><cron uid='x'", "crons.xml is not well-formed XML"),
        ("<jobs/>", "the root element must be <crons>, not <jobs>"),
        (
            '<crons><cron uid="x" name="x" periodicity="@daily" colour="red"/></crons>',
            "crons.xml, cron #1 (uid 'x'): unknown attribute(s) colour",
        ),
        (
            '<crons><cron uid="ok" name="ok" periodicity="@daily"/>'
            '<cron uid="x" name="x" periodicity="61 * * * *"/></crons>',
            "crons.xml, cron #2 (uid 'x'): "
            "Invalid periodicity '61 * * * *': bad minute",
        ),
        (
            '<crons><cron uid="x" name="x" periodicity="@daily">'
            "<environ>[1, 2]</environ></cron></crons>",
            "crons.xml, cron #1 (uid 'x'): "
            "Invalid environ '[1, 2]': must be a JSON object",
        ),
        (
            '<crons><cron name="x" periodicity="@daily"/></crons>',
            "crons.xml, cron #1: the uid attribute is missing",
        ),
        (
            '<crons><cron uid="new" periodicity="@daily"/></crons>',
            "crons.xml, cron #1 (uid 'new'): no cron has this uid, so this adds one: "
            "name required",
        ),
        (
            '<crons><cron uid="new" activated="true"/></crons>',
            "name and periodicity required",
        ),
        (
            '<crons><cron uid="keep" activated="sometimes"/></crons>',
            "crons.xml, cron #1 (uid 'keep'): Invalid activated 'sometimes'",
        ),
        (
            '<crons><cron uid="keep" logs_limit="100"/></crons>',
            "Invalid logs_limit '100': must be between 1 and 25",
        ),
        (
            '<crons><cron uid="keep" timezone="Mars/Olympus"/></crons>',
            "Invalid timezone 'Mars/Olympus'",
        ),
        # Bad input found by testing as users would: a named error, never a crash.
        (
            '<crons><cron uid="keep"><environ>{"a": NaN}</environ></cron></crons>',
            "Invalid environ '{\"a\": NaN}': is not valid JSON (NaN is not a "
            "finite number",
        ),
        (
            '<crons><cron uid="keep"><environ>{"a": -Infinity}</environ></cron>'
            "</crons>",
            "-Infinity is not a finite number",
        ),
        (
            '<crons><cron uid="keep"><environ>{"a": '
            + "[" * 10000
            + "]" * 10000
            + "}</environ></cron></crons>",
            "crons.xml, cron #1 (uid 'keep'): Invalid environ '{\"a\": [[[",
        ),
        (
            '<crons><cron uid="keep"><environ>{"a": '
            + "[" * 10000
            + "]" * 10000
            + "}</environ></cron></crons>",
            "nests deeper than 32 levels",
        ),
        (
            f'<crons><cron uid="keep" timezone="{"x" * 256}"/></crons>',
            f"Invalid timezone '{'x' * 256}': unknown time zone",
        ),
        (
            '<crons><cron uid="keep" timezone="posixrules"/></crons>',
            "Invalid timezone 'posixrules': unknown time zone",
        ),
        (
            '<crons><cron uid="keep" timezone="localtime"/></crons>',
            "Invalid timezone 'localtime': unknown time zone",
        ),
        (
            '<crons><cron uid="keep" timezone="right/UTC"/></crons>',
            "Invalid timezone 'right/UTC': unknown time zone",
        ),
        (
            '<crons><cron uid="keep" periodicity="*/90 * * * *"/></crons>',
            "Invalid periodicity '*/90 * * * *': the minute step 90 is larger than "
            "the 60 values of the minute field",
        ),
        (
            '<crons><cron uid="keep" periodicity="0 */25 * * *"/></crons>',
            "Invalid periodicity '0 */25 * * *': the hour step 25 is larger than "
            "the 24 values of the hour field",
        ),
        (
            '<crons><cron uid="keep" user="nosuchuser"/></crons>',
            "crons.xml, cron #1 (uid 'keep'): Invalid user 'nosuchuser': "
            "no user has this login",
        ),
        (
            '<crons><cron uid="a&amp;b=1#frag" name="x" periodicity="@daily"/></crons>',
            "Invalid uid 'a&b=1#frag': may only hold letters, digits",
        ),
        (
            '<crons><cron uid="sl/ash" name="x" periodicity="@daily"/></crons>',
            "Invalid uid 'sl/ash': may only hold letters, digits",
        ),
        (
            '<crons><cron uid="keep" name="../acl_users/users/listUserIds"/></crons>',
            "Invalid name '../acl_users/users/listUserIds': has a '..' segment: "
            "a path must stay below the site",
        ),
        (
            '<crons><cron uid="keep" name="/plone/manage_main"/></crons>',
            "Invalid name '/plone/manage_main': is an absolute path",
        ),
        (
            '<crons><cron uid="keep" name="aq_parent/acl_users/listUserIds"/></crons>',
            "Invalid name 'aq_parent/acl_users/listUserIds': has the segment "
            "'aq_parent', which can lead outside the site",
        ),
    ],
)
def test_bad_input_named_and_nothing_changed(portal, exportimport, xml, message):
    exportimport.do_import(STORED)
    before = api.portal.get_registry_record(RECORD_CRONTAB)
    jobs_before = [(job.cron_uid, job.begin_after) for job in IQueue(portal).jobs]
    with pytest.raises(CronsXMLError) as info:
        exportimport.do_import(xml)
    assert message in str(info.value)
    assert api.portal.get_registry_record(RECORD_CRONTAB) == before
    assert [
        (job.cron_uid, job.begin_after) for job in IQueue(portal).jobs
    ] == jobs_before


def test_profile_with_crons_xml(portal, setup_tool):
    set_now(datetime(2026, 1, 1))
    setup_tool.runAllImportStepsFromProfile("profile-collective.cron:testing")
    crontab = Crontab.load()
    assert [(c.uid, c.name, c.activated) for c in crontab.crons.values()] == [
        ("newsletter", "newsletter", True),
        ("purge", "purge-old-news", False),
    ]
    assert crontab.by_uid("newsletter").timezone == "Europe/Paris"
    assert [job.cron_uid for job in IQueue(portal).jobs] == ["newsletter"]


def test_profiles_without_crons_xml_change_nothing(portal, setup_tool, exportimport):
    exportimport.do_import(STORED)
    before = api.portal.get_registry_record(RECORD_CRONTAB)
    setup_tool.runImportStepFromProfile(
        "profile-collective.cron:default", "collective.cron.setupCrons"
    )
    assert api.portal.get_registry_record(RECORD_CRONTAB) == before


def test_portal_setup_export_contains_crons_xml(portal, setup_tool, exportimport):
    exportimport.do_import(CRONS)
    result = setup_tool.runExportStep("collective.cron.exportCrons")
    with tarfile.open(fileobj=io.BytesIO(result["tarball"])) as tarball:
        body = tarball.extractfile("crons.xml").read().decode("utf-8")
    root = etree.fromstring(body.encode("utf-8"))
    assert [cron.get("uid") for cron in root] == ["foogsuid", "foogsuid2", "foogsuid3"]
    assert "collective.cron.exportCrons" in setup_tool.listExportSteps()
