"""Operations test fixtures: the CLI's commands run in this process on the
functional layer's site (real commits); tests/operations/test_cli_instance.py
runs the installed script against a real instance."""

from collective.cron import cli
from collective.cron.crontab import Cron
from collective.cron.crontab import Crontab
from zope.component.hooks import setSite

import io
import pytest
import transaction


@pytest.fixture
def site(functional_portal):
    setSite(functional_portal)
    return functional_portal


@pytest.fixture
def command(site):
    """command(*argv) -> (exit code, stdout, error line or ""), in-process."""

    def run(*argv):
        out = io.StringIO()
        try:
            args = cli.build_parser().parse_args(list(argv))
            code = cli.execute(site, args, out)
            error = ""
        except cli.CliError as failure:
            transaction.abort()
            code, error = cli.OTHER, str(failure)
        finally:
            setSite(site)
        transaction.begin()
        return code, out.getvalue(), error

    return run


@pytest.fixture
def add_cron(site):
    def add(**settings):
        crontab = Crontab.load()
        settings.setdefault("periodicity", "*/10 * * * *")
        cron = Cron(crontab=crontab, **settings)
        crontab.save()
        transaction.commit()
        return cron

    return add


def logs_of(uid):
    transaction.begin()
    return Crontab.load(uids=[uid]).by_uid(uid).logs
