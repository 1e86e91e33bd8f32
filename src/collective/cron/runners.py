"""Find what runs a cron: a named IJobRunner adapter, else a script or view.

The adapter comes first (2.x behaviour); failing that, the cron's name is a
path below the site ("newsletter/send", "@@purge-old-news") to a Python script,
a view or any callable, called with no arguments. Traversal is restricted: it
runs with the rights of the user the job runs as.
"""

from collective.cron.interfaces import IJobRunner
from zExceptions import NotFound
from zope.component import queryMultiAdapter


def find_runner(site, cron):
    """A callable that runs the cron's job, or None when there is none.

    Raises Unauthorized when the path exists but the user may not reach it.
    """
    adapter = queryMultiAdapter((site, cron), IJobRunner, name=cron.name)
    if adapter is not None:
        return adapter.run
    path = cron.name.strip().strip("/")
    if not path:
        return None
    try:
        target = site.restrictedTraverse(path)
    except (AttributeError, KeyError, NotFound, LookupError, TypeError):
        return None
    return target if callable(target) else None


def describe_missing(cron):
    return (
        f"no runner named {cron.name!r}: no IJobRunner adapter of that name, "
        "and no script or view at that path below the site"
    )
