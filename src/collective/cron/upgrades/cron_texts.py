"""Upgrade to 1006: build the index of each cron's stored text by uid
(collective.cron.crontexts) from the crontab record."""

from collective.cron.crontab import Crontab


def build_cron_text_index(setup_tool):
    Crontab().manager.reindex()
