"""A throwaway PostgreSQL cluster for RelStorage tests, on a 127.0.0.1 free port.

Debian's server binaries (`make test` installs the `postgresql` package) run
from a temporary directory: `initdb`, then the `postgres` server itself as a
child process, stopped by its PID. PostgreSQL refuses to run as root, so under
root both run as the `postgres` system user. The cluster listens on 127.0.0.1
only (no Unix socket) and asks for a password.
"""

from pathlib import Path
from tests.support.instances import Process
from tests.support.instances import free_port
from tests.support.instances import wait_for

import glob
import os
import pwd
import pytest
import secrets
import shutil
import signal
import subprocess
import tempfile


SUPERUSER = "postgres"


def server_bin():
    """The newest Debian PostgreSQL bin directory, or one holding `initdb`."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda path: int(Path(path).parts[-3]),
    )
    if candidates:
        return Path(candidates[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def unavailable():
    """Why the PostgreSQL tests cannot run here, or None when they can."""
    try:
        import psycopg2  # noqa: F401
        import relstorage  # noqa: F401
    except ImportError as error:
        return f"RelStorage's PostgreSQL driver is not installed ({error})"
    if server_bin() is None:
        return "PostgreSQL is not installed (make test installs Debian's postgresql)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SUPERUSER)
        except KeyError:
            return "running as root and there is no 'postgres' system user"
    return None


def postgresql_or_skip():
    """Skip where PostgreSQL is missing; in CI (which installs it), fail."""
    reason = unavailable()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"the PostgreSQL tests must run in CI: {reason}")
        pytest.skip(reason)


class PostgreSQLServer:
    """`initdb` + `postgres` in a fresh directory; `stop()` removes it all."""

    def __init__(self, log_directory):
        self.bin = server_bin()
        self.port = free_port()
        self.password = secrets.token_hex(12)
        self.log = Path(log_directory) / "postgresql.log"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        # Outside pytest's tmp_path: that one is root-only (0700), and the
        # server user must be able to reach its data directory.
        self.directory = Path(tempfile.mkdtemp(prefix="collective-cron-pg-"))
        self.data = self.directory / "data"
        self.user = None
        if os.geteuid() == 0:
            self.user = pwd.getpwnam(SUPERUSER)
            os.chown(self.directory, self.user.pw_uid, self.user.pw_gid)
        self.process = None

    def _as_server_user(self):
        if self.user is None:
            return {}
        return {
            "user": self.user.pw_uid,
            "group": self.user.pw_gid,
            "extra_groups": [],
        }

    def start(self, timeout=60):
        pwfile = self.directory / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self.user is not None:
            os.chown(pwfile, self.user.pw_uid, self.user.pw_gid)
        pwfile.chmod(0o600)
        with self.log.open("ab") as log:
            subprocess.run(
                [
                    str(self.bin / "initdb"),
                    "--pgdata",
                    str(self.data),
                    "--username",
                    SUPERUSER,
                    "--pwfile",
                    str(pwfile),
                    "--auth",
                    "scram-sha-256",
                    "--encoding",
                    "UTF8",
                    "--locale",
                    "C",
                    "--no-sync",  # a throwaway cluster: no need to wait for the disk
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.directory,
                check=True,
                timeout=timeout,
                **self._as_server_user(),
            )
        pwfile.unlink()
        self.process = Process(
            [
                str(self.bin / "postgres"),
                "-D",
                str(self.data),
                "-p",
                str(self.port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "unix_socket_directories=",
                # Durability is not under test; speed on a shared 2-core box is.
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ],
            self.log,
            cwd=self.directory,
            **self._as_server_user(),
        ).start()
        wait_for(self.ready, timeout, interval=0.2, message="PostgreSQL accepting")
        return self

    def ready(self):
        if not self.process.running():
            raise AssertionError(f"postgres exited:\n{self.process.output()}")
        result = subprocess.run(
            [str(self.bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=10,
        )
        return result.returncode == 0

    def dsn(self, dbname):
        return (
            f"dbname='{dbname}' user='{SUPERUSER}' password='{self.password}' "
            f"host='127.0.0.1' port='{self.port}'"
        )

    def create_database(self, name):
        import psycopg2

        connection = psycopg2.connect(self.dsn("postgres"), connect_timeout=10)
        try:
            # CREATE DATABASE cannot run inside a transaction block.
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            connection.close()
        return self.dsn(name)

    def stop(self, timeout=30):
        """Fast shutdown (SIGINT: ends client sessions), then the directory."""
        try:
            if self.process is not None and self.process.running():
                os.kill(self.process.pid, signal.SIGINT)
                try:
                    self.process.popen.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    # The server's own session: its backends go with it.
                    os.killpg(self.process.pid, signal.SIGKILL)
                    self.process.popen.wait(timeout=timeout)
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)
