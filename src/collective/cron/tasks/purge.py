"""purge-expired: unpublish or delete content whose expiration date passed."""

from Acquisition import aq_parent
from collective.cron import _
from collective.cron import clock
from collective.cron.results import Result
from collective.cron.tasks.base import Task
from collective.cron.tasks.options import Option
from collective.cron.tasks.options import bad
from collective.cron.tasks.options import boolean
from collective.cron.tasks.options import choice
from collective.cron.tasks.options import mapping
from collective.cron.tasks.options import number
from collective.cron.tasks.options import text
from DateTime import DateTime
from plone import api
from plone.api.exc import InvalidParameterError
from Products.CMFCore.WorkflowCore import WorkflowException


# Items named one by one in the log (the log keeps 50 messages).
LISTED = 40
# Catalog keys the task sets itself.
RESERVED = ("expires", "show_inactive", "sort_on", "sort_limit")


class PurgeExpired(Task):
    title = _("Purge expired content: unpublish or delete")
    description = _(
        "Finds content whose expiration date passed and unpublishes it "
        '("action": "unpublish", to "state", default "private") or deletes '
        'it ("action": "delete"). "query": more catalog criteria ({...}); '
        '"dry_run": true only logs what it would do; "limit": items per run '
        "(500). Acts with the rights of the cron's user."
    )
    options = (
        Option("action", choice("unpublish", "delete"), default="unpublish"),
        Option("state", text(100), default="private"),
        Option("query", mapping, default={}),
        Option("dry_run", boolean, default=False),
        Option("limit", number(1, 10000, whole=True), default=500),
    )

    def work(self, action, state, query, dry_run, limit):
        catalog = api.portal.get_tool("portal_catalog")
        known = set(catalog.indexes())
        for key in query:
            if key in RESERVED or key not in known:
                raise bad(
                    "query",
                    key,
                    "is not an index this task may query"
                    if key in RESERVED
                    else "no such index in portal_catalog",
                )
        now = DateTime(clock.now().timestamp())
        brains = catalog.searchResults(
            dict(query),
            expires={"query": now, "range": "max"},
            show_inactive=True,
            sort_on="expires",
        )[:limit]
        done, skipped, failed = [], [], []
        verb = {"unpublish": "unpublished", "delete": "deleted"}[action]
        for brain in brains:
            obj = brain.getObject()
            path = "/".join(obj.getPhysicalPath())
            if action == "delete":
                problem = self._delete(obj, dry_run)
            else:
                problem = self._unpublish(obj, state, dry_run)
            if problem is None:
                done.append(path)
            elif problem == "":
                skipped.append(path)
            else:
                failed.append(f"{path}: {problem}")
        prefix = "Dry run: would have " if dry_run else ""
        summary = f"{prefix}{verb} {len(done)} expired item(s)"
        if skipped:
            summary += f", {len(skipped)} already {state}"
        if failed:
            summary += f", {len(failed)} could not be {verb}"
        messages = [summary]
        messages += [f"{verb}: {path}" for path in done[:LISTED]]
        messages += [f"failed: {line}" for line in failed[: LISTED // 4]]
        return Result("WARN" if failed else "OK", messages)

    def _delete(self, obj, dry_run):
        """None when deleted; else why not."""
        parent = aq_parent(obj)
        if not api.user.has_permission("Delete objects", obj=parent):
            return "the cron's user may not delete it"
        if not dry_run:
            api.content.delete(obj=obj, check_linkintegrity=False)
        return None

    def _unpublish(self, obj, state, dry_run):
        """None when moved to `state`; "" when it is in it; else why not."""
        current = api.content.get_state(obj=obj, default=None)
        if current is None:
            return "it has no workflow"
        if current == state:
            return ""
        if dry_run:
            return None
        try:
            api.content.transition(obj=obj, to_state=state)
        except (InvalidParameterError, WorkflowException) as error:
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            return f"no transition to {state!r} allowed ({reason})"
        obj.reindexObject()
        return None
