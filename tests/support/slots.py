"""Scheduled slots read back from run logs (REST dicts or Log objects).

Each log accounts for the slots from its `due` on: `missed` of them (one
when absent), a slot every `period`.
"""

from datetime import UTC
from datetime import datetime


def parse(text):
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)


def details(log):
    return log if isinstance(log, dict) else log.details


def slots_of(log, period):
    """The scheduled times a log accounts for; checks `scheduled` agrees."""
    facts = details(log)
    first = parse(facts["due"])
    slots = [first + period * n for n in range(facts.get("missed", 1))]
    listed = [parse(text) for text in facts.get("scheduled", [])]
    assert slots[: len(listed)] == listed, facts
    return slots


def account(logs, period):
    """(covered, duplicates, unaccounted) of the slots from the first to the
    last any log names: every slot should be covered exactly once."""
    covered = {}
    for log in logs:
        if "retry_at" in details(log) or details(log).get("overdue"):
            continue  # a failed attempt, an overdue flag: not a slot's log
        for slot in slots_of(log, period):
            covered[slot] = covered.get(slot, 0) + 1
    duplicates = {slot: count for slot, count in covered.items() if count > 1}
    first, last = min(covered), max(covered)
    expected = [first + period * n for n in range((last - first) // period + 1)]
    unaccounted = [slot for slot in expected if slot not in covered]
    return expected, duplicates, unaccounted
