"""What the dashboard's views share: the crontab, times in the site's zone,
status badges, CSRF checks and messages."""

from collective.cron import _
from collective.cron.crontab import Crontab
from collective.cron.errors import NoSuchCron
from collective.cron.schedule import site_timezone
from collective.cron.status import Status
from plone.protect import CheckAuthenticator
from Products.Five import BrowserView
from Products.statusmessages.interfaces import IStatusMessage
from urllib.parse import quote
from zExceptions import BadRequest
from zExceptions import NotFound


DASHBOARD = "@@cron-settings"


def cron_url(site_url, cron):
    """The cron's page; the uid is URL-encoded (defence: uids are checked)."""
    return f"{site_url}/@@cron?uid={quote(cron.uid, safe='')}"


DATE_FORMAT = "%Y-%m-%d %H:%M:%S"

STATUS_CLASSES = {
    Status.OK: "text-bg-success",
    Status.WARN: "text-bg-warning",
    Status.FAILURE: "text-bg-danger",
    Status.NOTRUN: "text-bg-secondary",
}
STATUS_ICONS = {
    Status.OK: "\u2714",  # check mark
    Status.WARN: "\u26a0",  # warning sign
    Status.FAILURE: "\u2716",  # heavy multiplication x
    Status.NOTRUN: "\u2013",  # en dash
}


class CronViewBase(BrowserView):
    """Base of the dashboard views."""

    @property
    def site_url(self):
        return self.context.absolute_url()

    @property
    def dashboard_url(self):
        return f"{self.site_url}/{DASHBOARD}"

    def cron_url(self, cron):
        return cron_url(self.site_url, cron)

    def edit_url(self, cron):
        return f"{self.site_url}/@@cron-edit?uid={quote(cron.uid, safe='')}"

    def local_time(self, value):
        """An aware datetime as text in the site's time zone ('' for None)."""
        if value is None:
            return ""
        return value.astimezone(site_timezone()).strftime(DATE_FORMAT)

    @property
    def timezone_name(self):
        tz = site_timezone()
        return getattr(tz, "key", None) or str(tz)

    def status_title(self, status):
        return Status.title_of(status)

    def status_class(self, status):
        return STATUS_CLASSES.get(status, "text-bg-light")

    def status_icon(self, status):
        return STATUS_ICONS.get(status, "?")

    def message(self, text, kind="info"):
        IStatusMessage(self.request).add(text, type=kind)

    def check_post(self):
        """Changes only by POST with Plone's CSRF token."""
        if self.request.get("REQUEST_METHOD", "GET").upper() != "POST":
            raise BadRequest("Use POST to change crons")
        CheckAuthenticator(self.request)

    def load_cron(self, uid=None):
        """(crontab, cron) for the request's uid; 404 for an unknown one."""
        uid = uid or self.request.form.get("uid", "")
        crontab = Crontab.load(strict=False)
        try:
            return crontab, crontab.by_uid(uid)
        except NoSuchCron:
            raise NotFound(_("No cron with uid ${uid}", mapping={"uid": uid}))

    def cron_label(self, cron):
        return f"{cron.uid}/{cron.name}"
