"""docs/api.md documents names that exist: every dotted collective.cron name,
and every member listed in its `Crontab` and `Cron` tables."""

from collective.cron.crontab import Cron
from collective.cron.crontab import Crontab
from pathlib import Path
from zope.dottedname.resolve import resolve
from zope.interface.interfaces import IInterface

import pytest
import re
import subprocess
import sys


API = (Path(__file__).resolve().parents[1] / "docs" / "api.md").read_text()


def test_dotted_names_resolve():
    names = set(re.findall(r"`(collective\.cron(?:\.[A-Za-z_]\w*)+)`", API))
    assert names, "docs/api.md names no dotted name"
    missing = [name for name in sorted(names) if not exists(name)]
    assert missing == []


def exists(dotted):
    try:
        resolve(dotted)
        return True
    except (ImportError, AttributeError):
        pass
    # A field of an interface (registry records are named after them).
    parent, _, name = dotted.rpartition(".")
    try:
        owner = resolve(parent)
    except (ImportError, AttributeError):
        return False
    return IInterface.providedBy(owner) and name in owner


def table_members(title):
    """Member names in the first column of the table headed `title`."""
    table = API.split(f"| `{title}` | |\n", 1)[1].split("\n\n", 1)[0]
    members = []
    for row in table.splitlines()[1:]:
        first = row.split("|")[1]
        for code in re.findall(r"`([^`]+)`", first):
            name = code.split("(")[0].removeprefix(f"{title}.")
            if name.isidentifier() and name != "repr":
                members.append(name)
    return members


def test_crontab_and_cron_members_exist():
    cron = Cron(name="x", periodicity="@daily", crontab=Crontab())
    for owner, title in ((cron.crontab, "Crontab"), (cron, "Cron")):
        members = table_members(title)
        assert len(members) > 8, members
        missing = [name for name in members if not hasattr(owner, name)]
        assert missing == [], f"{title} lacks {missing}"


def test_docs_build(tmp_path):
    """`make docs` would pass: Sphinx builds the site from docs/ with
    warnings as errors (a broken link, an unlisted page, a docstring that
    does not render)."""
    pytest.importorskip("sphinx", reason="the docs extra is not installed")
    docs = Path(__file__).resolve().parents[1] / "docs"
    build = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-E", "-q"]
        + ["-b", "html", str(docs), str(tmp_path / "html")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stderr
    assert (tmp_path / "html" / "tutorial.html").exists()
    assert (tmp_path / "html" / "reference" / "interfaces.html").exists()
    # The browser tests' screenshots, shown by the tutorial.
    assert (tmp_path / "html" / "_images" / "cron-dashboard.png").exists()
