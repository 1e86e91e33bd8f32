"""http-request: call a URL, log its status and timing (webhooks, monitors)."""

from collective.cron import _
from collective.cron.results import Result
from collective.cron.tasks.base import Task
from collective.cron.tasks.base import TaskFailed
from collective.cron.tasks.options import Option
from collective.cron.tasks.options import choice
from collective.cron.tasks.options import headers
from collective.cron.tasks.options import http_url
from collective.cron.tasks.options import number
from collective.cron.tasks.options import statuses

import json
import time
import urllib.error
import urllib.request


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
# Bytes of an unexpected answer quoted in the log.
QUOTED = 300


def _body(name, value):
    """A text is sent as it is; any other JSON value as JSON (the environ is
    JSON already: nothing else to check)."""
    return value


class HTTPRequest(Task):
    title = _("HTTP request: call a URL")
    description = _(
        "Calls a URL and logs its status and timing: webhooks, pinging an "
        'uptime monitor. Environ: "url" (required), "method" (GET), '
        '"headers" ({...}), "body" (text or JSON), "timeout" (seconds, 30), '
        '"expect" (a status or a list; default any 2xx).'
    )
    options = (
        Option("url", http_url),
        Option("method", choice(*METHODS), default="GET"),
        Option("headers", headers, default={}),
        Option("body", _body, default=None),
        Option("timeout", number(0.1, 300), default=30.0),
        Option("expect", statuses, default=None),
    )

    def work(self, url, method, headers, body, timeout, expect):
        data = None
        headers = dict(headers)
        if body is not None:
            if isinstance(body, str):
                data = body.encode("utf-8")
            else:
                data = json.dumps(body).encode("utf-8")
                if not any(key.lower() == "content-type" for key in headers):
                    headers["Content-Type"] = "application/json"
        headers.setdefault("User-Agent", "collective.cron")
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                status, reason, content = answer.status, answer.reason, answer.read()
        except urllib.error.HTTPError as error:
            status, reason, content = error.code, error.reason, error.read()
        except (TimeoutError, urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            took = time.monotonic() - started
            raise TaskFailed(f"{method} {url} failed after {took:.3f}s: {reason}")
        took = time.monotonic() - started
        line = f"{method} {url} answered {status} {reason} in {took:.3f}s"
        wanted = status in expect if expect else 200 <= status < 300
        if not wanted:
            expected = ", ".join(map(str, expect)) if expect else "2xx"
            quoted = content[:QUOTED].decode("utf-8", "replace")
            raise TaskFailed(f"{line} (expected {expected}): {quoted}")
        return Result("OK", [line, f"{len(content)} bytes"])
