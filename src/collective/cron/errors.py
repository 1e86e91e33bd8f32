"""Exceptions with messages that name the bad value."""

from collective.cron import _
from zope.i18n import interpolate

import reprlib


# Values are named in messages, but a 10,000 deep environ must not make the
# message itself fail (repr recurses) or fill a page: reprlib cuts both.
_SHOWN = reprlib.Repr()
_SHOWN.maxstring = 300
_SHOWN.maxother = 300
_SHOWN.maxlevel = 4
_SHOWN.maxdict = _SHOWN.maxlist = _SHOWN.maxtuple = 12


def shown(value):
    """repr(value), cut to a readable size."""
    return _SHOWN.repr(value)


class InvalidCron(ValueError):
    """A cron setting has a bad value; nothing was changed.

    `field` is the setting, `value` the rejected value, `reason` why (text, or
    an i18n message the dashboard translates); `uid` names the cron when known
    (or its position in a document, as "#3"). str() is English; message() is
    the same for the user interface, translatable.
    """

    def __init__(self, field, value, reason, uid=None):
        self.field = field
        self.value = value
        self.reason = reason
        self.uid = uid
        super().__init__(str(self))

    def for_cron(self, uid):
        """The same error, saying which cron it is about."""
        return InvalidCron(self.field, self.value, self.reason, uid=uid)

    def __str__(self):
        reason = interpolate(self.reason, getattr(self.reason, "mapping", None))
        text = f"Invalid {self.field} {shown(self.value)}: {reason}"
        if self.uid is not None:
            text = f"Cron {self.uid}: {text}"
        return text

    def message(self):
        """The error as an i18n message (collective.cron domain)."""
        mapping = {
            "field": self.field,
            "value": shown(self.value),
            "reason": self.reason,
        }
        if self.uid is None:
            return _("Invalid ${field} ${value}: ${reason}", mapping=mapping)
        mapping["uid"] = self.uid
        return _("Cron ${uid}: Invalid ${field} ${value}: ${reason}", mapping=mapping)


class InvalidPeriodicity(InvalidCron):
    """A cron expression that cannot be parsed or never fires."""

    def __init__(self, value, reason, uid=None):
        super().__init__("periodicity", value, reason, uid=uid)

    def for_cron(self, uid):
        return InvalidPeriodicity(self.value, self.reason, uid=uid)


class NoSuchCron(KeyError):
    """No cron with this uid in the crontab."""

    def __init__(self, uid):
        self.uid = uid
        super().__init__(uid)

    def __str__(self):
        return f"No cron with uid {self.uid!r} in the crontab"
