"""What the @crons services share: the path after @crons, loading a cron,
and the plone.restapi conventions for writes."""

from collective.cron.crontab import Crontab
from collective.cron.errors import NoSuchCron
from collective.cron.interfaces import IQueue
from plone.protect.interfaces import IDisableCSRFProtection
from plone.restapi.interfaces import ISerializeToJson
from plone.restapi.services import Service
from zExceptions import BadRequest
from zExceptions import NotFound
from zope.component import getMultiAdapter
from zope.interface import alsoProvides
from zope.interface import implementer
from zope.publisher.interfaces import IPublishTraverse


@implementer(IPublishTraverse)
class CronsService(Service):
    """A service on @crons that reads the path after it (@crons/UID/...)
    into `self.params`."""

    # What each method answers to, for the error that names a wrong path.
    usage = ""

    def __init__(self, context, request):
        super().__init__(context, request)
        self.params = []

    def publishTraverse(self, request, name):
        self.params.append(name)
        return self

    def wrong_path(self):
        path = "/".join(["@crons", *self.params])
        method = self.request.get("REQUEST_METHOD", "GET")
        return BadRequest(f"No {method} {path}: use {self.usage}")

    def load(self, uid, logs=True):
        """(crontab, cron); NotFound for an unknown uid.

        Only this cron is loaded: saving the crontab writes it alone."""
        crontab = Crontab.load(strict=False, logs=logs, uids=[uid])
        try:
            return crontab, crontab.by_uid(uid)
        except NoSuchCron:
            raise NotFound(f"No cron with uid {uid!r}")

    def serialize(self, cron):
        return getMultiAdapter((cron, self.request), ISerializeToJson)()

    def job(self, uid):
        return IQueue(self.context).job(uid)


class CronsWriteService(CronsService):
    """A service that changes crons."""

    def __init__(self, context, request):
        super().__init__(context, request)
        # As plone.restapi's own writes: a JSON API call is no form a third
        # site can make a browser send (CORS), so plone.protect's automatic
        # check stands aside.
        alsoProvides(request, IDisableCSRFProtection)

    def cron_url(self, cron):
        return f"{self.context.absolute_url()}/@crons/{cron.uid}"
