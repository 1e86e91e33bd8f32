"""Job runners in the 2.x style: a crontab.Runner that switches user itself."""

from AccessControl import getSecurityManager
from collective.cron import MessageFactory as _
from collective.cron import crontab
from collective.cron.utils import su_plone


class LegacyReport(crontab.Runner):
    """Acts as the user named in environ["as"], the 2.x way, and notes who
    ran it with which environ."""

    runs = []

    def run(self):
        portal = self.context
        su_plone(portal.getPhysicalRoot(), portal, [self.cron.environ.get("as")])
        user = getSecurityManager().getUser()
        type(self).runs.append((user.getUserName(), dict(self.cron.environ)))


class LegacyWarnings(crontab.Runner):
    """Returns messages: 2.x logged them with status WARN."""

    def run(self):
        return [_("2 items skipped")]
