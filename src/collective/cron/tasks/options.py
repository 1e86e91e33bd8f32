"""Options of the bundled tasks, read from a cron's environ and checked.

A task declares its options; `clean(options, environ)` returns them with
their defaults, or raises InvalidCron naming the first bad one ("Invalid
environ days -1: must be 0 or more"), before the task changes anything.
"""

from collective.cron.errors import InvalidCron
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import math
import re


REQUIRED = object()


@dataclass(frozen=True)
class Option:
    name: str
    check: Any  # callable(name, value) -> clean value; raises InvalidCron
    default: Any = REQUIRED
    doc: str = ""


def bad(name, value, reason):
    return InvalidCron(f"environ {name}", value, reason)


def clean(options, environ):
    """The task's settings from `environ`; InvalidCron names a bad value."""
    known = {option.name: option for option in options}
    unknown = sorted(set(environ) - set(known))
    if unknown:
        raise bad(
            unknown[0],
            environ[unknown[0]],
            f"unknown option (this task knows {', '.join(known) or 'none'})",
        )
    settings = {}
    for option in options:
        if option.name in environ and environ[option.name] is not None:
            settings[option.name] = option.check(option.name, environ[option.name])
        elif option.default is REQUIRED:
            raise bad(option.name, None, "is required")
        else:
            settings[option.name] = option.default
    return settings


def number(low, high, whole=False):
    def check(name, value):
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise bad(name, value, "must be a number")
        try:
            result = float(value)
        except ValueError:
            raise bad(name, value, "must be a number")
        if not math.isfinite(result) or not low <= result <= high:
            raise bad(name, value, f"must be between {low:g} and {high:g}")
        if whole:
            if result != int(result):
                raise bad(name, value, "must be a whole number")
            return int(result)
        return result

    return check


def text(limit, single_line=True):
    def check(name, value):
        if not isinstance(value, str):
            raise bad(name, value, "must be a text")
        if len(value) > limit:
            raise bad(name, value, f"must be at most {limit} characters")
        if single_line and ("\n" in value or "\r" in value):
            raise bad(name, value, "must be one line")
        return value

    return check


def choice(*values):
    def check(name, value):
        if value not in values:
            raise bad(name, value, f"must be one of {', '.join(values)}")
        return value

    return check


def boolean(name, value):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise bad(name, value, "must be true or false")


def http_url(name, value):
    if not isinstance(value, str) or len(value) > 2000:
        raise bad(name, value, "must be an http:// or https:// address")
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise bad(name, value, "must be an http:// or https:// address with a host")
    if any(char.isspace() for char in value.strip()):
        raise bad(name, value, "must not contain spaces")
    return value.strip()


_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def headers(name, value):
    if not isinstance(value, dict):
        raise bad(name, value, 'must be a JSON object of texts ({"Name": "value"})')
    for key, item in value.items():
        if not _TOKEN.match(key):
            raise bad(name, key, "is not a valid header name")
        if not isinstance(item, str) or "\n" in item or "\r" in item:
            raise bad(name, {key: item}, "header values must be one-line texts")
    return dict(value)


def statuses(name, value):
    """An HTTP status or a list of them."""
    items = value if isinstance(value, list) else [value]
    if not items:
        raise bad(name, value, "must name at least one HTTP status")
    checked = [number(100, 599, whole=True)(name, item) for item in items]
    return sorted(set(checked))


def names(name, value):
    """A text or a list of texts (index names)."""
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(item, str) and item for item in items):
        raise bad(name, value, "must be a name or a list of names")
    return list(items)


def mapping(name, value):
    if not isinstance(value, dict):
        raise bad(name, value, "must be a JSON object ({...})")
    return dict(value)
