"""`make run`, the README's first command, serves a Plone site with the add-on.

Runs the real Makefile against a throw-away instance directory on a free
127.0.0.1 port, twice: the second run must reuse the site.
"""

from pathlib import Path
from tests.support.instances import free_port
from tests.support.instances import wait_for
from tests.support.versions import PLONE

import base64
import json
import os
import pytest
import signal
import subprocess
import urllib.error
import urllib.request


pytestmark = pytest.mark.slow


REPO = Path(__file__).resolve().parents[1]
START_TIMEOUT = 180  # seconds; site creation takes ~15 s on 2 cores


def fetch_json(url: str) -> dict:
    token = base64.b64encode(b"admin:admin").decode()
    request = urllib.request.Request(
        url, headers={"Accept": "application/json", "Authorization": f"Basic {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def start_make_run(instance: Path, port: int, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        ["make", "run", f"INSTANCE={instance}", f"PORT={port}"],
        cwd=REPO,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # own process group: stopped as a whole below
    )


def wait_until_served(process: subprocess.Popen, url: str, log: Path) -> None:
    def served():
        if process.poll() is not None:
            pytest.fail(
                f"make run exited with {process.returncode}:\n{log.read_text()}"
            )
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status == 200
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    wait_for(served, START_TIMEOUT, interval=1, message=f"{url} served")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.mark.skipif(
    PLONE < (6, 2), reason="make run installs Plone 6.2 into .venv: make test runs it"
)
def test_make_run_serves_site_with_addon_and_is_idempotent(tmp_path):
    instance = tmp_path / "instance"
    port = free_port()
    site_url = f"http://127.0.0.1:{port}/Plone"

    first_log = tmp_path / "first.log"
    process = start_make_run(instance, port, first_log)
    try:
        wait_until_served(process, site_url, first_log)
        addon = fetch_json(f"{site_url}/@addons/collective.cron")
        assert addon["is_installed"] is True
        activated = fetch_json(
            f"{site_url}/@registry/collective.cron.interfaces.IRegistryCrontab.activated"
        )
        assert activated is True
        crontab = fetch_json(
            f"{site_url}/@registry/collective.cron.interfaces.IRegistryCrontab.crontab"
        )
        demo = [json.loads(text) for text in crontab]
        assert [(c["name"], c["periodicity"]) for c in demo] == [
            ("collective.cron.demo", "*/1 * * * *")
        ]
    finally:
        stop(process)
    first = first_log.read_text()
    assert "Created Plone site /Plone" in first
    assert "Added the demo cron" in first
    assert f"http://localhost:{port}/Plone" in first
    assert "admin / admin" in first

    second_log = tmp_path / "second.log"
    process = start_make_run(instance, port, second_log)
    try:
        wait_until_served(process, site_url, second_log)
    finally:
        stop(process)
    second = second_log.read_text()
    assert "Created Plone site" not in second
    assert "Installing Plone" not in second
