"""Checks of cron settings: each returns the clean value or raises InvalidCron.

Used by the model's attribute setters, so a bad value is refused where it is
set, before anything can be saved.
"""

from collective.cron import schedule
from collective.cron.errors import InvalidCron

import json


LOGS_LIMIT_MIN = 1
LOGS_LIMIT_MAX = 25

_TRUE = {"true", "1", "yes", "on", "selected"}
_FALSE = {"false", "0", "no", "off", ""}


def check_uid(value):
    if not isinstance(value, str) or not value.strip():
        raise InvalidCron("uid", value, "must be a non-empty text")
    return value.strip()


def check_name(value):
    if not isinstance(value, str) or not value.strip():
        raise InvalidCron("name", value, "must not be empty")
    return value.strip()


def check_periodicity(value):
    return schedule.validate(value)


def check_environ(value):
    """A JSON object: a dict, or text holding one (as forms and XML give it)."""
    if value is None:
        return {}
    original = value
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    if isinstance(value, str):
        if not value.strip():
            return {}
        try:
            value = json.loads(value)
        except ValueError as error:
            raise InvalidCron("environ", original, f"is not valid JSON ({error})")
    if not isinstance(value, dict):
        raise InvalidCron("environ", original, "must be a JSON object ({...})")
    try:
        # Round trip: keys become text, and what cannot be stored is refused now.
        return json.loads(json.dumps(value))
    except (TypeError, ValueError) as error:
        raise InvalidCron("environ", original, f"cannot be stored as JSON ({error})")


def check_activated(value):
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise InvalidCron("activated", value, "must be true or false")


def check_logs_limit(value):
    number = value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        number = int(value)
    if isinstance(number, bool) or not isinstance(number, int):
        raise InvalidCron("logs_limit", value, "must be a whole number")
    if not LOGS_LIMIT_MIN <= number <= LOGS_LIMIT_MAX:
        raise InvalidCron(
            "logs_limit",
            value,
            f"must be between {LOGS_LIMIT_MIN} and {LOGS_LIMIT_MAX}",
        )
    return number


MISFIRE_POLICIES = ("run_once", "skip")


def check_misfire(value):
    """What to do with runs missed while no worker ran: run once, or skip."""
    if value is None or value == "":
        return "run_once"
    if value not in MISFIRE_POLICIES:
        choices = ", ".join(MISFIRE_POLICIES)
        raise InvalidCron("misfire", value, f"must be one of {choices}")
    return value


def check_user(value):
    """A login name, or None for 'the user who saved the cron'."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidCron("user", value, "must be a login name")
    return value.strip() or None


def check_timezone(value):
    """An IANA zone name, or None for 'the site's time zone'."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        schedule.get_timezone(value)
    except ValueError:
        raise InvalidCron(
            "timezone",
            value,
            "unknown time zone (use an IANA name like 'Europe/Paris')",
        )
    return value.strip()
