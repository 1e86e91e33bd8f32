"""A plone.restapi client of the functional layer's site."""

from plone.app.testing import SITE_OWNER_NAME
from plone.app.testing import SITE_OWNER_PASSWORD
from plone.restapi.testing import RelativeSession


def rest_session(portal, auth=(SITE_OWNER_NAME, SITE_OWNER_PASSWORD)):
    """requests session on the site's URL, asking for JSON, logged in with
    `auth` (login, password); None: anonymous."""
    session = RelativeSession(portal.absolute_url())
    session.headers["Accept"] = "application/json"
    session.auth = auth
    return session
