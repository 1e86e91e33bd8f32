"""Status codes of a run, as collective.cron 2.x numbered them."""

from enum import IntEnum


class Status(IntEnum):
    FAILURE = 0
    OK = 1
    WARN = 2
    NOTRUN = 3

    @classmethod
    def title_of(cls, value):
        """'OK' for 1 and so on; '' for a value that is no status."""
        try:
            return cls(value).name
        except (ValueError, TypeError):
            return ""


FAILURE = Status.FAILURE
OK = Status.OK
WARN = Status.WARN
NOTRUN = Status.NOTRUN
