"""The restart marker: which sites of this database use collective.cron.

Kept in the ZODB root, outside the sites, so a starting worker finds every
cron-aware site without walking the whole database.
"""

from Acquisition import aq_inner
from Acquisition import aq_parent
from BTrees.OOBTree import OOTreeSet


ROOT_KEY = "collective.cron.sites"


def zodb_root(obj):
    """The ZODB root mapping, from the root itself or any stored Zope object.

    An object not stored yet (a site while Plone 6.0's addPloneSite installs
    its profiles) has no connection: its closest stored parent's is used.
    """
    if getattr(obj, "getPhysicalPath", None) is None:
        return obj
    stored = obj
    while getattr(stored, "_p_jar", None) is None:
        stored = aq_parent(aq_inner(stored))
        if stored is None:
            raise ValueError(f"{obj!r} is not in a database")
    return stored._p_jar.root()


def site_path(site):
    return "/".join(site.getPhysicalPath())


def mark_site(site):
    """Record `site` as cron-aware."""
    root = zodb_root(site)
    sites = root.get(ROOT_KEY)
    if sites is None:
        sites = root[ROOT_KEY] = OOTreeSet()
    sites.insert(site_path(site))


def unmark_site(site):
    """Forget `site` (collective.cron was uninstalled)."""
    sites = zodb_root(site).get(ROOT_KEY)
    path = site_path(site)
    if sites is not None and path in sites:
        sites.remove(path)


def marked_sites(root):
    """Paths ("/Plone") of the cron-aware sites."""
    sites = zodb_root(root).get(ROOT_KEY)
    return list(sites) if sites is not None else []


def discover_sites(app):
    """Mark the top-level sites where collective.cron is installed but that
    are not marked (installed before the marker existed, or copied in).

    Returns the paths marked.
    """
    from collective.cron.registry import RECORD_CRONTAB
    from plone.base.interfaces.siteroot import IPloneSiteRoot

    known = set(marked_sites(app))
    found = []
    for site in app.objectValues():
        if not IPloneSiteRoot.providedBy(site) or site_path(site) in known:
            continue
        registry = getattr(site, "portal_registry", None)
        if registry is not None and RECORD_CRONTAB in registry.records:
            mark_site(site)
            found.append(site_path(site))
    return found
