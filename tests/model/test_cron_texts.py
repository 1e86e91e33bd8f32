"""Each cron's text indexed by uid (collective.cron.crontexts): a run reads
its own cron, never the crontab's whole registry record, and the index
follows every way the record is written."""

from collective.cron.crontab import Cron
from collective.cron.crontab import Crontab
from collective.cron.crontab import Runner
from collective.cron.crontexts import ANNOTATION_KEY
from collective.cron.crontexts import CronTexts
from collective.cron.errors import InvalidCron
from collective.cron.interfaces import ICronManager
from collective.cron.interfaces import IRegistryCrontab
from collective.cron.registry import RECORD_ACTIVATED
from collective.cron.registry import RECORD_CRONTAB
from collective.cron.registry import get_registry
from collective.cron.setuphandlers import post_install
from plone import api
from plone.app.testing import TEST_USER_ID
from plone.app.testing import setRoles
from tests.support.instances import wait_for
from ZODB.POSException import ConflictError
from zope.annotation.interfaces import IAnnotations
from zope.component import getMultiAdapter
from zope.component.hooks import setSite

import json
import pytest
import threading
import transaction


def add_crons(*names):
    crontab = Crontab.load()
    crons = [Cron(name=name, periodicity="@daily", crontab=crontab) for name in names]
    crontab.save()
    return [cron.uid for cron in crons]


def as_loaded(uid):
    """(settings, global switch) of one cron loaded through the index."""
    crontab = Crontab.load(uids=[uid], logs=False)
    cron = crontab.crons.get(uid)
    return (cron.dump(logs=False) if cron else None), crontab.activated


def as_stored(uid):
    """The same, read from the registry record (a load of every cron)."""
    crontab = Crontab.load(logs=False)
    cron = crontab.crons.get(uid)
    return (cron.dump(logs=False) if cron else None), crontab.activated


def indexed(portal):
    return dict(CronTexts(portal)._storage().texts)


def record_texts():
    return api.portal.get_registry_record(RECORD_CRONTAB)


def test_the_index_follows_saves_through_the_api(portal):
    first, second = add_crons("first", "second")
    crontab = Crontab.load()
    crontab.by_uid(first).periodicity = "0 3 * * *"
    del crontab.crons[second]
    third = Cron(name="third", periodicity="@hourly", crontab=crontab)
    crontab.save()
    assert as_loaded(first)[0]["periodicity"] == "0 3 * * *"
    assert as_loaded(second) == (None, True)
    assert as_loaded(third.uid) == as_stored(third.uid)
    # One cron saved alone (the dashboard's form, @crons PATCH).
    cron = Crontab.load(uids=[third.uid]).by_uid(third.uid)
    cron.environ = {"to": "reader@example.org"}
    cron.save()
    assert as_loaded(third.uid)[0]["environ"] == {"to": "reader@example.org"}
    # What the index holds is exactly the record's texts.
    assert indexed(portal) == {uid_of(text): (text,) for text in record_texts()}


def uid_of(text):
    return json.loads(text)["uid"]


def test_crons_named_together_load_from_the_index_in_the_order_asked(
    portal, monkeypatch
):
    first, second, third = add_crons("first", "second", "third")
    expected = {uid: as_stored(uid)[0] for uid in (first, third)}

    def no_survey(*args):
        raise AssertionError("the crontab's whole record was read")

    # A page of crons (the dashboard's, @crons, @@cron-runs, the overdue
    # check): its crons' texts, not the 100,000 others'.
    monkeypatch.setattr("collective.cron.registry.survey", no_survey)
    crontab = Crontab.load(uids=[third, "not-a-cron", first, third], logs=False)
    assert list(crontab.crons) == [third, first]
    assert {uid: cron.dump(logs=False) for uid, cron in crontab.crons.items()} == (
        expected
    )


def test_named_crons_load_in_the_order_asked_from_the_record_too(portal):
    first, second, third = add_crons("first", "second", "third")
    del IAnnotations(portal)[ANNOTATION_KEY]  # a site not upgraded to 1006
    crontab = Crontab.load(uids=[third, "not-a-cron", first, third], logs=False)
    assert list(crontab.crons) == [third, first]


def test_the_global_switch_is_read_with_the_cron(portal):
    [uid] = add_crons("one")
    crontab = Crontab.load()
    crontab.activated = False
    crontab.save()
    assert as_loaded(uid)[1] is False
    # Written directly, as 2.x code or @registry does.
    api.portal.set_registry_record(RECORD_ACTIVATED, True)
    assert as_loaded(uid)[1] is True


def test_a_direct_write_of_the_record_rebuilds_the_index(portal):
    kept, dropped = add_crons("kept", "dropped")
    texts = [text for text in record_texts() if uid_of(text) != dropped]
    edited = json.loads(texts[0])
    edited["periodicity"] = "*/5 * * * *"
    texts[0] = json.dumps(edited)
    texts.append(
        json.dumps({"uid": "handmade", "name": "handmade", "periodicity": "@weekly"})
    )
    # registry.xml, @registry and the ZMI store the record this way.
    api.portal.set_registry_record(RECORD_CRONTAB, texts)
    assert as_loaded(kept)[0]["periodicity"] == "*/5 * * * *"
    assert as_loaded(dropped) == (None, True)
    assert as_loaded("handmade") == as_stored("handmade")
    assert as_loaded("handmade")[0]["name"] == "handmade"


def test_a_uid_stored_twice_loads_as_from_the_record(portal):
    [uid] = add_crons("twice")
    [text] = record_texts()
    other = json.loads(text)
    other["periodicity"] = "@monthly"
    api.portal.set_registry_record(RECORD_CRONTAB, [text, json.dumps(other)])
    assert CronTexts(portal).texts_of(uid) == (text, json.dumps(other))
    assert as_loaded(uid) == as_stored(uid)


def test_a_stored_text_that_breaks_a_rule_is_named_by_its_uid(portal):
    bad = json.dumps({"uid": "bad-one", "name": "bad", "periodicity": "61 * * * *"})
    # Stored before the rule existed (the record's checks refuse it today),
    # indexed as that build's save, or the upgrade to 1006, did.
    get_registry().records._values[RECORD_CRONTAB] = [bad]
    Crontab().manager.reindex()
    with pytest.raises(InvalidCron) as raised:
        Crontab.load(uids=["bad-one"])
    assert raised.value.uid == "bad-one"
    assert "61 * * * *" in str(raised.value)
    crontab = Crontab.load(uids=["bad-one"], strict=False)
    assert crontab.crons == {}
    assert [error.uid for error in crontab.broken] == ["bad-one"]


def test_a_site_without_the_index_loads_from_the_record_until_upgraded(
    portal, setup_tool
):
    [uid] = add_crons("older")
    del IAnnotations(portal)[ANNOTATION_KEY]
    assert as_loaded(uid)[0]["name"] == "older"
    # Saves before the upgrade leave the index unbuilt, and lose nothing.
    cron = Crontab.load(uids=[uid]).by_uid(uid)
    cron.periodicity = "@hourly"
    cron.save()
    assert ANNOTATION_KEY not in IAnnotations(portal)
    setup_tool.setLastVersionForProfile("collective.cron:default", "1005")
    setup_tool.upgradeProfile("collective.cron:default")
    assert setup_tool.getLastVersionForProfile("collective.cron:default") == ("1006",)
    assert indexed(portal) == {uid: tuple(record_texts())}
    assert as_loaded(uid)[0]["periodicity"] == "@hourly"


def test_install_indexes_crons_already_in_the_registry(portal):
    # A site whose records hold crons and no index (2.x data, an instance
    # that ran an older build) gets it at install.
    [uid] = add_crons("survivor")
    del IAnnotations(portal)[ANNOTATION_KEY]
    post_install(None)
    assert indexed(portal) == {uid: tuple(record_texts())}


def test_uninstall_drops_the_index_and_reinstall_builds_it(
    portal, installer, package_name
):
    add_crons("dropped")
    installer.uninstall_product(package_name)
    assert ANNOTATION_KEY not in IAnnotations(portal)
    installer.install_product(package_name)
    assert CronTexts(portal).built
    assert indexed(portal) == {}
    assert record_texts() == []


def test_records_registered_again_rebuild_the_index(portal):
    [uid] = add_crons("reset")
    registry = get_registry()
    # What a registry.xml that removes and registers the records does.
    del registry.records[RECORD_CRONTAB]
    assert not CronTexts(portal).built
    registry.registerInterface(IRegistryCrontab)
    assert record_texts() == []
    assert as_loaded(uid) == (None, True)
    assert indexed(portal) == {}


@pytest.mark.parametrize("first", ["the build", "the save"])
def test_a_build_and_a_save_that_overlap_never_both_commit(site, db, first):
    """The upgrade builds the index while an admin saves a cron on a site
    without it: the one that commits second conflicts (Zope retries it)."""
    [uid] = add_crons("raced")
    del IAnnotations(site)[ANNOTATION_KEY]
    transaction.commit()
    other = transaction.TransactionManager()
    connection = db.open(transaction_manager=other)
    try:
        path = site.getPhysicalPath()
        built_elsewhere = connection.root()["Application"].unrestrictedTraverse(path)
        transaction.begin()
        cron = Crontab.load(uids=[uid]).by_uid(uid)
        cron.periodicity = "@hourly"
        cron.save()
        other.begin()
        setSite(built_elsewhere)
        Crontab().manager.reindex()
        setSite(site)
        second = other.commit if first == "the save" else transaction.commit
        (transaction.commit if first == "the save" else other.commit)()
        with pytest.raises(ConflictError):
            second()
    finally:
        other.abort()
        transaction.abort()
        connection.close()
        setSite(site)
    # Retried, the second sees the first's work.
    transaction.begin()
    if first == "the build":
        cron = Crontab.load(uids=[uid]).by_uid(uid)
        cron.periodicity = "@hourly"
        cron.save()
    else:
        Crontab().manager.reindex()
    transaction.commit()
    assert as_loaded(uid) == as_stored(uid)
    assert as_loaded(uid)[0]["periodicity"] == "@hourly"


class Counting(Runner):
    def run(self):
        return None


@pytest.fixture
def site(functional_portal):
    setSite(functional_portal)
    setRoles(functional_portal, TEST_USER_ID, ["Manager"])
    return functional_portal


def crontab_record_bucket(site):
    """The oid of the registry's BTree bucket that holds the crontab list:
    the object a connection reads again, whole, after any edit."""
    values = get_registry().records._values
    bucket = values._firstbucket
    while bucket is not None and RECORD_CRONTAB not in bucket:
        bucket = bucket._next
    assert bucket is not None and bucket._p_oid is not None
    return bucket._p_oid


def test_a_worker_runs_a_cron_after_an_edit_without_reading_the_crontab_record(
    site, db, register_runner, start_dispatcher, monkeypatch
):
    register_runner(Counting, "counting")
    crontab = Crontab.load()
    crons = [
        Cron(name="counting", periodicity="@yearly", crontab=crontab) for _ in range(2)
    ]
    # Enough others that the record is the big object of a large site.
    for number in range(200):
        Cron(
            name="counting",
            periodicity="@yearly",
            environ={"n": number},
            crontab=crontab,
        )
    crontab.save()
    transaction.commit()
    bucket = crontab_record_bucket(site)
    start_dispatcher()

    def logs_of(cron):
        transaction.begin()
        return len(Crontab.load(uids=[cron.uid]).by_uid(cron.uid).logs)

    def run_now(cron):
        before = logs_of(cron)
        getMultiAdapter((site, cron), ICronManager).register_job(force=True)
        transaction.commit()
        wait_for(lambda: logs_of(cron) > before, 30, interval=0.05, message="the run")

    # The worker's first run (its start reads the whole crontab anyway).
    run_now(crons[0])
    # An admin edits another cron: the record is a new list.
    transaction.begin()
    edited = Crontab.load(uids=[crons[1].uid]).by_uid(crons[1].uid)
    edited.environ = {"edited": True}
    edited.save()
    transaction.commit()
    read = []
    storage = db.storage
    load_before = storage.loadBefore

    def recording_load_before(oid, tid):
        if threading.current_thread() is not threading.main_thread():
            read.append(oid)  # the worker's, not this test's checks
        return load_before(oid, tid)

    monkeypatch.setattr(storage, "loadBefore", recording_load_before)
    run_now(crons[0])
    monkeypatch.undo()
    assert read, "the worker read nothing from the storage: nothing was watched"
    assert bucket not in read
