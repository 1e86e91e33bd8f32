"""collective.cron 2.x's dashboard addresses, for bookmarks and old links.

2.x served its pages below the dashboard: @@cron-settings/cron_view?uid=...,
@@cron-settings/add and @@cron-settings/cron_edit?uid=.... Each answers with a
permanent redirect (301) to today's page. They are views of the dashboard
view, so `self.context` is the dashboard and `self.context.context` the site.
"""

from Products.Five import BrowserView
from urllib.parse import quote
from zope.component import queryMultiAdapter
from zope.publisher.interfaces import NotFound


class DashboardPaths:
    """Mixin of the dashboard view: names below it are views registered for
    it (the redirects below); anything else is not found."""

    def publishTraverse(self, request, name):
        view = queryMultiAdapter((self, request), name=name)
        if view is None:
            raise NotFound(self, name, request)
        return view


class LegacyRedirect(BrowserView):
    """301 to today's page `target` (a view of the site), keeping the uid."""

    target = None

    def __call__(self):
        site = self.context.context
        url = f"{site.absolute_url()}/@@{self.target}"
        uid = self.request.form.get("uid")
        if isinstance(uid, str) and uid:
            url += f"?uid={quote(uid, safe='')}"
        self.request.response.redirect(url, status=301)
        return ""


class CronViewRedirect(LegacyRedirect):
    target = "cron"


class CronAddRedirect(LegacyRedirect):
    target = "cron-add"


class CronEditRedirect(LegacyRedirect):
    target = "cron-edit"
