"""Cron settings from JSON: plone.restapi deserializers (IDeserializeFromJson).

Adapters on (ICrontab, request) for POST @crons (adds a cron) and on
(ICron, request) for PATCH @crons/UID (changes one). Both check every given
setting through the one settings schema (collective.cron.settings) before
anything changes, answer all bad values in one BadRequest that names each
setting and value, and apply the run-as rule (Unauthorized). The caller saves.
"""

from collective.cron.crontab import Cron
from collective.cron.errors import InvalidCron
from collective.cron.interfaces import ICron
from collective.cron.interfaces import ICrontab
from collective.cron.security import check_run_as
from collective.cron.settings import NAMES
from collective.cron.settings import clean
from plone.restapi.interfaces import IDeserializeFromJson
from zExceptions import BadRequest
from zExceptions import Unauthorized
from zope.component import adapter
from zope.component.hooks import getSite
from zope.interface import Interface
from zope.interface import implementer

import json


# Keys GET @crons/UID answers that are not settings: a client may send a read
# cron back whole, so these are ignored rather than refused.
READ_ONLY = frozenset(
    {"@id", "explanation", "effective_timezone", "next", "job", "last", "logs"}
)
# Written by collective.cron itself (who saved the cron last).
STAMPED = frozenset({"saved_by"})


def read_body(request):
    """The request's JSON object; BadRequest says what is wrong with it."""
    try:
        data = json.loads(request.get("BODY") or b"{}")
    except ValueError as error:
        raise BadRequest(f"The body is not JSON: {error}")
    if not isinstance(data, dict):
        raise BadRequest(f"The body must be a JSON object, not {type(data).__name__}")
    return data


def checked_settings(data, exclude=()):
    """{setting: clean value} for the settings in `data`; BadRequest naming
    every bad one (nothing is applied when one is bad)."""
    values = {}
    problems = []
    for name, value in data.items():
        if name in READ_ONLY or name in STAMPED or name in exclude:
            continue
        try:
            values[name] = clean(name, value)
        except InvalidCron as error:
            problems.append(str(error))
    if problems:
        raise BadRequest("; ".join(problems))
    return values


def check_runs_as(cron, previous=None):
    try:
        check_run_as(getSite(), cron, previous=previous)
    except InvalidCron as error:
        raise Unauthorized(str(error))


@implementer(IDeserializeFromJson)
@adapter(ICrontab, Interface)
class DeserializeNewCronFromJson:
    """POST @crons: a new cron in the crontab from the request's settings.

    "name" and "periodicity" are required; "uid" is chosen by the server
    unless given (a given one must be new)."""

    def __init__(self, crontab, request):
        self.crontab = crontab
        self.request = request

    def __call__(self, data=None):
        data = read_body(self.request) if data is None else data
        values = checked_settings(data)
        missing = [name for name in ("name", "periodicity") if not values.get(name)]
        if missing:
            raise BadRequest(
                "Missing cron settings: "
                + ", ".join(missing)
                + f" (settings: {', '.join(NAMES)})"
            )
        uid = values.get("uid")
        if uid is not None and uid in self.crontab.crons:
            raise BadRequest(f"Invalid uid {uid!r}: a cron with this uid exists")
        try:
            cron = Cron(**values)
        except InvalidCron as error:
            raise BadRequest(str(error))
        check_runs_as(cron)
        self.crontab.add_cron(cron)
        return cron


@implementer(IDeserializeFromJson)
@adapter(ICron, Interface)
class DeserializeCronFromJson:
    """PATCH @crons/UID: change the settings the request gives."""

    def __init__(self, cron, request):
        self.cron = cron
        self.request = request

    def __call__(self, data=None):
        data = read_body(self.request) if data is None else data
        uid = data.get("uid", self.cron.uid)
        if uid != self.cron.uid:
            raise BadRequest(
                f"Invalid uid {uid!r}: the uid of cron {self.cron.uid!r} cannot change"
            )
        values = checked_settings(data, exclude={"uid"})
        previous = Cron.load(self.cron.dump(logs=False))
        try:
            for name, value in values.items():
                setattr(self.cron, name, value)
        except InvalidCron as error:
            raise BadRequest(str(error))
        check_runs_as(self.cron, previous=previous)
        return self.cron
