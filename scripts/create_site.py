"""Create (or bring up to date) the development Plone site.

Run by `make create-site` through `zconsole run`, which binds `app`. Idempotent:
an existing site is kept and only gets collective.cron installed if it lacks it,
and the demo cron added if it is missing.
Settings come from the environment: SITE_ID, SITE_TITLE, ADMIN_USER,
ADMIN_PASSWORD, CREATE_DEMO_CRON (0: no demo cron).
"""

from AccessControl.SecurityManagement import newSecurityManager
from collective.cron.crontab import Cron
from collective.cron.crontab import Crontab
from collective.cron.demo import DEMO_NAME
from plone.base.utils import get_installer
from Products.CMFPlone.factory import addPloneSite
from Testing.makerequest import makerequest
from zope.component.hooks import setSite

import os
import transaction


SITE_ID = os.environ.get("SITE_ID", "Plone")
SITE_TITLE = os.environ.get("SITE_TITLE", "collective.cron demo")
ADMIN_USER = os.environ.get("ADMIN_USER", "admin")
ADMIN_PASSWORD = os.environ.get("ADMIN_PASSWORD", "admin")
ADDON_PROFILES = [
    "plone.app.contenttypes:default",
    "plonetheme.barceloneta:default",
    "collective.cron:default",
]


def ensure_admin(app):
    """The Zope admin exists in the root user folder with the Manager role."""
    users = app.acl_users
    if ADMIN_USER not in users.getUserNames():
        users._doAddUser(ADMIN_USER, ADMIN_PASSWORD, ["Manager"], [])
        print(f"Created Zope user {ADMIN_USER!r}.")
    user = users.getUser(ADMIN_USER).__of__(users)
    newSecurityManager(None, user)


def ensure_site(app):
    """Return the Plone site, creating it or installing collective.cron in it."""
    if SITE_ID in app.objectIds():
        site = app[SITE_ID]
        setSite(site)
        installer = get_installer(site)
        if not installer.is_product_installed("collective.cron"):
            installer.install_product("collective.cron")
            print(f"Installed collective.cron in /{SITE_ID}.")
        else:
            print(f"Site /{SITE_ID} exists with collective.cron installed.")
        return site
    site = addPloneSite(
        app,
        SITE_ID,
        title=SITE_TITLE,
        extension_ids=ADDON_PROFILES,
        setup_content=False,
        default_language="en",
        portal_timezone="UTC",
    )
    setSite(site)
    print(f"Created Plone site /{SITE_ID} with collective.cron installed.")
    return site


def ensure_demo_cron():
    """A demo cron (every minute) exists in the site's crontab."""
    crontab = Crontab.load()
    if crontab.by_name(DEMO_NAME):
        return
    Cron(
        uid="demo",
        name=DEMO_NAME,
        periodicity="*/1 * * * *",
        environ={"greeting": "Hello"},
        crontab=crontab,
    )
    crontab.save()
    print(f"Added the demo cron {DEMO_NAME!r} (every minute).")


app = makerequest(app)  # noqa: F821 - bound by zconsole
ensure_admin(app)
ensure_site(app)
if os.environ.get("CREATE_DEMO_CRON", "1") != "0":
    ensure_demo_cron()
transaction.commit()
# Close the database so FileStorage writes its index (faster next start).
app._p_jar.db().close()
