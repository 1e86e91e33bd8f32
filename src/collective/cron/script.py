"""The `collective-cron` console script: collective.cron.cli, started quietly.

Plone's packages warn about their own deprecations when they are imported
and while Zope starts (pkg_resources, on Plone 6.0 and 6.1). At a shell that
is noise around our one-line errors, so the script imports the command line
with warnings off, unless asked for them (python -W, PYTHONWARNINGS).
"""

import sys
import warnings


def main(argv=None):
    with warnings.catch_warnings():
        if not sys.warnoptions:
            warnings.simplefilter("ignore")
        from collective.cron import cli

        return cli.main(argv)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
