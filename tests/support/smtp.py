"""A real SMTP server on 127.0.0.1 that keeps what it receives (aiosmtpd).

Mail sent by a run goes through the site's real MailHost and zope.sendmail to
this server, as it would to a site's mail relay.
"""

from aiosmtpd.controller import Controller
from contextlib import contextmanager
from email import message_from_bytes
from email import policy
from tests.support.instances import free_port

import threading


class _Keeper:
    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        with self.lock:
            self.messages.append((envelope.mail_from, envelope.rcpt_tos, message))
        return "250 Message accepted for delivery"


class SMTPSink:
    """Start with start(), read .messages, stop with stop()."""

    def __init__(self):
        self.port = free_port()
        self._keeper = _Keeper()
        self._controller = Controller(
            self._keeper, hostname="127.0.0.1", port=self.port
        )

    def start(self):
        self._controller.start()
        return self

    def stop(self):
        self._controller.stop()

    @property
    def messages(self):
        """(sender, recipients, email.message.Message) in order of arrival."""
        with self._keeper.lock:
            return list(self._keeper.messages)

    def subjects(self):
        return [message["Subject"] for _, _, message in self.messages]

    def clear(self):
        with self._keeper.lock:
            self._keeper.messages.clear()


@contextmanager
def site_mail_to_sink(sender, name):
    """An SMTPSink the current site's mail settings point at (committed),
    with `sender` / `name` as the site's From; stopped afterwards."""
    from plone import api

    import transaction

    sink = SMTPSink().start()
    # zope.sendmail's mailer reads the server from Site Setup > Mail.
    api.portal.set_registry_record("plone.smtp_host", "127.0.0.1")
    api.portal.set_registry_record("plone.smtp_port", sink.port)
    api.portal.set_registry_record("plone.email_from_address", sender)
    api.portal.set_registry_record("plone.email_from_name", name)
    transaction.commit()
    try:
        yield sink
    finally:
        sink.stop()
