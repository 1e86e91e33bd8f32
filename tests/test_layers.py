"""The module layers of pyproject.toml's import-linter contract hold
(channels > engine > storage > model > contracts): `make lint` checks them,
and so does the test suite, so CI does."""

from pathlib import Path

import subprocess
import sys


REPO = Path(__file__).resolve().parents[1]


def test_import_layers_contract_is_kept():
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint_imports), "--no-cache"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 1 kept, 0 broken." in result.stdout
