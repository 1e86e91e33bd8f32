"""catalog-maintenance: reindex indexes, or clear and rebuild the catalog."""

from AccessControl import getSecurityManager
from collective.cron import _
from collective.cron.results import Result
from collective.cron.tasks.base import Task
from collective.cron.tasks.base import TaskFailed
from collective.cron.tasks.options import Option
from collective.cron.tasks.options import bad
from collective.cron.tasks.options import choice
from collective.cron.tasks.options import names
from plone import api

import time


MANAGE_CATALOG = "Manage ZCatalog Entries"


class CatalogMaintenance(Task):
    title = _("Catalog maintenance: reindex or rebuild")
    description = _(
        'Reindexes catalog indexes ("action": "reindex", "index": a name or a '
        'list) or clears and rebuilds the whole catalog ("action": '
        '"rebuild"). The cron must run as a user who may manage the catalog.'
    )
    options = (
        Option("action", choice("reindex", "rebuild"), default="reindex"),
        Option("index", names, default=None),
    )

    def work(self, action, index):
        catalog = api.portal.get_tool("portal_catalog")
        known = set(catalog.indexes())
        if action == "reindex":
            if not index:
                raise bad("index", None, 'is required with "action": "reindex"')
            for name in index:
                if name not in known:
                    raise bad(
                        "index",
                        name,
                        f"no such index in portal_catalog (known: "
                        f"{', '.join(sorted(known))})",
                    )
        elif index:
            raise bad("index", index, '"rebuild" rebuilds every index: leave it out')
        if not getSecurityManager().checkPermission(MANAGE_CATALOG, catalog):
            raise TaskFailed(
                f"{api.user.get_current().getUserName()!r} may not manage the "
                "catalog: the cron must run as a user who may"
            )
        started = time.monotonic()
        if action == "reindex":
            catalog.manage_reindexIndex(ids=index)
            done = f"Reindexed {', '.join(map(repr, index))}"
        else:
            catalog.clearFindAndRebuild()
            done = "Cleared and rebuilt the catalog"
        took = time.monotonic() - started
        return Result("OK", f"{done}: {len(catalog)} object(s) in {took:.1f}s")
