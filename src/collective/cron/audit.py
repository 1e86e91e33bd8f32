"""The audit trail: who changed which cron, when, and how.

Every change of a site's crontab is recorded here, outside the crontab, by the
layer every channel goes through: the registry manager's save (forms, REST,
crons.xml, Python), ICronManager (pause, resume, run now), the run history
(log deletion) and the subscriber of direct registry edits. Runs are not
changes: the engine records none.

    >>> trail = AuditTrail(site)
    >>> trail.entries()[:20]              # the newest 20, newest first
    >>> trail.entries(uid="newsletter")   # one cron's
    >>> with acting_as("GenericSetup profile my.site:default"):
    ...     crontab.save()                # recorded as done by that profile

Storage: an LOBTree in the site's annotations, keyed by the time of the
change in milliseconds with a random low part, and a BTrees.Length for the
count. A write inserts one entry into the newest bucket and changes the
Length: two transactions recording at the same time change different keys of
one bucket and a counter, which ZODB's conflict resolution merges, so both
commit. The oldest entries go in batches (once every `audit_size // 10`
writes), not one a write: deleting the oldest entry in every write would make
any two writes of a full trail delete the same key, a conflict. What remains
of conflicts (two batch trims at once, two writes that both split the newest
bucket, the very first entry of a site written twice at once) is rare, and
Zope replays a request that meets one.
"""

from AccessControl import getSecurityManager
from BTrees.Length import Length
from BTrees.LOBTree import LOBTree
from collections.abc import Sequence
from collective.cron import clock
from collective.cron.annotations import SiteStorage
from collective.cron.crontab import SETTINGS
from collective.cron.crontab import Cron
from contextlib import contextmanager
from datetime import UTC
from datetime import datetime
from persistent import Persistent
from plone.registry.interfaces import IRegistry
from zope.component import queryUtility

import json
import random
import threading


ANNOTATION_KEY = "collective.cron.audit"
CRONTAB_RECORD = "collective.cron.interfaces.IRegistryCrontab.crontab"
SIZE_RECORD = "collective.cron.audit_size"
SECRET_KEYS_RECORD = "collective.cron.audit_secret_keys"
DEFAULT_SIZE = 1000
DEFAULT_SECRET_KEYS = ("password", "token", "secret", "apikey", "api_key")

MASK = "***"
SYSTEM = "system"

# What an entry says happened (its "action").
ADDED = "added"
CHANGED = "changed"
REMOVED = "removed"
CRONTAB_ACTIVATED = "crontab activated"
CRONTAB_DEACTIVATED = "crontab deactivated"
PAUSED = "paused"
RESUMED = "resumed"
RUN_NOW = "run now"
LOGS_DELETED = "logs deleted"
IMPORTED = "imported"
ACTIONS = (
    ADDED,
    CHANGED,
    REMOVED,
    CRONTAB_ACTIVATED,
    CRONTAB_DEACTIVATED,
    PAUSED,
    RESUMED,
    RUN_NOW,
    LOGS_DELETED,
    IMPORTED,
)

# A value longer than this as JSON is kept as its cut JSON text: an entry
# stays small whatever an environ holds.
MAX_VALUE_LENGTH = 2000

# Keys: milliseconds since the epoch, shifted, plus a random low part, so
# that two processes writing in the same millisecond pick different keys.
_RANDOM_BITS = 20
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# The order of a cron's fields in an entry: the settings schema's, then who
# saved it (the user the cron runs as when it names none).
FIELDS = (*SETTINGS, "saved_by")


# -- who ------------------------------------------------------------------------

_actor = threading.local()


@contextmanager
def acting_as(who):
    """Record the changes made in this block as done by `who`
    (e.g. "GenericSetup profile my.site:default")."""
    previous = getattr(_actor, "who", None)
    _actor.who = who
    try:
        yield
    finally:
        _actor.who = previous


def current_actor():
    """Who is changing the crontab: the actor set by acting_as(), else the
    logged-in user's login, else "system" (the engine, scripts)."""
    who = getattr(_actor, "who", None)
    if who:
        return who
    user = getSecurityManager().getUser()
    login = user.getUserName() if user is not None else None
    if not login or login == "Anonymous User":
        return SYSTEM
    return login


# -- what -----------------------------------------------------------------------


def is_secret(key, secret_keys):
    """True when the environ key contains one of the words, in any case."""
    key = str(key).lower()
    return any(word and word.lower() in key for word in secret_keys)


def masked_environ(environ, secret_keys):
    """A copy of `environ` whose secret values read ***."""
    if not isinstance(environ, dict):
        return environ
    return {
        key: MASK if is_secret(key, secret_keys) else value
        for key, value in environ.items()
    }


def _bounded(value):
    try:
        text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(value)
        value = text
    if len(text) <= MAX_VALUE_LENGTH:
        return value
    cut = len(text) - MAX_VALUE_LENGTH
    return f"{text[:MAX_VALUE_LENGTH]}... [{cut} characters cut]"


def change(field, old, new):
    """One change of an entry: field, old value, new value (JSON values)."""
    return {"field": field, "old": _bounded(old), "new": _bounded(new)}


def environ_changes(old, new, field="environ"):
    """One change per environ key added, removed or changed (unmasked)."""
    old = old if isinstance(old, dict) else {}
    new = new if isinstance(new, dict) else {}
    return [
        change(f"{field}.{key}", old.get(key), new.get(key))
        for key in sorted(set(old) | set(new), key=str)
        if key not in old or key not in new or old[key] != new[key]
    ]


def cron_changes(old, new):
    """What differs between two dumps of a cron's settings (either None:
    the cron is added or removed), field by field, logs aside."""
    old = old or {}
    new = new or {}
    changes = []
    for field in FIELDS:
        if field == "uid" or (field not in old and field not in new):
            continue
        before, after = old.get(field), new.get(field)
        if field == "environ":
            changes.extend(environ_changes(before, after))
        elif before != after:
            changes.append(change(field, before, after))
    return changes


def settings_of(text):
    """A cron's settings (its dump, logs aside) from its stored JSON text;
    None when it cannot be read."""
    if text is None:
        return None
    try:
        return Cron.load(text).dump(logs=False)
    except ValueError:
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            return None
        if not isinstance(data, dict):
            return None
        data.pop("logs", None)
        return data


def _iso(value):
    return value.isoformat() if isinstance(value, datetime) else value


def pause_changes(previous, until, reason):
    """A pause (`previous`: the job's pause it replaces, or None)."""
    previous = previous or {}
    changes = [change("paused", bool(previous), True)]
    old_until, new_until = _iso(previous.get("until")), _iso(until)
    if old_until != new_until:
        changes.append(change("paused_until", old_until, new_until))
    old_reason = previous.get("reason") or ""
    if old_reason != (reason or ""):
        changes.append(change("paused_reason", old_reason, reason or ""))
    return changes


def run_now_changes(environ, override):
    """A run now: the environ keys its override sets for that run."""
    environ = environ if isinstance(environ, dict) else {}
    return [
        change(f"environ.{key}", environ.get(key), value)
        for key, value in sorted((override or {}).items(), key=lambda i: str(i[0]))
    ]


def settings_by_uid(texts):
    """uid -> settings of stored JSON texts (those that can be read)."""
    found = {}
    for text in texts or ():
        settings = settings_of(text)
        if settings is not None and settings.get("uid"):
            found[settings["uid"]] = settings
    return found


def _mask(changes, secret_keys):
    masked = []
    for item in changes:
        field = str(item.get("field", ""))
        old, new = item.get("old"), item.get("new")
        if field == "environ":
            old = masked_environ(old, secret_keys)
            new = masked_environ(new, secret_keys)
        elif field.startswith("environ.") and is_secret(field[8:], secret_keys):
            old = None if old is None else MASK
            new = None if new is None else MASK
        masked.append(change(field, old, new))
    return masked


# -- storage --------------------------------------------------------------------


class AuditStorage(Persistent):
    """The site's entries (LOBTree key -> entry) and their count."""

    def __init__(self):
        self.entries = LOBTree()
        self.length = Length()


# The process's newest key: entries of one instant (a frozen test clock, a
# fast script) keep the order they were recorded in, whatever thread wrote them.
_last_key = 0
_key_lock = threading.Lock()
_MS = datetime(1970, 1, 1, 0, 0, 0, 1000, tzinfo=UTC) - _EPOCH


def _key(date):
    """A key after this process's previous one: newest sorts last."""
    global _last_key
    millis = (date - _EPOCH) // _MS
    key = (millis << _RANDOM_BITS) | random.getrandbits(_RANDOM_BITS)  # noqa: S311
    with _key_lock:
        if key <= _last_key:
            key = _last_key + 1
        _last_key = key
    return key


def _registry_value(name, default):
    registry = queryUtility(IRegistry)
    if registry is None:
        return default
    value = registry.get(name)
    return default if value is None else value


def cron_name(uid):
    """The stored name of the cron `uid` ("" when unknown): for records
    made where only the uid is at hand (log deletion)."""
    needle = json.dumps(uid)
    for text in _registry_value(CRONTAB_RECORD, ()) or ():
        if needle in text:
            settings = settings_of(text)
            if settings is not None and settings.get("uid") == uid:
                return settings.get("name") or ""
    return ""


def audit_size():
    """How many entries the trail shows (collective.cron.audit_size)."""
    return max(1, int(_registry_value(SIZE_RECORD, DEFAULT_SIZE)))


def secret_keys():
    """Words that mask an environ value (collective.cron.audit_secret_keys)."""
    return tuple(_registry_value(SECRET_KEYS_RECORD, DEFAULT_SECRET_KEYS))


def _stored(entry):
    """An entry as stored: JSON text. BTrees' conflict resolution compares
    the values of a bucket, and texts compare where mappings cannot."""
    return json.dumps(
        dict(entry, date=entry["date"].isoformat()), sort_keys=True, ensure_ascii=False
    )


def _public(text):
    entry = json.loads(text)
    return {
        "date": datetime.fromisoformat(entry["date"]),
        "who": entry["who"],
        "uid": entry["uid"],
        "name": entry["name"],
        "action": entry["action"],
        "changes": entry["changes"],
    }


class Entries(Sequence):
    """Entries newest first: len() and slicing read only what is asked."""

    def __init__(self, values, length):
        self._values = values  # oldest first; the newest `length` are shown
        self._count = len(values)
        self._length = length

    def __len__(self):
        return self._length

    def __getitem__(self, index):
        count = self._count
        if isinstance(index, slice):
            start, stop, step = index.indices(self._length)
            positions = range(start, stop, step)
            if not positions:
                return []
            low = count - 1 - max(positions[0], positions[-1])
            high = count - min(positions[0], positions[-1])
            window = list(self._values[low:high])  # oldest first
            last = count - 1 - low
            return [_public(window[last - position]) for position in positions]
        if index < 0:
            index += self._length
        if not 0 <= index < self._length:
            raise IndexError(index)
        return _public(self._values[count - 1 - index])


class AuditTrail(SiteStorage):
    """Record and read the changes of a site's crontab."""

    key = ANNOTATION_KEY
    factory = AuditStorage

    def record(self, action, uid=None, name=None, changes=(), who=None, date=None):
        """Record one change; environ values under secret keys are masked.

        action: one of ACTIONS; uid and name: the cron (None and "" for the
        whole crontab; name None: looked up); changes: mappings
        field/old/new; who: default current_actor(); date: default now.
        """
        if action not in ACTIONS:
            raise ValueError(
                f"Unknown audit action {action!r}; use one of {', '.join(ACTIONS)}"
            )
        date = clock.as_utc(date) if date is not None else clock.now()
        if name is None:
            name = cron_name(uid) if uid else ""
        entry = {
            "date": date,
            "who": who or current_actor(),
            "uid": uid,
            "name": name or "",
            "action": action,
            "changes": _mask(changes, secret_keys()),
        }
        storage = self._storage(create=True)
        tree = storage.entries
        key = _key(date)
        while key in tree:  # another process's entry of the same instant
            key += 1
        tree[key] = text = _stored(entry)
        storage.length.change(1)
        self._trim(storage)
        return _public(text)

    def record_cron(self, old, new, uid=None, name=None):
        """Record a cron added (old None), removed (new None) or changed,
        from two dumps of its settings; nothing when nothing changed."""
        changes = cron_changes(old, new)
        if not changes:
            return None
        action = ADDED if old is None else REMOVED if new is None else CHANGED
        current = new if new is not None else old
        return self.record(
            action,
            uid=uid or current.get("uid"),
            name=name or current.get("name") or "",
            changes=changes,
        )

    def record_crons(self, old, new):
        """Record the crons added, changed or removed between two mappings
        uid -> settings (a dump, logs aside): new's order, then removals."""
        for uid in [*new, *(uid for uid in old if uid not in new)]:
            self.record_cron(old.get(uid), new.get(uid), uid=uid)

    def record_switch(self, activated):
        """Record the crontab's global switch turned on or off."""
        return self.record(
            CRONTAB_ACTIVATED if activated else CRONTAB_DEACTIVATED,
            changes=[change("activated", not activated, bool(activated))],
        )

    def _trim(self, storage):
        """Drop the oldest entries once they are a tenth over the size."""
        size = audit_size()
        excess = storage.length() - size
        if excess <= max(1, size // 10):
            return
        tree = storage.entries
        for key in list(tree.keys()[:excess]):
            del tree[key]
        storage.length.change(-excess)

    def entries(self, uid=None):
        """The newest entries (at most audit_size), newest first; only this
        cron's when `uid` is given. Each: date (aware UTC), who, uid, name,
        action, changes [{field, old, new}]."""
        storage = self._storage()
        if storage is None:
            return Entries([], 0)
        values = storage.entries.values()
        count = len(values)
        length = min(count, audit_size())
        if uid is None:
            return Entries(values, length)
        # Each entry names its cron; the JSON is read for those that may match.
        needle = json.dumps(uid, ensure_ascii=False)
        mine = [
            text
            for text in values[count - length : count]
            if needle in text and json.loads(text).get("uid") == uid
        ]
        return Entries(mine, len(mine))
