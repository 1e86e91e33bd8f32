"""Where collective.cron keeps its per-site data: the site's annotations."""

from Acquisition import aq_base
from zope.annotation.interfaces import IAnnotations


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
        # A site's annotations are attribute annotations (zope.annotation's
        # AttributeAnnotations keeps them in __annotations__): read them
        # there. Looking up the IAnnotations adapter of a Dexterity site
        # computes its interfaces first, and a run makes several stores.
        stored = getattr(aq_base(self.site), "__annotations__", None)
        storage = stored.get(self.key) if stored is not None else None
        if storage is None:
            annotations = IAnnotations(self.site)
            storage = annotations.get(self.key)
            if storage is None and create:
                storage = annotations[self.key] = type(self).factory()
        self._found = storage
        return storage
