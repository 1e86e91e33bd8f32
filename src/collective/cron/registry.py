"""The crontab's storage: records of the site registry (plone.app.registry).

Records (names kept from 2.x):
- `collective.cron.interfaces.IRegistryCrontab.crontab`: one JSON text per cron;
- `collective.cron.interfaces.IRegistryCrontab.activated`: the global switch.

Saving writes the differences between the crontab in memory and what was stored
when it was loaded, applied to what is stored now. An edit of one cron therefore
never overwrites another cron changed meanwhile by another transaction (and two
transactions that overlap conflict at commit, so Zope retries one of them).
"""

from collective.cron.crontab import Cron
from collective.cron.crontab import StoredState
from collective.cron.errors import InvalidCron
from collective.cron.interfaces import ICrontab
from collective.cron.interfaces import ICrontabRegistryManager
from collective.cron.schedule import get_timezone
from datetime import UTC
from plone.registry.interfaces import IRegistry
from zope.component import adapter
from zope.component import queryUtility
from zope.interface import implementer
import json


RECORD_CRONTAB = "collective.cron.interfaces.IRegistryCrontab.crontab"
RECORD_ACTIVATED = "collective.cron.interfaces.IRegistryCrontab.activated"
RECORD_SITE_TIMEZONE = "plone.portal_timezone"


class NotInstalled(LookupError):
    """The current site has no collective.cron registry records."""


def get_registry():
    """The registry of the current site (None outside a site)."""
    return queryUtility(IRegistry)


def site_timezone():
    """The site's time zone (`plone.portal_timezone`), else UTC."""
    registry = get_registry()
    name = registry.get(RECORD_SITE_TIMEZONE) if registry is not None else None
    if not name:
        return UTC
    try:
        return get_timezone(name)
    except ValueError:
        return UTC


def _uid_of(text):
    try:
        return json.loads(text).get("uid")
    except (ValueError, AttributeError):
        return None


@implementer(ICrontabRegistryManager)
@adapter(ICrontab)
class CrontabRegistryManager:
    """Reads and writes a crontab from and to the current site's registry."""

    def __init__(self, crontab):
        self.crontab = crontab
        self.read_only = False

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
        return list(self.registry.records[RECORD_CRONTAB].value or [])

    @property
    def activated(self):
        value = self.registry.records[RECORD_ACTIVATED].value
        return True if value is None else bool(value)

    def load(self):
        """Fill the crontab with the stored crons; remember what was stored."""
        crontab = self.crontab
        texts = self.crons
        crontab.activated = self.activated
        crontab.crons.clear()
        raw = {}
        for position, text in enumerate(texts, start=1):
            try:
                cron = Cron.load(text, crontab=crontab)
            except InvalidCron as error:
                raise error if error.uid is not None else error.for_cron(f"#{position}")
            raw[cron.uid] = text
        crontab._stored = StoredState(crontab.activated, raw)

    def save(self, texts):
        """Store `texts` (uid -> JSON, the whole crontab in order)."""
        if self.read_only:
            return
        crontab = self.crontab
        stored = crontab._stored
        if stored is None:
            # A crontab built in memory replaces the stored one (2.x behaviour).
            self._write_crons(list(texts.values()))
            self._write_activated(crontab.activated)
            crontab._stored = StoredState(crontab.activated, dict(texts))
            return
        removed = set(stored.raw) - set(texts)
        changed = {
            uid: text for uid, text in texts.items() if not stored.unchanged(uid, text)
        }
        self._apply(changed, removed, stored)
        if crontab.activated != stored.activated:
            self._write_activated(crontab.activated)
        # Unchanged crons keep their stored text: 2.x data is not rewritten.
        raw = {uid: changed.get(uid) or stored.raw[uid] for uid in texts}
        crontab._stored = StoredState(crontab.activated, raw)

    def save_cron(self, uid, text):
        """Store one cron (added or changed); leave every other cron as stored."""
        if self.read_only:
            return
        crontab = self.crontab
        stored = crontab._stored
        if stored is None:
            stored = crontab._stored = StoredState(self.activated, {})
        if not stored.unchanged(uid, text):
            self._apply({uid: text}, set(), stored)
            stored.raw[uid] = text
            stored._canonical.pop(uid, None)

    def _apply(self, changed, removed, stored):
        """Apply changed and removed crons to what the registry holds now."""
        if not changed and not removed:
            return
        known = {text: uid for uid, text in stored.raw.items()}
        pending = dict(changed)
        current = self.crons
        result = []
        for text in current:
            uid = known.get(text) or _uid_of(text)
            if uid in removed:
                continue
            result.append(pending.pop(uid, text))
        result.extend(pending.values())  # new crons go last, in crontab order
        if result != current:
            self._write_crons(result)

    def _write_crons(self, texts):
        self.registry[RECORD_CRONTAB] = list(texts)

    def _write_activated(self, value):
        self.registry[RECORD_ACTIVATED] = bool(value)
