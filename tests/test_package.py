"""The built package works, not only the checkout.

`make run` and the other tests use an editable install; a site installs the
wheel from PyPI. Here the sdist and the wheel are built (`python -m build`:
the wheel from the sdist, so the sdist is known to be complete), the wheel is
installed with the constraints of the Plone under test into a fresh venv (no
editable install, no checkout on the path), and a Zope instance of that venv
serves a site with
collective.cron: the profile, the dashboard, its French and its static files.
"""

from pathlib import Path
from tests.support.instances import REPO
from tests.support.instances import Instance
from tests.support.versions import constraints_file

import html
import json
import os
import pytest
import re
import subprocess
import sys
import tarfile
import time
import zipfile


pytestmark = pytest.mark.slow

# Data files the add-on cannot work without (templates and ZCML are covered
# by the instance starting and serving the dashboard).
PACKAGE_DATA = [
    "collective/cron/locales/fr/LC_MESSAGES/collective.cron.mo",
    "collective/cron/browser/static/cron.js",
    "collective/cron/browser/static/cron.css",
    "collective/cron/profiles/default/metadata.xml",
]


def run(args, timeout, **kwargs):
    result = subprocess.run(
        args,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
        **kwargs,
    )
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    """The sdist and the wheel, built from this checkout with this venv's
    hatchling (no isolated build environment: nothing to download)."""
    outdir = tmp_path_factory.mktemp("dist")
    run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", outdir, REPO],
        timeout=300,
    )
    [sdist] = outdir.glob("collective_cron-*.tar.gz")
    [wheel] = outdir.glob("collective_cron-*.whl")
    return sdist, wheel


def checkout_files(*patterns):
    return {
        str(path.relative_to(REPO))
        for pattern in patterns
        for path in REPO.glob(pattern)
        if "__pycache__" not in path.parts
    }


def test_sdist_has_the_tests_and_docs(dist):
    sdist, _ = dist
    with tarfile.open(sdist) as archive:
        # Members are "collective_cron-VERSION/<path>".
        members = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    expected = checkout_files(
        "tests/**/*.py", "docs/*.md", "README.md", "CHANGES.md", "constraints.txt"
    )
    assert "tests/conftest.py" in expected and "docs/workers.md" in expected
    assert expected - members == set()


def test_wheel_has_the_package_data_and_no_tests(dist):
    _, wheel = dist
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        [entry_points] = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        plugins = archive.read(entry_points).decode()
    assert not [name for name in names if name.startswith("tests/")]
    assert not [name for name in names if name.endswith("conftest.py")]
    assert set(PACKAGE_DATA) <= names
    # plone.autoinclude loads the add-on's ZCML through this entry point.
    assert "[plone.autoinclude.plugin]" in plugins and "target = plone" in plugins


@pytest.fixture(scope="module")
def installed(dist, tmp_path_factory):
    """A fresh venv with the wheel and its dependencies, pinned by the
    constraints of the Plone under test."""
    _, wheel = dist
    venv = tmp_path_factory.mktemp("wheel-venv")
    run([sys.executable, "-m", "venv", venv], timeout=120)
    env = dict(
        os.environ, PIP_CONFIG_FILE="/dev/null", PIP_DISABLE_PIP_VERSION_CHECK="1"
    )
    env.pop("PYTHONPATH", None)
    began = time.monotonic()
    run(
        [
            venv / "bin" / "python",
            "-m",
            "pip",
            "install",
            "--quiet",
            "--constraint",
            constraints_file(REPO),
            wheel,
        ],
        timeout=900,
        env=env,
    )
    print(f"wheel venv installed in {time.monotonic() - began:.0f} s")
    return venv


def test_wheel_installs_as_a_regular_package(installed):
    found = run(
        [
            installed / "bin" / "python",
            "-c",
            "import collective.cron, json, importlib.metadata as m; "
            "d = m.distribution('collective.cron'); "
            "print(json.dumps([collective.cron.__file__, "
            "d.read_text('direct_url.json')]))",
        ],
        timeout=60,
        cwd=installed,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    module, direct_url = json.loads(found)
    assert Path(module).is_relative_to(installed / "lib")
    assert '"editable": true' not in (direct_url or "")


@pytest.fixture(scope="module")
def instance(installed, tmp_path_factory):
    # PYTHONPATH empty: the instance must not see this checkout.
    site = Instance(
        tmp_path_factory.mktemp("wheel-instance"),
        env={"PYTHONPATH": ""},
        bin=installed / "bin",
    )
    site.create_site()
    site.start()
    yield site
    site.stop()


def test_profile_is_installed(instance):
    addon = instance.request("GET", "@addons/collective.cron")
    assert addon["is_installed"] is True
    assert addon["profile_type"] == "default"


def test_dashboard_and_static_resources(instance):
    status, content_type, page = instance.get("@@cron-settings")
    assert status == 200 and content_type.startswith("text/html")
    assert "Cron Dashboard" in page
    scripts = re.findall(r'src="([^"]*/cron\.js)"', page)
    assert scripts, "the dashboard does not load cron.js"
    path = scripts[0].split(instance.url + "/", 1)[1]
    status, content_type, script = instance.get(path)
    assert status == 200 and "javascript" in content_type
    assert script == (REPO / "src/collective/cron/browser/static/cron.js").read_text()
    status, content_type, _ = instance.get("++resource++collective.cron/cron.css")
    assert status == 200 and content_type.startswith("text/css")


def test_dashboard_in_french(instance):
    instance.request(
        "PATCH",
        "@registry",
        {
            "plone.available_languages": ["en", "fr"],
            "plone.use_request_negotiation": True,
        },
    )
    status, _, page = instance.get("@@cron-settings", {"Accept-Language": "fr"})
    assert status == 200
    # The theme writes non-ASCII letters as character references.
    page = html.unescape(page)
    assert "Tableau de bord des tâches planifiées" in page
    assert "Ajouter une tâche" in page
