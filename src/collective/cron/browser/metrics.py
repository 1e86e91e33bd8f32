"""@@cron-metrics: the scheduler's metrics for Prometheus (text format).

Who may read them: users with "collective.cron: Manage crons" (a scraper can
log in with HTTP Basic auth as such a user), or a scraper sending
`Authorization: Bearer <token>` when the site setting `metrics_token` is set.
Anyone else gets 401, and never a login page: scrapers read status codes.
"""

from collective.cron import metrics
from collective.cron.health import MANAGE_CRONS
from plone import api
from Products.Five.browser import BrowserView

import hmac


TOKEN_RECORD = "collective.cron.metrics_token"


def token_matches(request):
    """True when the request carries the site's metrics token (if one is set)."""
    token = (api.portal.get_registry_record(TOKEN_RECORD, default="") or "").strip()
    # Zope keeps the Authorization header in request._auth, out of the
    # request's environment (so that page code cannot read credentials).
    header = getattr(request, "_auth", None) or ""
    scheme, _, sent = header.partition(" ")
    if not token or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(sent.strip().encode(), token.encode())


class CronMetrics(BrowserView):
    def __call__(self):
        response = self.request.response
        response.setHeader("Cache-Control", "no-store")
        if not (
            api.user.has_permission(MANAGE_CRONS, obj=self.context)
            or token_matches(self.request)
        ):
            response.setStatus(401)
            response.setHeader("Content-Type", "text/plain; charset=utf-8")
            response.setHeader("WWW-Authenticate", 'Bearer realm="cron-metrics"')
            return (
                "The cron metrics need the 'collective.cron: Manage crons' "
                "permission or the site's metrics token\n"
            )
        response.setHeader("Content-Type", metrics.CONTENT_TYPE)
        return metrics.exposition(self.context)
