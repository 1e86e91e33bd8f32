"""The shipped classes fulfil the interfaces the engine and the UI use: a
replacement can be written from the interface alone."""

from collective.cron.crontab import Cron
from collective.cron.crontab import Crontab
from collective.cron.crontab import Log
from collective.cron.crontab import Runner
from collective.cron.interfaces import ICron
from collective.cron.interfaces import ICronManager
from collective.cron.interfaces import ICrontab
from collective.cron.interfaces import ICrontabManager
from collective.cron.interfaces import ICrontabRegistryManager
from collective.cron.interfaces import IExportImporter
from collective.cron.interfaces import IJobRunner
from collective.cron.interfaces import ILog
from collective.cron.interfaces import IQueue
from zope.component import getMultiAdapter
from zope.interface.verify import verifyObject


def test_model_objects(portal):
    crontab = Crontab.load()
    cron = Cron(name="x", periodicity="@daily", crontab=crontab)
    assert verifyObject(ICrontab, crontab)
    assert verifyObject(ICron, cron)
    assert verifyObject(ILog, Log())
    assert verifyObject(IJobRunner, Runner(portal, cron))


def test_storage_and_engine_adapters(portal):
    crontab = Crontab.load()
    cron = Cron(name="x", periodicity="@daily", crontab=crontab)
    assert verifyObject(IQueue, IQueue(portal))
    assert verifyObject(ICrontabRegistryManager, ICrontabRegistryManager(crontab))
    assert verifyObject(ICronManager, getMultiAdapter((portal, cron), ICronManager))
    assert verifyObject(
        ICrontabManager, getMultiAdapter((portal, crontab), ICrontabManager)
    )
    assert verifyObject(
        IExportImporter, getMultiAdapter((portal, crontab), IExportImporter)
    )
