"""The one source of "now" for collective.cron.

Everything that needs the current time calls ``now()``, so tests can move time
with ``collective.cron.testing.set_now`` instead of sleeping.
"""

from datetime import UTC
from datetime import datetime

import threading


_lock = threading.Lock()
_frozen: datetime | None = None


def as_utc(value: datetime) -> datetime:
    """Return `value` as an aware UTC datetime; a naive value is taken as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def now() -> datetime:
    """The current instant, aware, in UTC (the frozen one while frozen)."""
    frozen = _frozen
    if frozen is not None:
        return frozen
    return datetime.now(UTC)


def freeze(value: datetime | None) -> None:
    """Stop the clock at `value` (naive means UTC); None lets it run again."""
    global _frozen
    with _lock:
        _frozen = None if value is None else as_utc(value)
