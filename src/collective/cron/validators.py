"""The rules of a cron's settings: each returns the clean value or raises
InvalidCron naming the value.

collective.cron.settings.ICronSettings attaches them to its fields; the model's
attribute setters, the forms and crons.xml all go through that schema, so a bad
value is refused where it is set, before anything can be saved.
"""

from collective.cron import _
from collective.cron import schedule
from collective.cron.errors import InvalidCron

import json
import math
import re


LOGS_LIMIT_MIN = 1
LOGS_LIMIT_MAX = 25

# Deep enough for any real configuration, shallow enough that no JSON codec
# (or later copy) of it hits Python's recursion limit.
ENVIRON_MAX_DEPTH = 32

# uids end up in URLs (?uid=..., @crons/UID): letters, digits, ".", "_", "-",
# starting with a letter or digit. uuid hex and uuid4 text (2.x) fit.
UID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")

_TRUE = {"true", "1", "yes", "on", "selected"}
_FALSE = {"false", "0", "no", "off", ""}


def check_uid(value):
    if not isinstance(value, str) or not value.strip():
        raise InvalidCron("uid", value, _("must be a non-empty text"))
    if not UID_PATTERN.fullmatch(value.strip()):
        raise InvalidCron(
            "uid",
            value,
            _(
                "may only hold letters, digits, '.', '_' and '-' (128 at most), "
                "starting with a letter or digit"
            ),
        )
    return value.strip()


def check_name(value):
    """A runner's name, or a path below the site (see path_problem)."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidCron("name", value, _("must not be empty"))
    name = value.strip()
    problem = path_problem(name)
    if problem is not None and not _is_runner_name(name):
        raise InvalidCron("name", value, problem)
    return name


def path_problem(path):
    """Why `path` could lead outside the site when traversed, or None.

    A cron's name that no IJobRunner adapter has is traversed from the site
    with the rights of the user the job runs as; it must stay below the site.
    """
    if path.startswith("/"):
        return _("is an absolute path: give a path below the site")
    for segment in path.rstrip("/").split("/"):
        if segment.removeprefix("@@") in ("..", "."):
            return _(
                "has a ${segment} segment: a path must stay below the site",
                mapping={"segment": repr(segment)},
            )
        if not segment:
            return _("has an empty segment ('//'): give a path below the site")
        if segment.startswith(("aq_", "_", "++")):
            return _(
                "has the segment ${segment}, which can lead outside the site: "
                "give a path below the site",
                mapping={"segment": repr(segment)},
            )
        if segment.startswith("@@") and not segment[2:].strip():
            return _("has an empty view name after '@@'")
    return None


def _is_runner_name(name):
    """True when an IJobRunner adapter is registered under `name`."""
    from collective.cron.interfaces import ICron
    from collective.cron.interfaces import IJobRunner
    from plone.base.interfaces.siteroot import IPloneSiteRoot
    from zope.component import getSiteManager

    found = getSiteManager().adapters.lookup(
        (IPloneSiteRoot, ICron), IJobRunner, name=name
    )
    return found is not None


def check_periodicity(value):
    return schedule.validate(value)


UNKNOWN_TIMEZONE = _("unknown time zone (use an IANA name like 'Europe/Paris')")


def _too_deep():
    return _("nests deeper than ${depth} levels", mapping={"depth": ENVIRON_MAX_DEPTH})


def _not_finite(constant):
    raise ValueError(f"{constant} is not a finite number; JSON has no such value")


def _text_depth(text):
    """How deep brackets nest in JSON text (strings skipped), without parsing.

    Stops counting past ENVIRON_MAX_DEPTH: a 10,000 deep document must be
    refused before json.loads, which would hit the recursion limit.
    """
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > ENVIRON_MAX_DEPTH:
                break
        elif char in "]}":
            depth -= 1
    return deepest


def _value_problem(value):
    """Why a Python value cannot be a cron's environ JSON, or None.

    Walks iteratively, so a deeply nested value cannot exhaust the stack.
    """
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list, tuple)):
            if depth > ENVIRON_MAX_DEPTH:
                return _too_deep()
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
        elif isinstance(item, float) and not math.isfinite(item):
            return _(
                "holds ${number}, which is not a finite number (JSON has none)",
                mapping={"number": str(item)},
            )
    return None


def check_environ(value):
    """A JSON object: a dict, or text holding one (as forms and XML give it)."""
    if value is None:
        return {}
    original = value
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError as error:
            raise InvalidCron(
                "environ",
                original,
                _("is not UTF-8 text (${error})", mapping={"error": str(error)}),
            )
    if isinstance(value, str):
        if not value.strip():
            return {}
        if _text_depth(value) > ENVIRON_MAX_DEPTH:
            raise InvalidCron("environ", original, _too_deep())
        try:
            value = json.loads(value, parse_constant=_not_finite)
        except ValueError as error:
            raise InvalidCron(
                "environ",
                original,
                _("is not valid JSON (${error})", mapping={"error": str(error)}),
            )
    if not isinstance(value, dict):
        raise InvalidCron("environ", original, _("must be a JSON object ({...})"))
    problem = _value_problem(value)
    if problem is not None:
        raise InvalidCron("environ", original, problem)
    try:
        # Round trip: keys become text, and what cannot be stored is refused now.
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as error:
        raise InvalidCron(
            "environ",
            original,
            _("cannot be stored as JSON (${error})", mapping={"error": str(error)}),
        )


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
    raise InvalidCron("activated", value, _("must be true or false"))


def check_logs_limit(value):
    number = value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        number = int(value)
    if isinstance(number, bool) or not isinstance(number, int):
        raise InvalidCron("logs_limit", value, _("must be a whole number"))
    if not LOGS_LIMIT_MIN <= number <= LOGS_LIMIT_MAX:
        raise InvalidCron(
            "logs_limit",
            value,
            _(
                "must be between ${min} and ${max}",
                mapping={"min": LOGS_LIMIT_MIN, "max": LOGS_LIMIT_MAX},
            ),
        )
    return number


MISFIRE_POLICIES = ("run_once", "skip")


def check_misfire(value):
    """What to do with runs missed while no worker ran: run once, or skip."""
    if value is None or value == "":
        return "run_once"
    if value not in MISFIRE_POLICIES:
        choices = ", ".join(MISFIRE_POLICIES)
        raise InvalidCron(
            "misfire",
            value,
            _("must be one of ${choices}", mapping={"choices": choices}),
        )
    return value


def check_user(value):
    """A login name, or None for 'the user who saved the cron'.

    Whether the user exists, and may be chosen by whoever saves the cron, is
    checked on save by collective.cron.security.check_run_as.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidCron("user", value, _("must be a login name"))
    return value.strip() or None


def check_timezone(value):
    """An IANA zone name of schedule.timezone_names(), or None for the site's."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise InvalidCron("timezone", value, _("must be one IANA time zone name"))
    if not schedule.is_timezone_name(value.strip()):
        raise InvalidCron(
            "timezone",
            value,
            UNKNOWN_TIMEZONE,
        )
    return value.strip()


TITLE_MAX = 200
DESCRIPTION_MAX = 2000


def _text(setting, value, limit, single_line):
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidCron(setting, value, _("must be a text"))
    text = value.strip()
    if single_line and ("\n" in text or "\r" in text):
        raise InvalidCron(setting, value, _("must be one line"))
    if len(text) > limit:
        raise InvalidCron(
            setting,
            value,
            _("must be at most ${limit} characters", mapping={"limit": limit}),
        )
    return text


def check_title(value):
    """A short title for people (the dashboard, alert mails); may be empty."""
    return _text("title", value, TITLE_MAX, single_line=True)


def check_description(value):
    """What the cron is for, in a few sentences; may be empty."""
    return _text("description", value, DESCRIPTION_MAX, single_line=False)


NOTIFY_MODES = ("never", "failure", "failure_recovery", "always")


def check_notify(value):
    """When alert mails go out (see collective.cron.alerts)."""
    if value is None or value == "":
        return "never"
    if value not in NOTIFY_MODES:
        raise InvalidCron(
            "notify",
            value,
            _(
                "must be one of ${choices}",
                mapping={"choices": ", ".join(NOTIFY_MODES)},
            ),
        )
    return value


RECIPIENTS_MAX = 50
# An address as Plone's own e-mail fields accept it, kept simple: one "@",
# no spaces or angle brackets, a dot in the domain.
EMAIL_PATTERN = re.compile(r"[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\".]+")


def check_recipients(value):
    """E-mail addresses: a list, or a text with one per line or comma."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        items = re.split(r"[,;\n]", value)
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = list(value)
    else:
        raise InvalidCron("recipients", value, _("must be e-mail addresses"))
    addresses = []
    for item in items:
        if not isinstance(item, str):
            raise InvalidCron("recipients", value, _("must be e-mail addresses"))
        address = item.strip()
        if not address:
            continue
        if not EMAIL_PATTERN.fullmatch(address):
            raise InvalidCron(
                "recipients",
                address,
                _("is not an e-mail address"),
            )
        if address not in addresses:
            addresses.append(address)
    if len(addresses) > RECIPIENTS_MAX:
        raise InvalidCron(
            "recipients",
            value,
            _("at most ${limit} addresses", mapping={"limit": RECIPIENTS_MAX}),
        )
    return addresses


ALERT_AFTER_MAX = 525_600  # minutes: a year


def check_alert_after(value):
    """Minutes without an OK run before a "no success since" alert; None: off."""
    return whole_number("alert_after", value, 1, ALERT_AFTER_MAX, None, " minutes")


PAUSE_AFTER_FAILURES_MAX = 100


def check_pause_after_failures(value):
    """Consecutive failures that pause the cron; None: never."""
    return whole_number(
        "pause_after_failures", value, 1, PAUSE_AFTER_FAILURES_MAX, None
    )


RETRIES_MAX = 10
RETRY_DELAY_MAX = 86_400  # seconds: a day


def whole_number(setting, value, low, high, default, unit=""):
    """`value` (a number or its text) as an int from low to high; None or
    '' give `default`; InvalidCron names anything else."""
    if value is None or value == "":
        return default
    number = value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        number = int(value)
    if isinstance(number, bool) or not isinstance(number, int):
        raise InvalidCron(setting, value, _("must be a whole number"))
    if not low <= number <= high:
        raise InvalidCron(
            setting,
            value,
            _(
                "must be between ${min} and ${max}",
                mapping={"min": low, "max": f"{high}{unit}"},
            ),
        )
    return number


def check_retries(value):
    """How many times a failed run is tried again (0: never)."""
    return whole_number("retries", value, 0, RETRIES_MAX, 0)


def check_retry_delay(value):
    """Seconds before the first retry; each next one waits twice as long."""
    return whole_number("retry_delay", value, 1, RETRY_DELAY_MAX, 60, " seconds")


TIMEOUT_MAX = 7 * 86_400  # seconds: a week


def check_timeout(value):
    """Seconds a run may take before it is flagged overdue; None: no limit."""
    return whole_number("timeout", value, 1, TIMEOUT_MAX, None, " seconds")
