"""What the stored crontab's texts say, learnt once per text and process.

The registry keeps the crontab as one list of JSON texts. A run needs one
cron, a dashboard page fifty: neither should parse 100,000 texts, nor again
each time one of them changes. A text never changes (a changed cron is a new
text), so what it says (its uid) and whether today's rules accept it are
worked out once in a process and kept while the text is stored; a list that
changed reuses what it shares with the one seen before it.

What is kept is per site and per state of the site's component registry: a
cron's name is checked against the runners registered (validators.check_name).
"""

from collective.cron import _
from collective.cron.bulk import bulk_work
from collective.cron.crontab import Cron
from collective.cron.errors import InvalidCron
from itertools import compress
from operator import ne
from zope.component import getSiteManager
from zope.component.hooks import getSite

import json
import threading


_UNKNOWN = object()

NO_UID = _("is missing: a stored cron needs one (give it a uid in the record)")

# More texts changed than this since a thread's last look: read the list
# again (one dict lookup a text) rather than patch the last survey.
MAX_CHANGED = 1000

# site key -> {text: TextFacts}, shared by the threads of the process. A new
# mapping replaces the old one whole (no lock: facts are pure, a lost update
# only costs recomputing them).
_facts_by_site = {}

# Per thread and site: (the site key, the last survey, the list it was made
# of, changes_seen() then); each ZODB connection holds its own copy of the
# record's value, a new one when another transaction changed it.
_surveys = threading.local()


_changes = 0
_changes_lock = threading.Lock()


def changes_seen():
    """How many times collective.cron's registry records were added,
    changed or removed in this process.

    What a transaction read of them is still what is stored while the
    transaction and this count are the same: another transaction's changes
    are seen only once this one ends, and code that changes the stored list
    in place stores it back (plone.registry's way), which counts. Counted
    for the process, not the thread: threads take turns on one ZODB
    connection, and so on one stored list.
    """
    return _changes


def count_change(event):
    """Subscriber of plone.registry's record events."""
    global _changes
    if str(getattr(event.record, "__name__", "")).startswith("collective.cron."):
        with _changes_lock:
            _changes += 1


def _data_of(text):
    """The JSON object a stored text holds, or {}."""
    try:
        data = json.loads(text)
    except (ValueError, TypeError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def _uid_in(data):
    uid = data.get("uid")
    if isinstance(uid, str) and uid.strip():
        return uid.strip()
    return None


def uid_of(text):
    """The uid a stored text names (stripped, as the cron loads it), or None
    when it names none: not a JSON object, or no uid text in it."""
    return _uid_in(_data_of(text))


class TextFacts:
    """One stored text: its uid (read at once), the rule it breaks if any
    (checked when first asked) and whether it is in canonical form."""

    __slots__ = ("_error", "alerts_when_silent", "canonical", "text", "uid")

    def __init__(self, text):
        self.text = text
        data = _data_of(text)
        self.uid = _uid_in(data)
        # It asks for "no success since" alerts (alert_after, as stored; the
        # cron's rules check the value when it loads).
        self.alerts_when_silent = bool(data.get("alert_after"))
        # True once checked and found to be what Cron.to_json writes: its
        # values are then clean, and load() skips the rules.
        self.canonical = False
        self._error = _UNKNOWN

    def error(self):
        """InvalidCron when today's rules refuse the text, else None."""
        if self._error is _UNKNOWN:
            try:
                cron = Cron.load(self.text)
            except InvalidCron as error:
                # Kept while the text is stored: not the frames that raised it.
                self._error = error.with_traceback(None)
            else:
                self.canonical = cron.to_json(logs=False) == self.text
                # Loading would make a uid up, a new one each time: the cron
                # could be neither linked to nor run.
                self._error = (
                    None if self.uid is not None else InvalidCron("uid", None, NO_UID)
                )
        return self._error

    def load(self, crontab=None):
        """A new Cron of this text, added to `crontab`; InvalidCron when the
        rules refuse it. A canonical text is read, not checked again."""
        error = self.error()
        if error is not None:
            raise error.for_cron(error.uid)  # a copy: the kept one stays clean
        if self.canonical:
            return Cron.from_checked(json.loads(self.text), crontab=crontab)
        return Cron.load(self.text, crontab=crontab)


class Survey:
    """The facts of one stored list of texts, in their stored order."""

    def __init__(self, texts, facts, positions):
        # A copy: the stored list may be changed in place and stored back.
        self.texts = list(texts)
        self.facts = facts
        self.positions = positions
        # loadable() and broken(), once asked: each visits every text (0.2 s
        # at 100,000 crons, on every page of the dashboard).
        self._loadable = None
        self._broken = None

    @classmethod
    def read(cls, texts, known):
        """Every text looked up in `known` (text -> TextFacts), else read."""
        facts = [known.get(text) or TextFacts(text) for text in texts]
        positions = {}
        for position, each in enumerate(facts):
            if each.uid is not None:
                positions.setdefault(each.uid, []).append(position)
        return cls(texts, facts, positions)

    def changed_to(self, texts, known):
        """The Survey of `texts` made from this one and the facts it read,
        or None when `texts` is not this list with a few texts replaced or
        added at its end (what saving a cron or adding one writes)."""
        old = self.texts
        if len(texts) < len(old):
            return None
        # Compared in C, position by position: a few ms for 100,000 texts.
        differ = list(compress(range(len(old)), map(ne, old, texts)))
        differ.extend(range(len(old), len(texts)))
        if len(differ) > MAX_CHANGED:
            return None
        facts = list(self.facts)
        positions = dict(self.positions)
        read = []
        for position in differ:
            if position < len(old):
                uid = facts[position].uid
                if uid is not None:
                    positions[uid] = [p for p in positions[uid] if p != position]
                    if not positions[uid]:
                        del positions[uid]
            new = known.get(texts[position]) or TextFacts(texts[position])
            read.append(new)
            if position < len(old):
                facts[position] = new
            else:
                facts.append(new)
            if new.uid is not None:
                positions[new.uid] = sorted([*positions.get(new.uid, ()), position])
        changed = Survey(texts, facts, positions)
        changed._follow(self, differ)
        return changed, read

    def _follow(self, before, differ):
        """Take loadable() and broken() from the survey `before`, of which
        the texts at positions `differ` were replaced or added, when that
        is the usual edit: crons saved keep their uid, new ones are
        appended, and none of them breaks a rule."""
        if before._loadable is None or before._broken is None:
            return
        old = before.facts
        added = []
        for position in differ:
            new = self.facts[position]
            if new.uid is None or new.error() is not None:
                return
            if position < len(old):
                was = old[position]
                if was.uid != new.uid or was.error() is not None:
                    return
            else:
                added.append(new.uid)
        loadable = before._loadable
        if added:
            known = set(loadable)
            loadable = [
                *loadable,
                *(uid for uid in dict.fromkeys(added) if uid not in known),
            ]
        self._loadable = loadable
        self._broken = before._broken

    def positions_of(self, uids):
        """The positions of these crons' texts, in crontab order."""
        return sorted({p for uid in uids for p in self.positions.get(uid, ())})

    def select(self, uids):
        """The stored texts of these crons, in crontab order."""
        return [self.texts[position] for position in self.positions_of(uids)]

    def watched_for_silence(self):
        """Uids of the crons whose stored text sets alert_after, each once:
        the only ones a "no success since" check has to load."""
        return list(
            dict.fromkeys(
                facts.uid
                for facts in self.facts
                if facts.alerts_when_silent and facts.uid is not None
            )
        )

    def loadable(self):
        """Uids of the crons that load, in crontab order, each once."""
        if self._loadable is None:
            self._loadable = list(
                dict.fromkeys(
                    facts.uid
                    for facts in self.facts
                    if facts.uid is not None and facts.error() is None
                )
            )
        return list(self._loadable)

    def broken(self):
        """InvalidCron of each stored text that does not load, naming its
        cron (uid, else its position from 1), as Crontab.load(strict=False)
        sets them aside."""
        if self._broken is None:
            errors = []
            for position, facts in enumerate(self.facts, start=1):
                error = facts.error()
                if error is None:
                    continue
                if error.uid is None:
                    error = error.for_cron(facts.uid or f"#{position}")
                errors.append(error)
            self._broken = errors
        return list(self._broken)


def site_key():
    site = getSite()
    path = "/".join(site.getPhysicalPath()) if site is not None else ""
    # A registration in any registry the site's looks through bumps its
    # generation (zope.interface).
    registries = getattr(getSiteManager().adapters, "ro", ())
    return (path, tuple(getattr(r, "_generation", None) for r in registries))


# site key -> {text: TextFacts} of texts read one at a time (loads of one
# cron through collective.cron.crontexts), when a survey's are not at hand.
_single_facts = {}
MAX_SINGLE = 10000


def facts_of(text, key=None):
    """The TextFacts of one stored text of the current site, learnt once a
    process as a survey learns them (a run loads its cron often). `key`:
    site_key(), when the caller looks up many texts."""
    key = key or site_key()
    found = _facts_by_site.get(key, {}).get(text)
    if found is not None:
        return found
    known = _single_facts.get(key)
    if known is None or len(known) >= MAX_SINGLE:
        # A new mapping whole (no lock, as _facts_by_site): one site's, of
        # its registry's state now.
        known = {}
        # list(): one C call, while other threads may add keys.
        for other in [other for other in list(_single_facts) if other[0] == key[0]]:
            _single_facts.pop(other, None)
        _single_facts[key] = known
    found = known.get(text)
    if found is None:
        found = known[text] = TextFacts(text)
    return found


def survey(texts):
    """The Survey of `texts`, the stored list of the current site."""
    key = site_key()
    seen = changes_seen()  # before the work: a store meanwhile is not missed
    if not hasattr(_surveys, "by_site"):
        _surveys.by_site = {}
    last = _surveys.by_site.get(key[0])
    # The same list object, not stored since: the same texts (100,000 texts
    # compare in milliseconds, on every load of one cron). Else compared: texts
    # that are the same objects compare at C speed; a list reloaded from the
    # ZODB compares text by text.
    if last is not None and last[0] == key:
        if last[2] is texts and last[3] == seen:
            return last[1]  # the same list, not stored again since
        if last[1].texts == texts:
            _surveys.by_site[key[0]] = (key, last[1], texts, seen)
            return last[1]
    known = _facts_by_site.get(key)
    changed = None
    if last is not None and last[0] == key and known is not None:
        changed = last[1].changed_to(texts, known)
    if changed is not None and len(known) <= len(texts) + MAX_CHANGED:
        # What is kept grows by the few new texts; the replaced ones are
        # dropped at the next full read.
        found, read = changed
        for each in read:
            known[each.text] = each
    else:
        # New facts for every text (100,000): bulk work, so the collector's
        # full passes wait.
        with bulk_work(len(texts)):
            found = Survey.read(texts, known or {})
        # Keep only the facts of texts still stored, and of the registry's
        # state now: the memory stays that of one crontab per site.
        _facts_by_site[key] = {each.text: each for each in found.facts}
        for other in list(_facts_by_site):
            if other[0] == key[0] and other != key:
                _facts_by_site.pop(other, None)
    # The list itself is kept too (its identity names it while kept).
    _surveys.by_site[key[0]] = (key, found, texts, seen)
    return found
