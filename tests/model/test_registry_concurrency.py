"""Two ZODB connections edit different crons: no edit is lost.

Runs on the functional layer's real (DemoStorage-stacked) database with one
connection and transaction manager per simulated Zope thread.
"""

from collective.cron.crontab import Cron
from collective.cron.crontab import Crontab
from tests.support.clients import Client
from ZODB.POSException import ConflictError
from zope.component.hooks import setSite

import pytest


@pytest.fixture
def clients(functional):
    db = functional["zodbDB"]
    first, second = Client(db), Client(db)
    with first:
        crontab = Crontab()
        Cron(uid="one", name="one", periodicity="@daily", crontab=crontab)
        Cron(uid="two", name="two", periodicity="@daily", crontab=crontab)
        crontab.save()
    first.tm.commit()
    second.tm.abort()  # start a new transaction that sees the commit
    yield first, second
    first.close()
    second.close()
    setSite(None)


def fresh_crontab(db):
    reader = Client(db)
    try:
        with reader:
            return Crontab.load()
    finally:
        reader.close()


def test_stale_crontab_keeps_other_transactions_edits(functional, clients):
    first, second = clients
    with first:
        stale = Crontab.load()  # loaded before the other edit is committed
    with second:
        crontab = Crontab.load()
        crontab.by_uid("two").environ = {"edited_by": "second"}
        crontab.save()
    second.tm.commit()

    first.tm.abort()  # next transaction of the first thread
    with first:
        stale.by_uid("one").periodicity = "@hourly"
        stale.save()
    first.tm.commit()

    result = fresh_crontab(functional["zodbDB"])
    assert result.by_uid("one").periodicity == "@hourly"
    assert result.by_uid("two").environ == {"edited_by": "second"}


def test_overlapping_saves_conflict_and_retry_loses_nothing(functional, clients):
    first, second = clients

    def edit_one():
        with first:
            crontab = Crontab.load()
            crontab.by_uid("one").periodicity = "@hourly"
            crontab.save()

    edit_one()  # first thread's transaction is open...
    with second:  # ...while the second commits an edit of another cron
        crontab = Crontab.load()
        crontab.by_uid("two").activated = False
        crontab.save()
    second.tm.commit()

    with pytest.raises(ConflictError):
        first.tm.commit()
    first.tm.abort()
    edit_one()  # what Zope's publisher does: replay the request
    first.tm.commit()

    result = fresh_crontab(functional["zodbDB"])
    assert result.by_uid("one").periodicity == "@hourly"
    assert result.by_uid("two").activated is False
