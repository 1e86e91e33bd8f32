"""The stored texts surveyed once: a run reads one cron, a page its crons, and
what each text says is learnt once per process yet never outlives the text."""

from collective.cron import stored
from collective.cron.crontab import Cron
from collective.cron.crontab import Crontab
from collective.cron.crontab import Runner
from collective.cron.errors import InvalidCron
from collective.cron.registry import RECORD_CRONTAB
from datetime import UTC
from datetime import datetime
from plone.registry.interfaces import IRegistry
from zope.component import getUtility

import json
import pytest
import threading


def write_texts(texts, index=True):
    """Store texts as an earlier build could have: below the record's checks."""
    getUtility(IRegistry).records._values[RECORD_CRONTAB] = list(texts)
    if index:
        # As that build's save, or the upgrade to 1006, did (which surveys).
        Crontab().manager.reindex()


def text(uid, **settings):
    data = Cron(uid=uid, name=f"job-{uid}", periodicity="@daily").dump(logs=False)
    data.update(settings)
    return json.dumps(data)


@pytest.fixture
def counted_loads(monkeypatch):
    """The uids of the stored texts checked against the rules."""
    checked = []
    real = stored.TextFacts.error

    def error(self):
        if self._error is stored._UNKNOWN:
            checked.append(self.uid)
        return real(self)

    monkeypatch.setattr(stored.TextFacts, "error", error)
    return checked


def test_survey_lists_loadable_crons_in_order_and_names_the_broken(portal):
    write_texts(
        [
            text("a"),
            text("steps", periodicity="*/90 * * * *"),
            "not json",
            text("b"),
            text("a", name="second-a"),  # a uid stored twice is shown once
        ]
    )
    survey = Crontab().manager.survey()
    assert survey.loadable() == ["a", "b"]
    steps, unreadable = (str(error) for error in survey.broken())
    assert steps.startswith("Cron steps: Invalid periodicity '*/90 * * * *'")
    assert unreadable.startswith("Cron #3: ")
    # What a full load sets aside, the survey names the same way.
    crontab = Crontab.load(strict=False, logs=False)
    assert [str(e) for e in crontab.broken] == [str(e) for e in survey.broken()]
    assert list(crontab.crons) == survey.loadable()


def test_each_text_is_checked_once_until_it_changes(portal, counted_loads):
    write_texts([text(str(number)) for number in range(20)])
    Crontab().manager.survey().loadable()
    assert sorted(counted_loads, key=int) == [str(n) for n in range(20)]
    counted_loads.clear()

    # One cron saved: the stored list is new, only its text is checked again.
    crontab = Crontab.load(uids=["7"])
    crontab.crons["7"].environ = {"changed": True}
    crontab.save()
    survey = Crontab().manager.survey()
    assert survey.loadable() == [str(n) for n in range(20)]
    assert counted_loads == ["7"]
    # The change is what a page then shows.
    page = Crontab.load(uids=["7"], logs=False)
    assert page.crons["7"].environ == {"changed": True}


def test_facts_of_removed_texts_are_dropped(portal):
    write_texts([text(str(number)) for number in range(30)])
    Crontab().manager.survey()
    crontab = Crontab.load()
    for uid in [str(number) for number in range(10, 30)]:
        del crontab.crons[uid]
    crontab.save()
    Crontab().manager.survey()
    key = stored.site_key()
    assert sorted(facts.uid for facts in stored._facts_by_site[key].values()) == [
        str(number) for number in range(10)
    ]
    # One mapping per site, whatever the registry's state was before.
    assert [other for other in stored._facts_by_site if other[0] == key[0]] == [key]


def test_a_rule_that_depends_on_the_runners_is_checked_again(portal, register_runner):
    # A cron named like an absolute path is refused unless a runner has that
    # name: registering one changes the verdict on the same stored text.
    write_texts([text("odd", name="/odd/name")])
    assert Crontab().manager.survey().loadable() == []

    class OddRunner(Runner):
        def run(self):
            return None

    register_runner(OddRunner, "/odd/name")
    assert Crontab().manager.survey().loadable() == ["odd"]


@pytest.mark.parametrize(
    "change",
    [
        "edit one",
        "add two",
        "edit and add",
        "remove one",
        "reorder",
        "uid moves to a new text",
        "duplicate uid added",
        "a broken text added",
        "a broken text mended",
    ],
)
@pytest.mark.parametrize("asked", [True, False], ids=["page shown", "not shown"])
def test_a_changed_list_is_surveyed_as_if_read_afresh(
    portal, change, asked, monkeypatch
):
    read_afresh = []
    real_read = stored.Survey.read.__func__
    monkeypatch.setattr(
        stored.Survey,
        "read",
        classmethod(lambda cls, *args: read_afresh.append(1) or real_read(cls, *args)),
    )
    texts = [text(f"c{number}") for number in range(12)]
    if change == "a broken text mended":
        texts[6] = text("c6", periodicity="*/90 * * * *")
    write_texts(texts, index=False)
    last = Crontab().manager.survey()  # the last look this thread made
    if asked:
        # As the dashboard's page does: what it shows is then kept.
        last.loadable()
        last.broken()
    changed = list(texts)
    if change == "edit one":
        changed[3] = text("c3", environ={"edited": 1})
    elif change == "add two":
        changed += [text("new1"), text("new2")]
    elif change == "edit and add":
        changed[0] = text("c0", periodicity="*/90 * * * *")  # now breaks a rule
        changed.append(text("new1"))
    elif change == "remove one":
        del changed[5]
    elif change == "reorder":
        changed.reverse()
    elif change == "uid moves to a new text":
        changed[2] = text("other")
        changed.append(text("c2", name="moved"))
    elif change == "duplicate uid added":
        changed.append(text("c4", name="again"))
    elif change == "a broken text added":
        changed.append(text("new1", periodicity="*/90 * * * *"))
    elif change == "a broken text mended":
        changed[6] = text("c6")
    write_texts(changed, index=False)
    read_afresh.clear()
    survey = Crontab().manager.survey()
    # A list as long or longer is patched (up to MAX_CHANGED texts
    # changed); a shorter one is read again.
    assert read_afresh == ([1] if change == "remove one" else [])
    afresh = stored.Survey.read(changed, {})
    assert survey.loadable() == afresh.loadable()
    assert survey.positions == afresh.positions
    assert [str(e) for e in survey.broken()] == [str(e) for e in afresh.broken()]
    assert survey.select(["c2", "c4", "new1"]) == afresh.select(["c2", "c4", "new1"])


@pytest.mark.parametrize(
    "stored_uid, shown",
    [
        ("", None),
        (0, None),
        ([], None),
        (None, None),
        ("  spaced  ", "spaced"),
        (["a"], None),
        ({"k": 1}, None),
    ],
)
def test_odd_uids_are_read_as_the_cron_loads_them(portal, stored_uid, shown):
    odd = json.loads(text("odd"))
    if stored_uid is None:
        del odd["uid"]
    else:
        odd["uid"] = stored_uid
    write_texts([text("a"), json.dumps(odd), text("b")])
    survey = Crontab().manager.survey()
    expected = ["a", shown, "b"] if shown else ["a", "b"]
    assert survey.loadable() == expected
    # A page loads what the survey lists; a full load agrees with it.
    assert list(Crontab.load(uids=expected, logs=False).crons) == expected
    full = Crontab.load(strict=False, logs=False)
    assert list(full.crons) == expected
    assert [str(e) for e in full.broken] == [str(e) for e in survey.broken()]
    if not shown:
        [error] = survey.broken()
        if stored_uid:  # a uid, but not a text
            assert f"Invalid uid {stored_uid!r}: must be a non-empty text" in str(error)
        else:  # loading would make one up
            assert str(error).startswith("Cron #2: Invalid uid None: is missing")


def test_a_text_nested_too_deep_is_set_aside_not_fatal(portal):
    write_texts([text("a"), "[" * 100_000, text("b")])
    survey = Crontab().manager.survey()
    assert survey.loadable() == ["a", "b"]
    assert str(survey.broken()[0]).startswith("Cron #2: Invalid cron")
    assert list(Crontab.load(uids=["b"]).crons) == ["b"]  # a run still loads
    full = Crontab.load(strict=False, logs=False)
    assert list(full.crons) == ["a", "b"]
    assert len(full.broken) == 1


def test_a_canonical_text_loads_as_the_rules_would_make_it(portal):
    cron = Cron(
        uid="full",
        name="job-full",
        periodicity="*/5 * * * *",
        environ={"list": [1, 2.5, None], "nested": {"a": "é"}},
        timezone="Europe/Paris",
        recipients=["ops@example.org"],
        notify="failure",
        retries=2,
        timeout=30,
        title="Full",
    )
    write_texts([cron.to_json(logs=False), text("other")])
    first = Crontab.load(logs=False).crons["full"]
    facts = Crontab().manager.survey().facts[0]
    assert facts.canonical
    ruled = Cron.load(facts.text)
    assert first.dump() == ruled.dump()
    assert first.next_after(datetime(2026, 1, 1, tzinfo=UTC)) == ruled.next_after(
        datetime(2026, 1, 1, tzinfo=UTC)
    )
    # Each load is a cron of its own: changing one changes no other.
    first.environ["list"].append("changed")
    first.recipients.append("more@example.org")
    again = Crontab.load(logs=False).crons["full"]
    assert again.environ == {"list": [1, 2.5, None], "nested": {"a": "é"}}
    assert again.recipients == ["ops@example.org"]
    # Assignments still go through the rules.
    with pytest.raises(InvalidCron, match="Invalid periodicity"):
        again.periodicity = "*/90 * * * *"


def test_a_text_in_another_form_goes_through_the_rules(portal):
    # As 2.x wrote it: other key order, logs inside, newer settings missing.
    legacy = (
        '{"uid": "old", "name": "mycronjob", "user": null, "activated": true, '
        '"periodicity": "*/1 * * * *", "logs_limit": 25, "logs": [{"date": '
        '"2008-01-01 02:04:00", "status": 1, "messages": []}], "environ": {}}'
    )
    write_texts([legacy])
    [cron] = Crontab.load().crons.values()
    assert not Crontab().manager.survey().facts[0].canonical
    assert (cron.misfire, cron.retries, cron.logs_limit) == ("run_once", 0, 25)
    assert cron.slast == "2008-01-01 02:04:00"


def test_a_list_another_thread_changed_in_place_and_stored_back_is_read_again(
    portal,
):
    # Request threads take turns on one ZODB connection, so on one stored
    # list: what another thread stored in it is seen here.
    write_texts([text("a")])
    assert list(Crontab.load().crons) == ["a"]
    registry = getUtility(IRegistry)
    texts = registry[RECORD_CRONTAB]

    def in_another_thread():
        texts.append(text("b"))
        registry[RECORD_CRONTAB] = texts

    other = threading.Thread(target=in_another_thread)
    other.start()
    other.join(timeout=30)
    assert list(Crontab.load().crons) == ["a", "b"]


def test_a_list_changed_in_place_and_stored_back_is_read_again(portal):
    # plone.registry's usual way: take the value, change it, store it back.
    # The record then holds the same list object, with other texts in it.
    write_texts([text("a")])
    assert list(Crontab.load().crons) == ["a"]
    registry = getUtility(IRegistry)
    texts = registry[RECORD_CRONTAB]
    texts.append(text("b"))
    registry[RECORD_CRONTAB] = texts
    assert list(Crontab.load().crons) == ["a", "b"]
    assert Crontab().manager.survey().loadable() == ["a", "b"]
    texts[0] = text("a", name="renamed")
    registry[RECORD_CRONTAB] = texts
    crontab = Crontab.load()
    assert crontab.crons["a"].name == "renamed"
    # Saving applies the change to what is stored, every text kept.
    crontab.crons["b"].title = "B"
    crontab.save()
    assert [json.loads(t)["uid"] for t in registry[RECORD_CRONTAB]] == ["a", "b"]
    assert Crontab.load().crons["b"].title == "B"
