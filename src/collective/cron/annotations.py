"""Where collective.cron keeps its per-site data: the site's annotations."""

from Acquisition import aq_base
from zope.annotation.interfaces import IAnnotations


def read_annotation(site, key):
    """The value under `key` in the site's annotations, or None; read where
    zope.annotation's AttributeAnnotations keeps them (`__annotations__`).

    Looking up the IAnnotations adapter of a Dexterity site computes its
    interfaces first: that costs more than the read, and a run reads often.
    """
    stored = getattr(aq_base(site), "__annotations__", None)
    if stored is not None and not isinstance(stored, dict):
        # zope.annotation's BTree: a key absent there is absent for the
        # adapter too (a content rules check reads a key most sites lack).
        # A plain dict is a class's type hints, not annotations.
        return stored.get(key)
    return IAnnotations(site).get(key)


class SiteStorage:
    """Base of the per-site stores (queue, history): the persistent object
    under `key` in the site's annotations, made by `factory` on first write.

    Kept once found: reading a Plone site's annotations costs a schema
    lookup, and a run asks many times.
    """

    key = None
    factory = None

    def __init__(self, site):
        self.site = site
        self._found = None

    def _storage(self, create=False):
        if self._found is not None:
            return self._found
        storage = read_annotation(self.site, self.key)
        if storage is None and create:
            storage = IAnnotations(self.site)[self.key] = type(self).factory()
        self._found = storage
        return storage
