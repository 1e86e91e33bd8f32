"""A page in the 2.x style: last status of each cron, via 2.x names."""

from collective.cron import crontab
from collective.cron.interfaces import job_status
from Products.Five import BrowserView


class CronStatus(BrowserView):
    def __call__(self):
        lines = []
        for cron in crontab.Crontab.load().crons.values():
            status = cron.last_status
            title = "never run" if status is None else job_status.getTerm(status).title
            lines.append(f"{cron.name}: {title} {cron.slast}".strip())
        self.request.response.setHeader("Content-Type", "text/plain")
        return "\n".join(lines)
