"""What the @crons services share: path segments after @crons, errors."""

from plone.restapi.services import Service
from zope.interface import implementer
from zope.publisher.interfaces import IPublishTraverse


@implementer(IPublishTraverse)
class CronsService(Service):
    """A service on @crons that reads the path after it (@crons/UID/...)
    into `self.params`."""

    def __init__(self, context, request):
        super().__init__(context, request)
        self.params = []

    def publishTraverse(self, request, name):
        self.params.append(name)
        return self

    def error(self, status, kind, message):
        """plone.restapi's error body, with the HTTP status."""
        self.request.response.setStatus(status)
        return {"error": {"type": kind, "message": message}}
