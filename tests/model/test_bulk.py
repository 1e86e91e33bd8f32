"""Bulk work: older objects are left out of the collector's passes, then
handed back."""

from collective.cron.bulk import BULK
from collective.cron.bulk import bulk_work

import gc
import pytest
import transaction


def test_bulk_work_freezes_older_objects_and_hands_them_back():
    assert gc.get_freeze_count() == 0
    with bulk_work(BULK):
        assert gc.get_freeze_count() > 0
        gc.collect()  # cycles among new objects are still collected
    assert gc.get_freeze_count() == 0


def test_no_full_pass_starts_by_itself_while_bulk_work_runs():
    # The task's own objects would be walked again at each quarter they
    # grow by: young cycles are still collected, full passes wait.
    before = gc.get_threshold()
    passes = {0: 0, 1: 0, 2: 0}

    def count(phase, info):
        if phase == "start":
            passes[info["generation"]] += 1

    gc.callbacks.append(count)
    try:
        with bulk_work(BULK):
            assert gc.get_threshold()[:2] == before[:2]
            made = []
            for number in range(300_000):
                node = [number]
                node.append(node)  # a cycle, dead at the next turn
                made.append({"n": number})  # kept: the work's own objects
        assert passes[2] == 0
        assert passes[0] > 0 and passes[1] > 0  # the younger ones go on
        assert gc.get_threshold() == before
    finally:
        gc.callbacks.remove(count)


def test_thresholds_set_meanwhile_by_others_are_kept():
    before = gc.get_threshold()
    try:
        with bulk_work(BULK):
            gc.set_threshold(5000, 20, 20)
        assert gc.get_threshold() == (5000, 20, 20)
        # One set: the others are kept, ours among them, which then goes.
        with bulk_work(BULK):
            gc.set_threshold(3000)
        assert gc.get_threshold() == (3000, 20, 20)
    finally:
        gc.set_threshold(*before)


def test_small_work_leaves_the_collector_alone():
    before = gc.get_threshold()
    with bulk_work(BULK - 1):
        assert gc.get_freeze_count() == 0
        assert gc.get_threshold() == before


def test_everything_is_handed_back_when_the_work_fails():
    with pytest.raises(RuntimeError), bulk_work(BULK):
        raise RuntimeError("broken")
    assert gc.get_freeze_count() == 0


def test_a_disabled_collector_is_left_as_it_is():
    gc.disable()
    try:
        with bulk_work(BULK):
            assert gc.get_freeze_count() == 0
    finally:
        gc.enable()


def test_what_the_process_froze_itself_stays_frozen():
    gc.freeze()
    try:
        with bulk_work(BULK):
            pass
        # Still frozen (the count may drop: frozen objects can die meanwhile).
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_overlapping_bulk_work_thaws_when_the_last_ends():
    first, second = bulk_work(BULK), bulk_work(BULK)
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert gc.get_freeze_count() > 0  # the second still works
    second.__exit__(None, None, None)
    assert gc.get_freeze_count() == 0


class TestUntilTheTransactionEnds:
    """A bulk task whose objects the transaction commits: frozen, what the
    task made included, until the transaction commits or aborts."""

    def setup_method(self):
        transaction.begin()

    def teardown_method(self):
        transaction.abort()

    def test_thawed_when_the_transaction_commits(self):
        with bulk_work(BULK, until_transaction_ends=True):
            made = [[] for _ in range(10)]
        assert gc.is_tracked(made[0])
        frozen = gc.get_freeze_count()
        assert frozen > 0
        transaction.commit()
        assert gc.get_freeze_count() == 0

    def test_what_the_task_made_is_frozen_too(self):
        with bulk_work(BULK, until_transaction_ends=True):
            made = [[] for _ in range(10)]
            assert any(each is made for each in gc.get_objects())
        # Frozen objects are in none of the collector's generations.
        assert not any(each is made for each in gc.get_objects())
        transaction.abort()
        assert any(each is made for each in gc.get_objects())

    def test_thawed_when_the_transaction_aborts(self):
        with bulk_work(BULK, until_transaction_ends=True):
            pass
        assert gc.get_freeze_count() > 0
        transaction.abort()
        assert gc.get_freeze_count() == 0

    def test_a_failed_commit_then_its_abort_thaw_once(self):
        class Refusing:
            def tpc_begin(self, txn):
                raise RuntimeError("storage refuses")

            def abort(self, txn):
                pass

            def tpc_abort(self, txn):
                pass

            def sortKey(self):
                return "refusing"

        with bulk_work(BULK, until_transaction_ends=True):
            pass
        transaction.get().join(Refusing())
        with pytest.raises(RuntimeError):
            transaction.commit()
        transaction.abort()
        assert gc.get_freeze_count() == 0
        # The count of bulk tasks is right again: the next one freezes and
        # thaws as the first did.
        with bulk_work(BULK):
            assert gc.get_freeze_count() > 0
        assert gc.get_freeze_count() == 0

    def test_a_failing_task_thaws_at_once(self):
        with pytest.raises(RuntimeError), bulk_work(BULK, until_transaction_ends=True):
            raise RuntimeError("broken")
        assert gc.get_freeze_count() == 0

    def test_thawed_when_a_savepoint_rollback_dropped_the_hooks(self):
        # A failed run of a group commit: back to its savepoint, and the
        # commit hooks it added are cut off (job.GroupCommit.abort).
        txn = transaction.get()
        savepoint = txn.savepoint(optimistic=True)
        hooks = len(txn._after_commit), len(txn._after_abort)
        with bulk_work(BULK, until_transaction_ends=True):
            pass
        savepoint.rollback()
        del txn._after_commit[hooks[0] :]
        del txn._after_abort[hooks[1] :]
        assert gc.get_freeze_count() > 0
        transaction.abort()
        assert gc.get_freeze_count() == 0


def test_saving_a_large_crontab_keeps_the_collectors_full_passes_away(portal):
    from collective.cron.crontab import Cron
    from collective.cron.crontab import Crontab
    from plone.registry.interfaces import IRecordModifiedEvent
    from zope.component import getGlobalSiteManager

    crontab = Crontab()
    for number in range(BULK):
        Cron(uid=f"c{number}", name="noop", periodicity="@yearly", crontab=crontab)
    frozen_while_written = []

    def written(event):
        if event.record.__name__.endswith("IRegistryCrontab.crontab"):
            frozen_while_written.append(gc.get_freeze_count())

    assert gc.get_freeze_count() == 0
    registry = getGlobalSiteManager()
    registry.registerHandler(written, (IRecordModifiedEvent,))
    try:
        crontab.save()
    finally:
        registry.unregisterHandler(written, (IRecordModifiedEvent,))
    # The texts were serialised and the record written with the process's
    # older objects frozen; all are handed back when the transaction ends.
    assert frozen_while_written and all(count > 0 for count in frozen_while_written)
    assert len(Crontab.load(logs=False).crons) == BULK
    transaction.abort()
    assert gc.get_freeze_count() == 0
