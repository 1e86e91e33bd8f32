"""A real SMTP server on 127.0.0.1 that keeps what it receives (aiosmtpd).

Mail sent by a run goes through the site's real MailHost and zope.sendmail to
this server, as it would to a site's mail relay.
"""

from aiosmtpd.controller import Controller
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
