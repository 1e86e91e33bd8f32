"""The base of the bundled tasks: options from the environ, then the work."""

from collective.cron.crontab import Runner
from collective.cron.tasks.options import clean


PREFIX = "collective.cron.tasks."


class TaskFailed(Exception):
    """The task could not do its work: the run ends FAILURE with this message
    (and is retried when the cron has retries)."""


class Task(Runner):
    """A runner whose environ is declared as `options` and checked first."""

    options = ()

    @classmethod
    def check_environ(cls, environ):
        """The task's settings from `environ`, or InvalidCron naming a bad one."""
        return clean(cls.options, environ or {})

    def run(self):
        return self.work(**self.check_environ(self.cron.environ))

    def work(self, **settings):  # pragma: no cover - every task has its own
        raise NotImplementedError

    @property
    def site_path(self):
        return "/".join(self.context.getPhysicalPath())
