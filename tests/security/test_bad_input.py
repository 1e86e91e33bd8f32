"""Bad input gets an error naming the value; nothing is saved; never a 500.

Issue #13, part 2, through every channel: the forms (zope.testbrowser, as a
Site Administrator), @@cron-explain, the REST API over the WSGI server, and
the Python API. crons.xml cases are in tests/genericsetup/test_crons_xml.py.
"""

from collective.cron.crontab import Cron
from collective.cron.crontab import Crontab
from collective.cron.errors import InvalidCron
from tests.security.helpers import PASSWORD
from tests.security.helpers import post
from tests.security.helpers import stored
from tests.security.helpers import token
from tests.support.rest import rest_session
from zExceptions import Forbidden

import json
import pytest
import transaction


DEEP = '{"a": ' + "[" * 10000 + "]" * 10000 + "}"

FORM = {
    "form.widgets.name": "mycronjob",
    "form.widgets.periodicity": "@daily",
    "form.widgets.senviron": "{}",
    "form.widgets.logs_limit": "5",
    "form.widgets.user": "",
    "form.widgets.timezone:list": "--NOVALUE--",
    "form.widgets.timezone-empty-marker": "1",
    "form.widgets.misfire:list": "run_once",
    "form.widgets.misfire-empty-marker": "1",
    "form.widgets.notify:list": "never",
    "form.widgets.notify-empty-marker": "1",
    "form.widgets.activated:list": "selected",
}


def page_text(browser):
    return browser.contents.replace("&#x27;", "'").replace("&quot;", '"')


@pytest.fixture
def siteadmin(browser_as):
    return browser_as("siteadmin")


def submit(browser, portal, page, changes, button):
    data = {**FORM, **changes, button: "Go"}
    data["_authenticator"] = token(browser, portal)
    post(browser, f"{portal.absolute_url()}/{page}", data)


BAD_FORM_VALUES = [
    (
        "form.widgets.timezone:list",
        "Mars/Olympus",
        "Invalid timezone 'Mars/Olympus': unknown time zone",
    ),
    (
        "form.widgets.timezone:list",
        "posixrules",
        "Invalid timezone 'posixrules': unknown time zone",
    ),
    (
        "form.widgets.timezone:list",
        "localtime",
        "Invalid timezone 'localtime': unknown time zone",
    ),
    (
        "form.widgets.timezone:list",
        "right/UTC",
        "Invalid timezone 'right/UTC': unknown time zone",
    ),
    ("form.widgets.misfire:list", "twice", "Invalid misfire 'twice': must be one of"),
    (
        "form.widgets.senviron",
        '{"a": NaN}',
        """Invalid environ '{"a": NaN}': is not valid JSON (NaN is not a finite""",
    ),
    (
        "form.widgets.senviron",
        '{"a": Infinity}',
        "Infinity is not a finite number",
    ),
    ("form.widgets.senviron", DEEP, "nests deeper than 32 levels"),
    (
        "form.widgets.periodicity",
        "*/90 * * * *",
        "Invalid periodicity '*/90 * * * *': the minute step 90 is larger than "
        "the 60 values of the minute field",
    ),
    (
        "form.widgets.periodicity",
        "0 */25 * * *",
        "Invalid periodicity '0 */25 * * *': the hour step 25 is larger than "
        "the 24 values of the hour field",
    ),
    (
        "form.widgets.logs_limit",
        "0",
        "Invalid logs_limit '0': must be between 1 and 25",
    ),
    (
        "form.widgets.logs_limit",
        "99",
        "Invalid logs_limit '99': must be between 1 and 25",
    ),
    (
        "form.widgets.logs_limit",
        "many",
        "Invalid logs_limit 'many': must be a whole number",
    ),
    (
        "form.widgets.user",
        "nosuchuser",
        "Invalid user 'nosuchuser': no user has this login",
    ),
    (
        "form.widgets.notify:list",
        "sometimes",
        "Invalid notify 'sometimes': must be one of never",
    ),
    (
        "form.widgets.recipients",
        "ops@example.org\nnobody",
        "Invalid recipients 'nobody': is not an e-mail address",
    ),
    (
        "form.widgets.alert_after",
        "-5",
        "Invalid alert_after '-5': must be between 1 and 525600 minutes",
    ),
]


@pytest.mark.parametrize(
    "field,value,message", BAD_FORM_VALUES, ids=[v[1][:20] for v in BAD_FORM_VALUES]
)
def test_add_form_refuses_and_names(
    siteadmin, functional_portal, field, value, message
):
    submit(
        siteadmin, functional_portal, "@@cron-add", {field: value}, "form.buttons.add"
    )
    assert "A new cron was added" not in siteadmin.contents
    assert "There were some errors" in siteadmin.contents
    assert message in page_text(siteadmin)
    assert stored()["crons"] == {}


@pytest.mark.parametrize(
    "field,value,message", BAD_FORM_VALUES, ids=[v[1][:20] for v in BAD_FORM_VALUES]
)
def test_edit_form_refuses_and_keeps_the_cron(
    siteadmin, functional_portal, field, value, message
):
    transaction.begin()
    crontab = Crontab.load()
    Cron(
        uid="paris",
        name="mycronjob",
        periodicity="@daily",
        timezone="Europe/Paris",
        crontab=crontab,
    )
    crontab.save()
    transaction.commit()
    before = stored()
    submit(
        siteadmin,
        functional_portal,
        "@@cron-edit?uid=paris",
        {"form.widgets.timezone:list": "Europe/Paris", field: value},
        "form.buttons.apply",
    )
    assert "was changed" not in siteadmin.contents
    assert message in page_text(siteadmin)
    assert stored() == before
    assert Crontab.load().by_uid("paris").timezone == "Europe/Paris"


def test_unknown_time_zone_does_not_reset_the_stored_one(siteadmin, functional_portal):
    """The 2.x bug: Mars/Olympus was dropped, and the stored zone reset."""
    transaction.begin()
    crontab = Crontab.load()
    Cron(
        uid="paris",
        name="x",
        periodicity="@daily",
        timezone="Europe/Paris",
        crontab=crontab,
    )
    crontab.save()
    transaction.commit()
    submit(
        siteadmin,
        functional_portal,
        "@@cron-edit?uid=paris",
        {"form.widgets.name": "x", "form.widgets.timezone:list": "Mars/Olympus"},
        "form.buttons.apply",
    )
    assert "Invalid timezone 'Mars/Olympus'" in page_text(siteadmin)
    transaction.begin()
    assert Crontab.load().by_uid("paris").timezone == "Europe/Paris"


@pytest.mark.parametrize(
    "page,button",
    [
        ("@@cron-add", "form.buttons.add"),
        ("@@cron-edit?uid=paris", "form.buttons.apply"),
    ],
)
def test_form_without_csrf_token_is_refused(
    browser_as, functional_portal, page, button
):
    transaction.begin()
    crontab = Crontab.load()
    Cron(uid="paris", name="x", periodicity="@daily", crontab=crontab)
    crontab.save()
    transaction.commit()
    before = stored()
    browser = browser_as("siteadmin")
    with pytest.raises(Forbidden):
        post(
            browser,
            f"{functional_portal.absolute_url()}/{page}",
            {**FORM, "form.widgets.name": "changed", button: "Go"},
        )
    assert stored() == before

    # What a user sees: a 403 page, no "added"/"changed" message.
    browser = browser_as("siteadmin", handle_errors=True)
    browser.raiseHttpErrors = False
    post(
        browser,
        f"{functional_portal.absolute_url()}/{page}",
        {**FORM, "form.widgets.name": "changed", button: "Go"},
    )
    assert browser.headers["status"].startswith("403")
    body = browser.contents
    body = body.decode("utf-8") if isinstance(body, bytes) else body
    assert "Forbidden" in body
    assert "was added" not in body
    assert "was changed" not in body
    assert stored() == before


class TestExplain:
    def explain(self, browser, portal, query):
        browser.open(f"{portal.absolute_url()}/@@cron-explain?{query}")
        assert browser.headers["status"].startswith("200")
        return json.loads(browser.contents)

    @pytest.mark.parametrize(
        "query,message",
        [
            (
                "periodicity=@daily&timezone=" + "x" * 256,
                f"Invalid timezone '{'x' * 256}': unknown time zone",
            ),
            (
                "periodicity=@daily&timezone:list=UTC&timezone:list=x",
                "Invalid timezone ['UTC', 'x']: must be one IANA time zone name",
            ),
            (
                "periodicity=@daily&timezone=posixrules",
                "Invalid timezone 'posixrules': unknown time zone",
            ),
            (
                "periodicity=@daily&timezone=right/UTC",
                "Invalid timezone 'right/UTC': unknown time zone",
            ),
            (
                "periodicity=*/90 * * * *",
                "Invalid periodicity '*/90 * * * *': the minute step 90",
            ),
            (
                "periodicity:list=a&periodicity:list=b",
                "Invalid periodicity ['a', 'b']: must be a cron expression",
            ),
        ],
    )
    def test_bad_values_named(self, siteadmin, functional_portal, query, message):
        data = self.explain(siteadmin, functional_portal, query)
        assert data["ok"] is False
        assert data["error"].startswith(message)

    def test_good_values_explained(self, siteadmin, functional_portal):
        data = self.explain(
            siteadmin,
            functional_portal,
            "periodicity=0 */12 * * *&timezone=Europe/Paris",
        )
        assert data["ok"] is True
        assert data["timezone"] == "Europe/Paris"


class TestPythonAPI:
    @pytest.mark.parametrize(
        "settings,message",
        [
            ({"environ": {"a": float("nan")}}, "Invalid environ {'a': nan}: holds nan"),
            ({"environ": {"a": [float("inf")]}}, "holds inf, which is not a finite"),
            ({"timezone": "posixrules"}, "Invalid timezone 'posixrules'"),
            ({"timezone": "x" * 256}, "unknown time zone"),
            ({"uid": "a&b=1#frag"}, "Invalid uid 'a&b=1#frag': may only hold"),
            ({"uid": "sl/ash"}, "Invalid uid 'sl/ash': may only hold"),
            ({"uid": ".."}, "Invalid uid '..': may only hold"),
            ({"name": "../x"}, "Invalid name '../x': has a '..' segment"),
            ({"periodicity": "*/61 * * * * *"}, "the second step 61 is larger"),
            ({"periodicity": "0 0 */32 * *"}, "the day-of-month step 32 is larger"),
            ({"periodicity": "0 0 * */13 *"}, "the month step 13 is larger"),
            ({"periodicity": "0 0 * * */8"}, "the day-of-week step 8 is larger"),
            ({"logs_limit": 0}, "Invalid logs_limit 0: must be between 1 and 25"),
        ],
    )
    def test_refused_and_named(self, settings, message):
        values = {"name": "x", "periodicity": "@daily", **settings}
        with pytest.raises(InvalidCron) as info:
            Cron(**values)
        assert str(info.value).startswith(message) or message in str(info.value)

    def test_deep_environ_refused_without_recursion_error(self):
        deep = {}
        for _ in range(10000):
            deep = {"a": deep}
        with pytest.raises(InvalidCron, match="nests deeper than 32 levels"):
            Cron(name="x", periodicity="@daily", environ=deep)

    def test_environ_changed_in_place_is_refused_on_save(self, portal):
        crontab = Crontab.load()
        cron = Cron(uid="nan", name="x", periodicity="@daily", crontab=crontab)
        cron.environ["a"] = float("nan")
        with pytest.raises(InvalidCron, match="Cron nan: Invalid environ"):
            crontab.save()
        assert Crontab.load().crons == {}

    @pytest.mark.parametrize(
        "uid",
        ["0123456789abcdef0123456789abcdef", "1b4e28ba-2fa1-11d2-883f-0016d3cca427"],
    )
    def test_2x_uids_stay_valid(self, uid):
        assert Cron(uid=uid, name="x", periodicity="@daily").uid == uid

    def test_steps_within_range_are_kept(self):
        for expression in ("*/60 * * * *", "0 */24 * * *", "*/59 */23 */31 */12 */7"):
            assert Cron(name="x", periodicity=expression).periodicity == expression


def test_rest_api_answers_valid_json_as_site_administrator(
    functional_portal, stored_cron
):
    session = rest_session(functional_portal, ("siteadmin", PASSWORD))
    response = session.get("@crons")
    session.close()
    assert response.status_code == 200
    json.loads(response.text, parse_constant=pytest.fail)  # no NaN/Infinity
    assert [item["uid"] for item in response.json()["items"]] == ["boss"]


def test_uids_in_links_and_redirects(siteadmin, functional_portal):
    """2.x uids (uuid4 text with dashes) stay valid in links and redirects;
    uids are checked (see TestPythonAPI) and URL-encoded in links."""
    uid = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
    transaction.begin()
    crontab = Crontab.load()
    Cron(uid=uid, name="mycronjob", periodicity="@daily", crontab=crontab)
    crontab.save()
    transaction.commit()
    siteadmin.open(f"{functional_portal.absolute_url()}/@@cron-settings")
    siteadmin.getLink("mycronjob").click()
    assert siteadmin.url.endswith(f"/@@cron?uid={uid}")
    siteadmin.getLink(id="edit-cron").click()
    assert siteadmin.url.endswith(f"/@@cron-edit?uid={uid}")
    siteadmin.getControl(name="form.widgets.periodicity").value = "@hourly"
    siteadmin.getControl("Apply").click()
    assert siteadmin.url.endswith(f"/@@cron?uid={uid}")
    assert f"Cron {uid}/mycronjob was changed" in siteadmin.contents
