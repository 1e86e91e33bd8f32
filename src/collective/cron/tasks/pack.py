"""zodb-pack: pack the site's database, keeping `days` of history."""

from collective.cron import _
from collective.cron.results import Result
from collective.cron.tasks.base import Task
from collective.cron.tasks.base import TaskFailed
from collective.cron.tasks.options import Option
from collective.cron.tasks.options import number
from plone import api

import time


def _size(db):
    size = db.getSize()
    if not isinstance(size, int | float):
        return str(size)
    return f"{size / 1048576:.1f} MB"


class ZODBPack(Task):
    title = _("ZODB pack: pack the database")
    description = _(
        "Packs the database that holds the site (FileStorage, ZEO or "
        "RelStorage), removing old object revisions and unreachable "
        'objects. Environ: "days" of history to keep (default 0). The cron '
        "must run as a Manager of the site."
    )
    options = (Option("days", number(0, 36500), default=0.0),)

    def work(self, days):
        if "Manager" not in api.user.get_roles(obj=self.context):
            raise TaskFailed(
                f"packing the database needs the Manager role: "
                f"{api.user.get_current().getUserName()!r} has not got it here"
            )
        db = self.context._p_jar.db()
        before = _size(db)
        started = time.monotonic()
        db.pack(days=days)
        took = time.monotonic() - started
        return Result(
            "OK",
            f"Packed the database {db.database_name!r} keeping {days:g} day(s) "
            f"of history in {took:.1f}s: {before} before, {_size(db)} after",
        )
