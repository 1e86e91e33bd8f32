"""The restart marker: which sites of this database use collective.cron.

Kept in the ZODB root, outside the sites, so a starting worker finds every
cron-aware site without walking the whole database.
"""

from BTrees.OOBTree import OOTreeSet


ROOT_KEY = "collective.cron.sites"


def zodb_root(obj):
    """The ZODB root mapping, from the root itself or any stored Zope object."""
    if getattr(obj, "getPhysicalPath", None) is not None:
        return obj._p_jar.root()
    return obj


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
