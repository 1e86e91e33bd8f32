"""A harmless runner for the development site made by `make run`.

Registered by demo.zcml, which only the development instance includes.
"""

from collective.cron import logger
from collective.cron.crontab import Runner


DEMO_NAME = "collective.cron.demo"


class DemoRunner(Runner):
    """Logs a greeting naming the site and the cron's environ["greeting"]."""

    def run(self):
        greeting = self.cron.environ.get("greeting", "Hello")
        logger.info(
            "%s from cron %s in %s", greeting, self.cron.uid, self.context.getId()
        )
