""" "Cron Dashboard" in Volto's Site Setup: plone.restapi's @controlpanels.

GET/PATCH @controlpanels/cron-dashboard reads and writes the site-wide
settings: the crontab switch and the ICronSiteSettings records. The switch
is the crontab's (a 2.x record), so it is written through the crontab: the
change is audited and the queue synchronised like any other save.
"""

from collective.cron.crontab import Crontab
from collective.cron.interfaces import ICollectiveCronLayer
from collective.cron.interfaces import ICronSiteSettings
from collective.cron.interfaces import IRegistryCrontab
from plone.registry.interfaces import IRegistry
from plone.restapi.controlpanels import IControlpanel
from plone.restapi.controlpanels import RegistryConfigletPanel
from plone.restapi.deserializer.controlpanels import ControlpanelDeserializeFromJson
from plone.restapi.interfaces import IDeserializeFromJson
from plone.restapi.interfaces import ISerializeToJson
from plone.restapi.serializer.controlpanels import ControlpanelSerializeToJson
from zExceptions import Unauthorized
from zope.component import adapter
from zope.component import getUtility
from zope.interface import Interface
from zope.interface import implementer

import copy
import plone.api


PERMISSION = "collective.cron: Manage crons"


class ICronControlpanelSettings(ICronSiteSettings):
    """What Site Setup shows: the crontab switch and the site settings."""

    # The crontab's own switch (a copy: a field belongs to one interface).
    activated = copy.copy(IRegistryCrontab["activated"])


class ICronControlpanel(IControlpanel):
    """The Cron Dashboard panel (its own (de)serializers)."""


@implementer(ICronControlpanel)
@adapter(Interface, ICollectiveCronLayer)
class CronControlpanel(RegistryConfigletPanel):
    schema = ICronControlpanelSettings
    schema_prefix = "collective.cron"
    configlet_id = "CCronSettings"  # its 2.x id (profiles/default/controlpanel.xml)
    configlet_category_id = "Products"


@implementer(ICronControlpanelSettings)
class CronSiteSettings:
    """The panel's settings as one object: `activated` is the crontab's, the
    others the registry records collective.cron.<name>."""

    def __init__(self, registry):
        records = registry.forInterface(ICronSiteSettings, prefix="collective.cron")
        object.__setattr__(self, "_records", records)

    def __getattr__(self, name):
        if name == "activated":
            return Crontab.load(strict=False, logs=False).activated
        return getattr(self._records, name)

    def __setattr__(self, name, value):
        if name == "activated":
            crontab = Crontab.load(strict=False, logs=False)
            if crontab.activated != bool(value):
                crontab.activated = bool(value)
                crontab.save()
            return
        if name.startswith("__"):  # zope.interface's declarations
            return object.__setattr__(self, name, value)
        setattr(self._records, name, value)


class _SettingsSource:
    """Stands for the registry in plone.restapi's controlpanel
    (de)serializers, which read and write `registry.forInterface(schema)`."""

    def forInterface(self, schema, prefix=None, **options):
        return CronSiteSettings(getUtility(IRegistry))


def _check_permission(panel):
    if not plone.api.user.has_permission(PERMISSION, obj=panel.context):
        raise Unauthorized("You may not manage the crons of this site")


@implementer(ISerializeToJson)
@adapter(ICronControlpanel)
class CronControlpanelSerializeToJson(ControlpanelSerializeToJson):
    def __init__(self, controlpanel):
        super().__init__(controlpanel)
        self.registry = _SettingsSource()

    def __call__(self):
        _check_permission(self.controlpanel)
        return super().__call__()


@implementer(IDeserializeFromJson)
@adapter(ICronControlpanel)
class CronControlpanelDeserializeFromJson(ControlpanelDeserializeFromJson):
    def __init__(self, controlpanel):
        super().__init__(controlpanel)
        self.registry = _SettingsSource()

    def __call__(self, **options):
        # plone.restapi 9 (Plone 6.1+) takes mask_validation_errors; 8 none.
        _check_permission(self.controlpanel)
        return super().__call__(**options)
