"""Runners that test instances load (see Instance(zcml=RUNNERS_ZCML)).

They send mail through the site's MailHost, the way an add-on's newsletter
job would, so a test can watch a real worker process deliver it.
"""

from collective.cron.crontab import Runner
from plone import api


class MailRunner(Runner):
    """Mails environ["subject"] to environ["to"]."""

    def run(self):
        api.portal.send_email(
            recipient=self.cron.environ["to"],
            subject=self.cron.environ["subject"],
            body=f"Sent by the cron {self.cron.uid}",
        )


class MailThenFailRunner(MailRunner):
    """Sends, then raises: the mail must never leave."""

    def run(self):
        super().run()
        raise RuntimeError("failed after sending")


RUNNERS_ZCML = """
  <adapter factory="tests.support.runners.MailRunner" name="tests.mail" />
  <adapter factory="tests.support.runners.MailThenFailRunner"
           name="tests.mail-then-fail" />
"""
