"""What the benchmarks share: statistics, Zope started in this process on a
temporary FileStorage or ZEO, a site with collective.cron, a no-op runner.

Each scenario runs in a process of its own (Zope's configuration is global)
and prints one JSON line per figure for bench/run_all.py.
"""

from datetime import timedelta
from pathlib import Path

import json
import os
import statistics
import sys
import time


REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def percentile(values, fraction):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def spread(values):
    """(median, min, max) of repeated measurements."""
    return statistics.median(values), min(values), max(values)


def emit(scenario, metric, values, unit, peer=None, note=""):
    """One figure: ours over repeats, and the peer's when there is one."""
    record = {
        "scenario": scenario,
        "metric": metric,
        "unit": unit,
        "ours": spread(values),
        "peer": spread(peer) if peer else None,
        "note": note,
    }
    print("BENCH " + json.dumps(record), flush=True)


def zope_conf(directory, storage):
    return f"""\
%define INSTANCE {directory}
instancehome $INSTANCE
clienthome $INSTANCE/var
debug-mode off
default-zpublisher-encoding utf-8
<environment>
  CHAMELEON_CACHE {directory}/var/cache
</environment>
<zodb_db main>
{storage}
  mount-point /
  cache-size 100000
</zodb_db>
"""


def filestorage(directory):
    return f"""  <filestorage>
    path {directory}/var/Data.fs
    blob-dir {directory}/var/blobstorage
  </filestorage>"""


def zeoclient(directory, port):
    return f"""  <zeoclient>
    server 127.0.0.1:{port}
    name zeostorage
    var {directory}/var
    blob-dir {directory}/var/blobcache
    shared-blob-dir off
    cache-size 200MB
  </zeoclient>"""


def start_zope(directory, storage=None):
    """Zope in this process (no worker: the scenario starts what it needs)."""
    directory = Path(directory)
    for sub in ("etc", "var/cache", "var/blobstorage", "var/blobcache"):
        (directory / sub).mkdir(parents=True, exist_ok=True)
    os.environ["COLLECTIVE_CRON_WORKER"] = "off"
    conf = directory / "etc" / "zope.conf"
    conf.write_text(zope_conf(directory, storage or filestorage(directory)))
    (directory / "etc" / "site.zcml").write_text(
        (REPO / "etc" / "site.zcml").read_text()
    )
    from Zope2.Startup.run import make_wsgi_app

    make_wsgi_app({}, str(conf))
    import Zope2

    return Zope2.app()


def create_site(app, site_id="Plone"):
    from AccessControl.SecurityManagement import newSecurityManager
    from Products.CMFPlone.factory import addPloneSite
    from Testing.makerequest import makerequest
    from zope.component.hooks import setSite
    from zope.globalrequest import setRequest

    import transaction

    app = makerequest(app)
    setRequest(app.REQUEST)
    if "bench" not in app.acl_users.getUserNames():
        app.acl_users._doAddUser("bench", "bench", ["Manager"], [])
    newSecurityManager(None, app.acl_users.getUser("bench").__of__(app.acl_users))
    if site_id in app.objectIds():
        site = app[site_id]
    else:
        site = addPloneSite(app, site_id, extension_ids=["collective.cron:default"])
    setSite(site)
    transaction.commit()
    return site


def register_noop():
    from collective.cron.crontab import Runner
    from zope.component import getGlobalSiteManager

    class Noop(Runner):
        def run(self):
            return None

    getGlobalSiteManager().registerAdapter(Noop, name="bench-noop")


def register_demo():
    from collective.cron.demo import DemoRunner
    from zope.component import getGlobalSiteManager

    getGlobalSiteManager().registerAdapter(DemoRunner, name="collective.cron.demo")


def bare_commit_ms(connection, commits=500):
    """One small persistent object changed per commit, on the same storage."""
    from persistent.mapping import PersistentMapping

    import transaction

    root = connection.root()
    root["bench-bare"] = PersistentMapping()
    transaction.commit()
    began = time.perf_counter()
    for number in range(commits):
        root["bench-bare"]["n"] = number
        transaction.commit()
    return (time.perf_counter() - began) * 1000 / commits


def start_dispatcher(db, **settings):
    from collective.cron import config
    from collective.cron.dispatcher import Dispatcher

    values = {"worker": "on", "worker-name": "bench"}
    values.update(
        {key.replace("_", "-"): str(value) for key, value in settings.items()}
    )
    return Dispatcher(db, config.load(values, environ={})).start()


def zeo_server(directory):
    """A started ZEO server on a free 127.0.0.1 port (the tests' helper)."""
    sys.path.insert(0, str(REPO))
    from tests.support.instances import ZEOServer

    return ZEOServer(directory).start()


def wait_until(predicate, timeout, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


LEASE = timedelta(minutes=5)
