"""The crontab's storage: records of the site registry (plone.app.registry).

Records (names kept from 2.x):
- `collective.cron.interfaces.IRegistryCrontab.crontab`: one JSON text per cron;
- `collective.cron.interfaces.IRegistryCrontab.activated`: the global switch.

Logs are not in the registry (but for data written by 2.x): they live in
collective.cron.history, written only for crons whose logs changed. Each
cron's text is also indexed by uid (collective.cron.crontexts), written with
the record: loading one cron reads it there.

Saving writes the differences between the crontab in memory and what was stored
when it was loaded, applied to what is stored now. An edit of one cron therefore
never overwrites another cron changed meanwhile by another transaction (and two
transactions that overlap conflict at commit, so Zope retries one of them).
"""

from AccessControl import getSecurityManager
from collective.cron.audit import LOGS_DELETED
from collective.cron.audit import AuditTrail
from collective.cron.audit import change
from collective.cron.audit import settings_of
from collective.cron.bulk import bulk_work
from collective.cron.crontab import Cron
from collective.cron.crontab import ReadOnlyCrontab
from collective.cron.crontexts import CronTexts
from collective.cron.crontexts import read_current
from collective.cron.errors import InvalidCron
from collective.cron.history import History
from collective.cron.interfaces import ICrontab
from collective.cron.interfaces import ICrontabRegistryManager
from collective.cron.schedule import site_timezone  # noqa: F401 (its old home)
from collective.cron.stored import facts_of
from collective.cron.stored import site_key
from collective.cron.stored import survey
from collective.cron.stored import uid_of
from plone.registry.interfaces import IRegistry
from zope.component import adapter
from zope.component import queryUtility
from zope.component.hooks import getSite
from zope.interface import implementer

import logging
import threading


logger = logging.getLogger("collective.cron")


RECORD_CRONTAB = "collective.cron.interfaces.IRegistryCrontab.crontab"
RECORD_ACTIVATED = "collective.cron.interfaces.IRegistryCrontab.activated"


_writing = threading.local()


def is_writing():
    """True while this thread's crontab manager writes the records.

    The record-change subscriber then leaves synchronisation to the
    ModifiedCrontabEvent that follows.
    """
    return getattr(_writing, "active", False)


class NotInstalled(LookupError):
    """The current site has no collective.cron registry records."""


class StoredState:
    """What the storage held when a crontab was loaded or last saved.

    Saving writes only the differences against it, so changes other
    transactions made to other crons are kept. `raw` maps uid to the text as
    stored (settings, no logs); text written by 2.x (other key order, logs
    inside) counts as unchanged when it loads to the same settings. `logs` maps
    uid to the cron's logs as loaded.
    """

    def __init__(self, activated, raw, logs=None):
        self.activated = activated
        self.raw = raw
        self.logs = logs if logs is not None else {}
        self._canonical = {}

    def unchanged(self, uid, text):
        """True when `text` (canonical JSON) is what is stored for `uid`."""
        raw = self.raw.get(uid)
        if raw is None:
            return False
        if raw == text:
            return True
        if uid not in self._canonical:
            try:
                self._canonical[uid] = Cron.load(raw).to_json(logs=False)
            except ValueError:
                self._canonical[uid] = None
        return self._canonical[uid] == text


def get_registry():
    """The registry of the current site (None outside a site)."""
    return queryUtility(IRegistry)


def stored_value(registry, name):
    """The value of the record `name`, read where `Record.value` reads it.

    `registry.records[name]` builds a Record first (its field loaded, an
    interface declared): that cost more than the read, and every run reads.
    `registry[name]` would answer from the request's cache, which a worker's
    batch of transactions outlives.
    """
    return registry.records._values[name]


def _text_index():
    """The current site's CronTexts when built, else None (load from the
    record)."""
    site = getSite()
    if site is None:
        return None
    index = CronTexts(site)
    return index if index.built else None


def current_login():
    """Login name of the user running this code; None for Anonymous."""
    user = getSecurityManager().getUser()
    name = user.getUserName() if user is not None else None
    return None if name in (None, "Anonymous User") else name


def _history():
    site = getSite()
    return History(site) if site is not None else None


def _trail():
    site = getSite()
    return AuditTrail(site) if site is not None else None


def _dumped_logs(cron):
    return tuple(log.dump() for log in cron.logs)


class HistoryLogs:
    """Reads a loaded cron's logs from the run history when first asked
    (Cron.read_logs_later), and notes them as loaded in the crontab's
    StoredState: what a save compares them with.

    A run adds its log to the history without reading the others, so a run
    of a cron with a full history parses none of them.
    """

    __slots__ = ("crontab", "history", "in_text")

    def __init__(self, history, crontab, in_text=()):
        self.history = history
        self.crontab = crontab
        # The logs in the cron's stored text (2.x data), dumped as loaded.
        self.in_text = in_text

    def __call__(self, cron):
        recorded = self.history.logs(cron.uid)
        if recorded is None:
            loaded = self.in_text
        else:
            # As stored, before the cron's logs_limit (maybe lowered since
            # the load) cuts them: a save then writes the cut.
            loaded = tuple(log.dump() for log in recorded)
            cron.logs = recorded
        stored = self.crontab._stored
        if stored is not None:
            stored.logs[cron.uid] = loaded


@implementer(ICrontabRegistryManager)
@adapter(ICrontab)
class CrontabRegistryManager:
    """Reads and writes a crontab: settings in the registry, logs in History."""

    def __init__(self, crontab):
        self.crontab = crontab

    @property
    def read_only(self):
        """The crontab's read_only flag (Crontab.load(read_only=True)): saving
        such a crontab raises ReadOnlyCrontab."""
        return bool(getattr(self.crontab, "read_only", False))

    @read_only.setter
    def read_only(self, value):
        self.crontab.read_only = bool(value)

    def _refuse_read_only(self):
        if self.read_only:
            raise ReadOnlyCrontab(
                "This crontab was loaded read-only (Crontab.load(read_only=True)): "
                "saving it is refused; load it without read_only to change crons"
            )

    @property
    def registry(self):
        registry = get_registry()
        if registry is None or RECORD_CRONTAB not in registry.records:
            raise NotInstalled(
                "collective.cron is not installed in the current site "
                f"(no registry record {RECORD_CRONTAB})"
            )
        return registry

    @property
    def crons(self):
        """The stored JSON texts, one per cron."""
        return list(stored_value(self.registry, RECORD_CRONTAB) or [])

    def survey(self):
        """What the stored texts say (collective.cron.stored.Survey): the
        uids in crontab order and the texts that break a rule, without
        loading a cron."""
        return survey(stored_value(self.registry, RECORD_CRONTAB) or [])

    @property
    def activated(self):
        value = stored_value(self.registry, RECORD_ACTIVATED)
        return True if value is None else bool(value)

    def load(self, uids=None, logs=True, strict=True):
        """Fill the crontab with the stored crons; remember what was stored.

        uids: load only these crons; logs=False: leave the history unread,
        else each cron reads its logs when first asked (HistoryLogs).
        strict=False: a stored cron that breaks today's rules (saved before a
        rule existed) is set aside in crontab.broken instead of raising; it is
        not scheduled, and its stored text is kept as it is on save.
        """
        crontab = self.crontab
        # Named crons (a run's, a page's): in the order asked, each once.
        wanted = list(dict.fromkeys(uids)) if uids is not None else None
        index = _text_index() if wanted is not None else None
        if index is not None:
            # Their texts from the index: the record (44 MB at 100,000
            # crons) is not read.
            key = site_key()
            found = [
                (uid, facts_of(text, key))
                for uid in wanted
                for text in index.texts_of(uid)
            ]
            activated = index.activated
        else:
            survey = self.survey()
            if wanted is not None:
                # In the order asked, as from the index.
                positions = [p for uid in wanted for p in survey.positions.get(uid, ())]
            else:
                positions = range(len(survey.facts))
            found = [(f"#{p + 1}", survey.facts[p]) for p in positions]
            activated = self.activated
        history = _history() if logs else None
        crontab.activated = activated
        crontab.crons.clear()
        crontab.broken = []
        raw, loaded_logs = {}, {}
        with bulk_work(len(found)):
            for where, facts in found:
                try:
                    cron = facts.load(crontab)
                except InvalidCron as error:
                    if error.uid is None:
                        error = error.for_cron(facts.uid or where)
                    if strict:
                        raise error
                    logger.warning("Stored cron set aside, it breaks a rule: %s", error)
                    crontab.broken.append(error)
                    continue
                if history is not None:
                    in_text = _dumped_logs(cron) if cron.logs else ()
                    cron.read_logs_later(HistoryLogs(history, crontab, in_text))
                else:
                    loaded_logs[cron.uid] = _dumped_logs(cron)
                raw[cron.uid] = facts.text
        crontab._stored = StoredState(crontab.activated, raw, loaded_logs)

    def save(self):
        """Store what changed; return the uids added, changed or removed.

        None means "maybe all": the crontab was not loaded, or the global
        switch changed.
        """
        self._refuse_read_only()
        # Serialising 100,000 crons allocates enough to start the
        # collector's full pass over the process (1.7-1.9 s measured).
        with bulk_work(len(self.crontab.crons)):
            return self._save()

    def _save(self):
        crontab = self.crontab
        # Serialise all first: a bad cron raises before anything is written.
        texts = {uid: cron.to_json(logs=False) for uid, cron in crontab.crons.items()}
        stored = crontab._stored
        if stored is None:
            # A crontab built in memory replaces the stored one (2.x behaviour).
            previous = self._stored_texts()
            was_activated = self.activated
            texts = self._stamp(texts, set(texts))
            self._write_crons(list(texts.values()))
            self._write_activated(crontab.activated)
            self._save_logs(texts, StoredState(crontab.activated, {}), set(), True)
            self._forget(set(previous) - set(texts))
            crontab._stored = self._state(texts)
            self._audit(previous, set(texts) | set(previous))
            if was_activated != crontab.activated:
                self._audit_switch()
            return None
        removed = set(stored.raw) - set(texts)
        changed = {
            uid for uid, text in texts.items() if not stored.unchanged(uid, text)
        }
        texts = self._stamp(texts, changed)
        before = self._texts_before(stored, changed | removed)
        # New crons are appended in crontab order (changed is a set).
        self._apply(
            {uid: text for uid, text in texts.items() if uid in changed},
            removed,
            stored,
        )
        self._save_logs(texts, stored, changed)
        self._forget(removed)
        switched = crontab.activated != stored.activated
        if switched:
            self._write_activated(crontab.activated)
        # Unchanged crons keep their stored text: 2.x data is not rewritten.
        raw = {uid: texts[uid] if uid in changed else stored.raw[uid] for uid in texts}
        crontab._stored = self._state(texts, raw)
        self._audit(before, changed | removed)
        if switched:
            self._audit_switch()
        return None if switched else changed | removed

    def save_cron(self, cron):
        """Store one cron (added or changed); leave every other cron as stored."""
        self._refuse_read_only()
        text = cron.to_json(logs=False)
        crontab = self.crontab
        stored = crontab._stored
        if stored is None:
            stored = crontab._stored = StoredState(self.activated, {})
        changed = set() if stored.unchanged(cron.uid, text) else {cron.uid}
        texts = self._stamp({cron.uid: text}, changed)
        if changed:
            before = self._texts_before(stored, changed)
            self._apply(texts, set(), stored)
            stored.raw[cron.uid] = texts[cron.uid]
            stored._canonical.pop(cron.uid, None)
            self._audit(before, changed)
        self._save_logs(texts, stored, changed)
        if not cron.logs_unread:
            stored.logs[cron.uid] = _dumped_logs(cron)

    def _stamp(self, texts, changed):
        """Record who saves the changed crons (their jobs run as this user)."""
        login = current_login()
        if login is None:
            return texts
        stamped = dict(texts)
        for uid in changed:
            cron = self.crontab.crons[uid]
            if cron.saved_by != login:
                cron.saved_by = login
                stamped[uid] = cron.to_json(logs=False)
        return stamped

    def _stored_texts(self):
        """uid -> stored text, as the registry holds it now."""
        return {uid: text for text in self.crons if (uid := uid_of(text))}

    def _texts_before(self, stored, uids):
        """The stored text of these crons before this save: as loaded, else
        (not loaded) as the registry holds it now."""
        before = {uid: stored.raw[uid] for uid in uids if uid in stored.raw}
        missing = set(uids) - set(before)
        if missing:
            for text in self.survey().select(missing):
                before.setdefault(uid_of(text), text)
        return before

    def _audit(self, before, uids):
        """Record in the audit trail how these crons changed (added,
        changed, removed), settings only."""
        trail = _trail()
        if trail is None or not uids:
            return
        crons = self.crontab.crons
        # The crontab's order, then the removed crons.
        ordered = [uid for uid in crons if uid in uids]
        ordered += sorted(uid for uid in uids if uid not in crons)
        for uid in ordered:
            cron = crons.get(uid)
            new = cron.dump(logs=False) if cron is not None else None
            trail.record_cron(settings_of(before.get(uid)), new, uid=uid)

    def _audit_switch(self):
        trail = _trail()
        if trail is not None:
            trail.record_switch(self.crontab.activated)

    def _state(self, texts, raw=None):
        crons = self.crontab.crons
        # Logs not read yet are noted when read (HistoryLogs).
        logs = {
            uid: _dumped_logs(crons[uid]) for uid in texts if not crons[uid].logs_unread
        }
        return StoredState(self.crontab.activated, raw or dict(texts), logs)

    def _save_logs(self, uids, stored, changed, replace=False):
        """Write the logs that changed since load; move 2.x logs on rewrite.

        replace: the crontab replaces the stored one, logs included.
        """
        history = _history()
        if history is None:
            return
        for uid in uids:
            cron = self.crontab.crons[uid]
            if cron.logs_unread and uid not in changed:
                # Not read since loaded: unchanged (a changed cron's text may
                # hold 2.x logs to move to the history: read below).
                continue
            logs = _dumped_logs(cron)
            # A rewritten 2.x cron loses the logs inside its registry text.
            if replace:
                if logs or uid in history:
                    history.set(uid, cron.logs)
                continue
            legacy = uid in changed and logs and uid not in history
            before = stored.logs.get(uid, ())
            if legacy or logs != before:
                history.set(uid, cron.logs)
                self._audit_deleted_logs(cron, before, logs)

    def _audit_deleted_logs(self, cron, before, after):
        """Logs taken out of `cron.logs` (none added: that would be a run
        recorded through the Python API) are a deletion."""
        deleted = [log for log in before if log not in after]
        added = [log for log in after if log not in before]
        trail = _trail()
        if deleted and not added and trail is not None:
            trail.record(
                LOGS_DELETED,
                uid=cron.uid,
                name=cron.name,
                changes=[change("logs", len(before), len(after))],
            )

    def _forget(self, uids):
        if not uids:
            return
        history = _history()
        if history is not None:
            for uid in uids:
                history.remove(uid)

    def _apply(self, changed, removed, stored):
        """Apply changed and removed crons to what the registry holds now."""
        if not changed and not removed:
            return
        pending = dict(changed)
        current = self.crons
        # Each stored text's uid from the survey: not parsed again.
        uids = [facts.uid for facts in self.survey().facts]
        result = []
        for text, uid in zip(current, uids, strict=True):
            if uid in removed:
                continue
            result.append(pending.pop(uid, text))
        result.extend(pending.values())  # new crons go last, in crontab order
        if result != current:
            self._write_crons(result, set(changed) | set(removed))

    def _write(self, name, value):
        _writing.active = True
        try:
            self.registry[name] = value
        finally:
            _writing.active = False

    def _write_crons(self, texts, uids=None):
        """Store the crontab record; the text index follows for these crons
        (None: all)."""
        self._write(RECORD_CRONTAB, list(texts))
        self.reindex(uids)

    def _write_activated(self, value):
        self._write(RECORD_ACTIVATED, bool(value))
        site = getSite()
        if site is not None:
            CronTexts(site).set_activated(value)  # the value just written

    def reindex(self, uids=None):
        """Make the site's text index (collective.cron.crontexts) hold what
        the records hold, for these crons or (None) for all, building it
        when missing; the global switch always. The records' new values are
        read as stored."""
        site = getSite()
        if site is None:
            return
        index = CronTexts(site)
        if uids is None:
            registry = get_registry()
            values = registry.records._values if registry is not None else {}
            if RECORD_CRONTAB not in values or RECORD_ACTIVATED not in values:
                index.drop()  # no crontab: loading one raises NotInstalled
                return
            # What is built here must be what is committed (see crontexts).
            for name in (RECORD_CRONTAB, RECORD_ACTIVATED):
                read_current(values, name)
            stored = self.survey()
            index.rebuild(stored.texts, stored.positions, self.activated)
            return
        if uids:
            stored = self.survey()
            index.update(stored.texts, stored.positions, uids)
        index.set_activated(self.activated)
