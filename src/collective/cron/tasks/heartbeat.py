"""heartbeat: log a line, the smoke test of a site's scheduler."""

from collective.cron import _
from collective.cron import clock
from collective.cron import logger
from collective.cron.crontab import format_date
from collective.cron.results import Result
from collective.cron.tasks.base import Task
from collective.cron.tasks.options import Option
from collective.cron.tasks.options import text


class Heartbeat(Task):
    title = _("Heartbeat: log a line")
    description = _(
        "Writes a line to the Zope log and the cron's log: proves that the "
        'site\'s crons run. Environ: "message" (optional text).'
    )
    options = (Option("message", text(500), default="heartbeat"),)

    def work(self, message):
        line = (
            f"{message}: cron {self.cron.uid} of {self.site_path} ran at "
            f"{format_date(clock.now())} UTC"
        )
        logger.info(line)
        return Result("OK", line)
