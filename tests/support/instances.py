"""Real Zope instances and ZEO servers for tests, on 127.0.0.1 free ports
(PostgreSQL servers for RelStorage: tests/support/postgres.py).

Every process is started in its own session and stopped by its PID; every
wait is bounded in time.
"""

from contextlib import contextmanager
from pathlib import Path

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request


REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ADMIN = ("admin", "admin")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout, interval=0.2, message="condition"):
    """Call `predicate` until it returns a true value; fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{message} not reached within {timeout}s")


def port_open(port):
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Process:
    """A child process in its own session, logging to a file."""

    def __init__(self, args, log, env=None, **popen):
        """`popen`: more subprocess.Popen arguments (cwd, user, group...)."""
        self.args = args
        self.log = Path(log)
        self.env = env
        self.popen_arguments = popen
        self.popen = None

    def start(self):
        environ = dict(os.environ)
        environ.update(self.env or {})
        self.popen = subprocess.Popen(
            self.args,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=environ,
            start_new_session=True,
            **self.popen_arguments,
        )
        return self

    @property
    def pid(self):
        return self.popen.pid

    def running(self):
        return self.popen is not None and self.popen.poll() is None

    def stop(self, timeout=30):
        """SIGTERM, then SIGKILL if it does not exit in time."""
        if not self.running():
            return
        os.kill(self.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self):
        if self.running():
            os.kill(self.pid, signal.SIGKILL)
            self.popen.wait(timeout=30)

    def output(self):
        return self.log.read_text(errors="replace") if self.log.exists() else ""


ZEO_CONF = """\
<zeo>
  address 127.0.0.1:{port}
</zeo>
<filestorage 1>
  path {directory}/Data.fs
  blob-dir {directory}/blobs
</filestorage>
"""


class ZEOServer:
    def __init__(self, directory):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        config = self.directory / "zeo.conf"
        config.write_text(ZEO_CONF.format(port=self.port, directory=self.directory))
        self.process = Process(
            [str(BIN / "runzeo"), "-C", str(config)], self.directory / "zeo.log"
        )

    def start(self):
        self.process.start()
        wait_for(lambda: port_open(self.port), 30, message="ZEO server listening")
        return self

    def stop(self):
        self.process.stop()


FILESTORAGE = """\
<zodb_db main>
  <filestorage>
    path {instance}/var/Data.fs
    blob-dir {instance}/var/blobstorage
  </filestorage>
  mount-point /
</zodb_db>
"""

ZEOCLIENT = """\
<zodb_db main>
  <zeoclient>
    server 127.0.0.1:{zeo_port}
    name zeostorage
    var {instance}/var
    blob-dir {instance}/var/blobcache
    shared-blob-dir off
  </zeoclient>
  mount-point /
</zodb_db>
"""

# History-free, as most Plone sites on RelStorage run: the queue's many small
# writes would otherwise pile up old revisions until a pack. The blob cache is
# per instance (shared-blob-dir false): blobs live in PostgreSQL.
RELSTORAGE = """\
%import relstorage
<zodb_db main>
  <relstorage>
    keep-history false
    blob-dir {instance}/var/blobcache
    shared-blob-dir false
    <postgresql>
      dsn {dsn}
    </postgresql>
  </relstorage>
  mount-point /
</zodb_db>
"""

ZOPE_CONF = """\
%define INSTANCE {instance}
instancehome $INSTANCE
clienthome $INSTANCE/var
debug-mode off
default-zpublisher-encoding utf-8
<environment>
  CHAMELEON_CACHE {instance}/var/cache
</environment>
{storage}
<product-config collective.cron>
{product_config}
</product-config>
"""

ZOPE_INI = """\
[app:zope]
use = egg:Zope#main
zope_conf = %(here)s/zope.conf

[server:main]
use = egg:waitress#main
host = 127.0.0.1
port = {port}
threads = 2

[pipeline:main]
pipeline =
    egg:Zope#httpexceptions
    zope

[loggers]
keys = root

[handlers]
keys = console

[formatters]
keys = generic

[formatter_generic]
format = %(asctime)s %(levelname)s [%(name)s][%(threadName)s] %(message)s

[logger_root]
level = INFO
handlers = console

[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = NOTSET
formatter = generic
"""


class Instance:
    """A Zope WSGI instance like `make run` writes, in a temporary directory."""

    def __init__(
        self,
        directory,
        zeo=None,
        product_config=None,
        env=None,
        zcml="",
        relstorage=None,
        bin=None,
    ):
        """A FileStorage instance, or a client of `zeo` (a ZEOServer) or of
        RelStorage on PostgreSQL (`relstorage`: a libpq DSN).

        `zcml`: directives added to site.zcml (test runners, for example).
        `bin`: the scripts (runwsgi, zconsole) of another venv; default this
        interpreter's.
        """
        self.directory = Path(directory)
        self.port = free_port()
        self.zeo = zeo
        self.relstorage = relstorage
        self.bin = Path(bin) if bin else BIN
        # The repository on the path: instances may load tests.support modules.
        self.env = {"PYTHONPATH": str(REPO), **(env or {})}
        for sub in ("etc", "var/cache", "var/blobstorage", "var/blobcache"):
            (self.directory / sub).mkdir(parents=True, exist_ok=True)
        settings = {"server-url": f"http://127.0.0.1:{self.port}"}
        settings.update(product_config or {})
        if relstorage:
            storage = RELSTORAGE.format(instance=self.directory, dsn=relstorage)
        else:
            storage = (ZEOCLIENT if zeo else FILESTORAGE).format(
                instance=self.directory, zeo_port=zeo.port if zeo else None
            )
        (self.directory / "etc" / "zope.conf").write_text(
            ZOPE_CONF.format(
                instance=self.directory,
                storage=storage,
                product_config="\n".join(f"  {k} {v}" for k, v in settings.items()),
            )
        )
        (self.directory / "etc" / "zope.ini").write_text(
            ZOPE_INI.format(port=self.port)
        )
        site_zcml = (REPO / "etc" / "site.zcml").read_text()
        if zcml:
            site_zcml = site_zcml.replace("</configure>", f"{zcml}\n</configure>")
        (self.directory / "etc" / "site.zcml").write_text(site_zcml)
        self.process = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/Plone"

    def zconsole(self, script, env=None, timeout=300):
        """Run a script with `app` bound, as a non-worker process."""
        environ = dict(os.environ, **self.env)
        environ.update(COLLECTIVE_CRON_WORKER="off", **(env or {}))
        result = subprocess.run(
            [
                str(self.bin / "zconsole"),
                "run",
                str(self.directory / "etc" / "zope.conf"),
                script,
            ],
            capture_output=True,
            text=True,
            env=environ,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        if result.returncode:
            raise AssertionError(
                f"zconsole {script} failed:\n{result.stdout}\n{result.stderr}"
            )
        return result.stdout

    def create_site(self):
        return self.zconsole(
            str(REPO / "scripts" / "create_site.py"), {"CREATE_DEMO_CRON": "0"}
        )

    def start(self, timeout=120):
        self.process = Process(
            [str(self.bin / "runwsgi"), str(self.directory / "etc" / "zope.ini")],
            self.directory / "instance.log",
            env=self.env,
        ).start()

        def served():
            if not self.process.running():
                raise AssertionError(f"instance exited:\n{self.process.output()}")
            try:
                return self.request("GET", "") is not None
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                return False

        wait_for(served, timeout, interval=0.5, message=f"instance on port {self.port}")
        return self

    def stop(self):
        if self.process is not None:
            self.process.stop()

    def kill(self):
        if self.process is not None:
            self.process.kill()

    @property
    def pid(self):
        return self.process.pid

    def get(self, path, headers=None):
        """GET a page as admin: (status, content type, text), errors included."""
        token = base64.b64encode(":".join(ADMIN).encode()).decode()
        request = urllib.request.Request(
            f"{self.url}/{path}".rstrip("/"),
            headers={"Authorization": f"Basic {token}", **(headers or {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                status, headers, body = answer.status, answer.headers, answer.read()
        except urllib.error.HTTPError as error:
            status, headers, body = error.code, error.headers, error.read()
        return status, headers.get("Content-Type", ""), body.decode("utf-8")

    def request(self, method, path, data=None):
        token = base64.b64encode(":".join(ADMIN).encode()).decode()
        body = json.dumps(data).encode() if data is not None else None
        request = urllib.request.Request(
            f"{self.url}/{path}".rstrip("/"),
            data=body,
            method=method,
            headers={
                "Accept": "application/json",
                "Content-Type": "application/json",
                "Authorization": f"Basic {token}",
            },
        )
        with urllib.request.urlopen(request, timeout=20) as response:
            text = response.read()
            return json.loads(text) if text else {}

    def set_crons(self, crons, activated=True):
        """Replace the crontab through @registry (validated and synced)."""
        self.request(
            "PATCH",
            "@registry",
            {
                "collective.cron.interfaces.IRegistryCrontab.crontab": [
                    json.dumps(cron) for cron in crons
                ],
                "collective.cron.interfaces.IRegistryCrontab.activated": activated,
            },
        )

    def cron(self, uid):
        return self.request("GET", f"@crons/{uid}")


@contextmanager
def _workers(directory, product_config, count, names, **storage):
    """`count` worker instances on one database, the first creating the site."""
    workers = [
        Instance(
            Path(directory) / f"w{n}",
            product_config=product_config,
            env={"COLLECTIVE_CRON_WORKER_NAME": names[n - 1]} if names else None,
            **storage,
        )
        for n in range(1, count + 1)
    ]
    try:
        workers[0].create_site()
        for worker in workers:
            worker.start()
        yield workers
    finally:
        for worker in workers:
            worker.stop()


@contextmanager
def zeo_cluster(directory, product_config, count=3, names=None):
    """A ZEO server and `count` worker instances with a Plone site, started.

    `names`: worker names (COLLECTIVE_CRON_WORKER_NAME), one per instance;
    default host:pid. Yields the instances; stops all by PID afterwards.
    """
    directory = Path(directory)
    zeo = ZEOServer(directory / "zeo").start()
    try:
        with _workers(directory, product_config, count, names, zeo=zeo) as workers:
            yield workers
    finally:
        zeo.stop()


@contextmanager
def relstorage_cluster(directory, product_config, count=3, names=None):
    """Like `zeo_cluster`, on RelStorage: a throwaway PostgreSQL server and
    `count` worker instances whose storage is a database of it."""
    from tests.support.postgres import PostgreSQLServer

    directory = Path(directory)
    server = PostgreSQLServer(directory / "postgresql").start()
    try:
        dsn = server.create_database("plone")
        with _workers(
            directory, product_config, count, names, relstorage=dsn
        ) as workers:
            yield workers
    finally:
        server.stop()
