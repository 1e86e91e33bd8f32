"""Bulk work: older objects are left out of the collector's passes, then
handed back."""

from collective.cron.bulk import BULK
from collective.cron.bulk import bulk_work

import gc
import pytest


def test_bulk_work_freezes_older_objects_and_hands_them_back():
    assert gc.get_freeze_count() == 0
    with bulk_work(BULK):
        assert gc.get_freeze_count() > 0
        gc.collect()  # cycles among new objects are still collected
    assert gc.get_freeze_count() == 0


def test_small_work_leaves_the_collector_alone():
    with bulk_work(BULK - 1):
        assert gc.get_freeze_count() == 0


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
