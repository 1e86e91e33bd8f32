"""What a runner returns or raises to say how its run went.

    from collective.cron import Result, CronWarning

    def run(self):
        ...
        return Result("OK", "sent 120 mails")        # OK, with a message
        return Result("WARN", ["3 bounced", "..."])   # WARN
        return Result("FAILURE", "the feed was empty") # FAILURE, no traceback
        raise CronWarning("nothing to import today")   # WARN, changes undone

A plain return value keeps its 2.x meaning: None is OK, anything else is WARN
with the value as messages.
"""

from collective.cron.status import Status


def as_status(value):
    """A Status from a Status, its number or its name ('ok', 'WARN', ...)."""
    if isinstance(value, str):
        try:
            return Status[value.strip().upper()]
        except KeyError:
            pass
    elif not isinstance(value, bool):
        try:
            return Status(value)
        except ValueError:
            pass
    names = ", ".join(status.name for status in Status)
    raise ValueError(f"Result status {value!r} is not one of {names}")


class Result:
    """The outcome a runner returns: a status and messages (text or a list).

    A returned Result ends the run normally: what the runner changed is
    committed whatever the status. Raise an exception to have it undone.
    """

    def __init__(self, status=Status.OK, messages=None):
        self.status = as_status(status)
        if messages is None:
            messages = []
        elif isinstance(messages, str) or not isinstance(messages, (list, tuple)):
            messages = [messages]
        self.messages = list(messages)

    def __repr__(self):
        return f"Result({self.status.name}, {self.messages!r})"


class CronWarning(Exception):
    """Raised by a runner: the run ends WARN with this message, no traceback.

    As with any exception, what the runner changed is undone.
    """
