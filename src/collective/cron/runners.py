"""Find what runs a cron: a named IJobRunner adapter, else a script or view.

The adapter comes first (2.x behaviour); failing that, the cron's name is a
path below the site ("newsletter/send", "@@purge-old-news") to a Python script,
a view or any callable, called with no arguments. Traversal is restricted: it
runs with the rights of the user the job runs as, and what it reaches must be
inside the site (names that could leave it are refused when saved; this is
checked again here, in case one was stored some other way).
"""

from AccessControl import Unauthorized
from Acquisition import aq_base
from Acquisition import aq_inner
from collective.cron.interfaces import IJobRunner
from collective.cron.validators import path_problem
from zExceptions import NotFound
from zope.component import getGlobalSiteManager
from zope.component import getSiteManager
from zope.component import queryMultiAdapter
from zope.i18n import interpolate


def find_runner(site, cron):
    """A callable that runs the cron's job, or None when there is none.

    Raises Unauthorized when the path exists but the user may not reach it, or
    when it leads outside the site.
    """
    adapter = queryMultiAdapter((site, cron), IJobRunner, name=cron.name)
    if adapter is not None:
        return adapter.run
    path = cron.name.strip()
    if not path:
        return None
    problem = path_problem(path)
    if problem is not None:
        reason = interpolate(problem, problem.mapping)
        raise Unauthorized(f"Cron name {path!r} {reason}")
    try:
        target = site.restrictedTraverse(path)
    except (AttributeError, KeyError, NotFound, LookupError, TypeError):
        return None
    if not _inside(site, target):
        raise Unauthorized(f"Cron name {path!r} leads outside the site: not run")
    return target if callable(target) else None


def _inside(site, target):
    """True when what `target` acts on lives in the site.

    A method acts on its object, a view on its context; the physical path of
    that object must start with the site's.
    """
    base = aq_base(target)  # look at the target's own attributes, not acquired ones
    owner = getattr(base, "__self__", None)
    if owner is None:
        owner = getattr(base, "context", None)
    if owner is None:
        owner = target
    get_path = getattr(aq_inner(owner), "getPhysicalPath", None)
    if get_path is None:
        return False
    try:
        path = tuple(get_path())
    except Exception:
        return False
    site_path = tuple(site.getPhysicalPath())
    return path[: len(site_path)] == site_path


def runner_names():
    """Names of the registered IJobRunner adapters (global and the site's)."""
    names = set()
    for registry in {getGlobalSiteManager(), getSiteManager()}:
        for registration in registry.registeredAdapters():
            if registration.name and registration.provided.isOrExtends(IJobRunner):
                names.add(registration.name)
    return sorted(names)


def runners_offered():
    """The registered runners for people: name, title, description.

    A runner class may carry `title` and `description` attributes (texts or
    i18n messages); without them the name stands alone.
    """
    found = {}
    for registry in {getGlobalSiteManager(), getSiteManager()}:
        for registration in registry.registeredAdapters():
            if registration.name and registration.provided.isOrExtends(IJobRunner):
                factory = registration.factory
                found[registration.name] = {
                    "name": registration.name,
                    "title": getattr(factory, "title", None) or "",
                    "description": getattr(factory, "description", None) or "",
                }
    return [found[name] for name in sorted(found)]


def describe_missing(cron):
    return (
        f"no runner named {cron.name!r}: no IJobRunner adapter of that name, "
        "and no script or view at that path below the site"
    )
