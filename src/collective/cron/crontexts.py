"""Each cron's stored text by uid, beside the crontab's registry record.

The registry keeps the crontab as one list of JSON texts (the 2.x record):
one pickle of 44 MB at 100,000 crons, read again by every ZODB connection
after each edit. A run needs one cron: it reads its text here, from a small
bucket of a BTree, so what a run reads does not grow with the crontab.

The record stays what is stored and what 2.x code reads; this index follows
it in the same transaction: the crontab manager updates the crons it saves,
and a store of the record by anything else (registry.xml, @registry, the
ZMI) rebuilds the index from the record. A site whose index is not built yet
(upgraded from before profile version 1006) loads from the record.

The index is right only if no transaction writes the record without it. A
build reads the record without writing it, and a save on a site without the
index writes the record alone: each marks what it relied on as read
(`readCurrent`), so when the two overlap one of them fails with a
ConflictError and is retried, seeing the other's work.
"""

from Acquisition import aq_base
from bisect import bisect_right
from BTrees.OOBTree import OOBTree
from BTrees.OOBTree import OOBucket
from collective.cron.annotations import SiteStorage
from persistent import Persistent


ANNOTATION_KEY = "collective.cron.texts"


class CronTextIndex(Persistent):
    """`texts`: uid -> the texts stored for that uid, in crontab order (one,
    unless the record was edited by hand into holding a uid twice);
    `activated`: the crontab's global switch, as its record holds it."""

    def __init__(self):
        self.texts = OOBTree()
        self.activated = True


class CronTexts(SiteStorage):
    """The site's CronTextIndex: read by a load of one cron, written with the
    crontab records."""

    key = ANNOTATION_KEY
    factory = CronTextIndex

    @property
    def built(self):
        return self._storage() is not None

    def texts_of(self, uid):
        """The texts stored for `uid`, in crontab order (none: no such cron)."""
        return self._storage().texts.get(uid, ())

    @property
    def activated(self):
        return self._storage().activated

    def set_activated(self, value):
        index = self._storage()
        if index is None:
            self._rely_on_absence()
        elif index.activated != bool(value):
            index.activated = bool(value)

    def update(self, texts, positions, uids):
        """Follow a write of the record `texts` (positions: uid -> its
        positions in `texts`, a Survey's) for these crons only."""
        index = self._storage()
        if index is None:
            self._rely_on_absence()
            return
        for uid in uids:
            self._set(index.texts, uid, _texts_at(texts, positions.get(uid, ())))

    def drop(self):
        """Forget the index (its records are gone): loads read the registry."""
        annotations = getattr(aq_base(self.site), "__annotations__", None)
        if annotations is not None and self.key in annotations:
            del annotations[self.key]
        self._found = None

    def _rely_on_absence(self):
        """The record is written without the index, which is not built: a
        build committed meanwhile must make this transaction conflict."""
        annotations = getattr(aq_base(self.site), "__annotations__", None)
        read_current(annotations, self.key)

    def rebuild(self, texts, positions, activated):
        """Make the index hold what the record `texts` holds (made when
        missing). Entries already right are not written again."""
        index = self._storage(create=True)
        tree = index.texts
        for uid in [uid for uid in tree if uid not in positions]:
            del tree[uid]
        for uid, at in positions.items():
            self._set(tree, uid, _texts_at(texts, at))
        self.set_activated(activated)

    @staticmethod
    def _set(tree, uid, texts):
        if not texts:
            tree.pop(uid, None)
        elif tree.get(uid) != texts:
            tree[uid] = texts


def _texts_at(texts, positions):
    return tuple(texts[position] for position in positions)


def read_current(tree, key):
    """Mark as read, for this transaction's commit, the part of an OOBTree
    that holds `key` or would: committing then fails with a ConflictError
    if another transaction changed it since (ZODB's `readCurrent`)."""
    jar = getattr(tree, "_p_jar", None)
    if jar is None:
        return
    holder = _holder_of(tree, key)
    if holder._p_oid is not None:
        jar.readCurrent(holder)


def _holder_of(tree, key):
    """The bucket of `tree` where `key` is or would be; the tree itself
    while it is small (a tree of one bucket keeps its items inline)."""
    node = tree
    while True:
        state = node.__getstate__()
        if state is None or len(state) == 1:
            return node
        # (child, key, child, key, ..., child): keys >= key_i are in child_i.
        items = state[0]
        child = items[2 * bisect_right(items[1::2], key)]
        if isinstance(child, OOBucket):
            return child
        node = child
