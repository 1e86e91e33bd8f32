"""Run logs of a site's crons, kept apart from the crontab definition.

One small persistent record per cron, in a BTree stored in the site's
annotations: recording a run rewrites that cron's record only, so what a run
commits does not grow with the number of crons, and a run never rewrites the
crontab (nor conflicts with an admin editing it).

Logs written by collective.cron 2.x inside the registry JSON are read as long
as the cron has no record here; the first write moves them here.
"""

from BTrees.OOBTree import OOBTree
from collective.cron import clock
from collective.cron.annotations import SiteStorage
from collective.cron.audit import LOGS_DELETED
from collective.cron.audit import AuditTrail
from collective.cron.audit import change
from collective.cron.crontab import Log
from collective.cron.recent import RecentRuns
from persistent import Persistent
from ZODB.POSException import ConflictError


ANNOTATION_KEY = "collective.cron.history"


class CronHistory(Persistent):
    """The logs of one cron, newest first, as JSON-ready mappings.

    `alerts`: what collective.cron.alerts remembers of the cron (its alert
    state, when it last mailed, its last OK run), kept here because a run
    writes this record anyway.
    """

    alerts = None  # records written before alerts existed

    def __init__(self, logs=()):
        self.logs = tuple(logs)
        self.alerts = {"watched_since": clock.now()}

    def _p_resolveConflict(self, old, saved, new):
        """Merge two writes of one cron's record made at the same time.

        A run ending while a worker flags that run overdue (or an admin
        deletes logs) would else make the run's commit fail and the runner
        run again. Logs added on both sides are kept, newest first; logs
        deleted on either side stay deleted; alert memory merges key by key
        (the same key changed two ways cannot be merged: a conflict).
        """
        old_logs = list(old.get("logs", ()))
        saved_logs = list(saved.get("logs", ()))
        new_logs = list(new.get("logs", ()))
        added = [log for log in saved_logs if log not in old_logs]
        added += [log for log in new_logs if log not in old_logs and log not in added]
        added.sort(key=lambda log: str(log.get("date", "")), reverse=True)
        kept = [log for log in old_logs if log in saved_logs and log in new_logs]
        resolved = dict(new)
        # Possibly one log over logs_limit: the cron's next write trims it.
        resolved["logs"] = tuple(added + kept)
        resolved["alerts"] = _merge(
            old.get("alerts") or {}, saved.get("alerts") or {}, new.get("alerts") or {}
        )
        return resolved


def _merge(old, saved, new):
    merged = dict(saved)
    for key in set(old) | set(new):
        if new.get(key) == old.get(key):
            continue  # we did not change it: theirs stands
        if saved.get(key) != old.get(key) and saved.get(key) != new.get(key):
            raise ConflictError(f"alert memory {key!r} changed two ways")
        if key in new:
            merged[key] = new[key]
        else:
            merged.pop(key, None)
    return merged


class History(SiteStorage):
    """Read and write the run logs of a site's crons."""

    key = ANNOTATION_KEY
    factory = OOBTree
    _recent = None

    def recent(self):
        """The index of each cron's newest runs (collective.cron.recent)."""
        if self._recent is None:
            self._recent = RecentRuns(self.site, lambda: self._storage() or {})
        return self._recent

    def __contains__(self, uid):
        storage = self._storage()
        return storage is not None and uid in storage

    def logs(self, uid):
        """Logs of the cron, newest first; None when it has no record here."""
        storage = self._storage()
        record = storage.get(uid) if storage is not None else None
        if record is None:
            return None
        return [log for log in map(Log.load, record.logs) if log is not None]

    def stored(self, uid):
        """The cron's logs as stored (mappings, newest first; () without a
        record): for scanning many crons, Log.load() only the ones shown."""
        storage = self._storage()
        record = storage.get(uid) if storage is not None else None
        return record.logs if record is not None else ()

    def set(self, uid, logs):
        """Replace the cron's logs (Log objects, newest first)."""
        dumped = tuple(log.dump() for log in logs)
        storage = self._storage(create=True)
        record = storage.get(uid)
        if record is None:
            storage[uid] = CronHistory(dumped)
        elif record.logs != dumped:
            record.logs = dumped
        self.recent().update(uid, dumped)

    def ensure(self, uid, logs=()):
        """Give the cron a record (with these logs) if it has none.

        Done when its job is first queued, so that runs only ever change
        existing records: two runs of different crons then never conflict.
        """
        storage = self._storage(create=True)
        if uid not in storage:
            record = storage[uid] = CronHistory(log.dump() for log in logs)
            self.recent().update(uid, record.logs)

    def add(self, uid, log, limit, legacy=()):
        """Record a run as the cron's newest log, keeping `limit` logs.

        `legacy` are the cron's logs from 2.x registry data, used when the
        cron has no record yet.
        """
        storage = self._storage()
        record = storage.get(uid) if storage is not None else None
        if record is None:
            self.set(uid, [log, *legacy][:limit])
            return log
        # Stored logs stay as they are stored: a run adds one, it does not
        # read and write back the others.
        record.logs = (log.dump(), *record.logs)[:limit]
        self.recent().update(uid, record.logs)
        return log

    def delete(self, uid, positions, name=None):
        """Delete the logs at these positions (0 is the newest); recorded
        in the audit trail (`name`: the cron's, looked up when not given)."""
        current = self.logs(uid) or []
        doomed = set(positions)
        kept = [log for index, log in enumerate(current) if index not in doomed]
        self.set(uid, kept)
        if len(kept) != len(current):
            self._audit(uid, name, len(current), len(kept))

    def clear(self, uid, name=None):
        """Delete all logs of the cron; recorded in the audit trail."""
        current = self.logs(uid)
        self.set(uid, [])
        if current is None or current:
            # No record yet: the logs 2.x kept in the registry are gone too.
            self._audit(uid, name, None if current is None else len(current), 0)

    def _audit(self, uid, name, before, after):
        AuditTrail(self.site).record(
            LOGS_DELETED, uid=uid, name=name, changes=[change("logs", before, after)]
        )

    def remove(self, uid):
        """Forget the cron (it was deleted)."""
        storage = self._storage()
        if storage is not None and uid in storage:
            del storage[uid]
            self.recent().forget(uid)

    def alerts(self, uid):
        """The cron's alert memory (a copy), {} when it has none."""
        storage = self._storage()
        record = storage.get(uid) if storage is not None else None
        return dict(record.alerts or {}) if record is not None else {}

    def set_alerts(self, uid, **values):
        """Update the cron's alert memory; writes only when something changes."""
        storage = self._storage(create=True)
        record = storage.get(uid)
        if record is None:
            record = storage[uid] = CronHistory()
            self.recent().update(uid, ())
        current = dict(record.alerts or {})
        if any(current.get(key) != value for key, value in values.items()):
            current.update(values)
            record.alerts = current

    def warn_overdue(self, uid, claimed_at, log, limit):
        """Log once that the run claimed at `claimed_at` is overdue; False
        when it was logged already."""
        key = claimed_at.isoformat()
        if self.alerts(uid).get("overdue_warned") == key:
            return False
        self.add(uid, log, limit)
        self.set_alerts(uid, overdue_warned=key)
        return True

    def uids(self):
        storage = self._storage()
        return list(storage.keys()) if storage is not None else []
