"""A harmless runner for the development site made by `make run`.

Registered by demo.zcml, which only the development instance includes.
"""

from collective.cron import logger
from collective.cron.crontab import Runner

import time


DEMO_NAME = "collective.cron.demo"


class DemoRunner(Runner):
    """Logs a greeting naming the site and the cron's environ["greeting"].

    environ["sleep"] (seconds) makes it take that long: tests use it for
    slow jobs.
    """

    title = "Demo: log a greeting"
    description = (
        'Logs environ["greeting"] (default "Hello"); environ["sleep"] makes '
        "it take that many seconds."
    )

    def run(self):
        pause = float(self.cron.environ.get("sleep") or 0)
        if pause > 0:
            time.sleep(min(pause, 3600))
        greeting = self.cron.environ.get("greeting", "Hello")
        logger.info(
            "%s from cron %s in %s", greeting, self.cron.uid, self.context.getId()
        )
