"""Upgrade to 1005: build the index of each cron's newest runs
(collective.cron.recent) from the history the site already keeps."""

from collective.cron.history import History
from zope.component.hooks import getSite


def build_recent_runs_index(setup_tool):
    History(getSite()).recent().build()
