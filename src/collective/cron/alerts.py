"""E-mail alerts: tell people when a cron fails, recovers, or stops running.

Per cron: `notify` ("never", "failure", "failure_recovery", "always"),
`recipients` (addresses; none: the site-wide default record, else the site's
sender address) and `alert_after` (minutes without an OK run before a "no
success since" alert). Repeated failures send one mail per change of state
and at most one reminder an hour; "recovered" is sent once.

Mail goes through the site's MailHost when the run's transaction has
committed (an after-commit hook): an alert is never sent for a run that was
rolled back, and an unreachable mail server never fails a run (its error is
logged).
"""

from collective.cron import clock
from collective.cron import logger
from collective.cron.crontab import format_date
from collective.cron.history import History
from collective.cron.interfaces import IQueue
from collective.cron.status import Status
from datetime import timedelta
from email.utils import formataddr
from plone import api
from urllib.parse import quote

import transaction


NOTIFY_MODES = ("never", "failure", "failure_recovery", "always")
DEFAULT_RECIPIENTS_RECORD = "collective.cron.alert_recipients"
REMINDER_EVERY = timedelta(hours=1)
TRACEBACK_LINES = 15

OK, FAILING, SILENT = "ok", "failing", "silent"


def recipients_of(cron):
    """The cron's own recipients, else the site-wide default, else the
    site's sender address."""
    addresses = list(getattr(cron, "recipients", None) or ())
    if not addresses:
        default = api.portal.get_registry_record(
            DEFAULT_RECIPIENTS_RECORD, default=None
        )
        addresses = [address for address in default or () if address]
    if not addresses:
        sender = api.portal.get_registry_record(
            "plone.email_from_address", default=None
        )
        addresses = [sender] if sender else []
    return addresses


def cron_url(site, cron):
    return f"{site.absolute_url()}/@@cron?uid={quote(cron.uid, safe='')}"


def _body(site, cron, headline, log=None, since=None):
    lines = [
        headline,
        "",
        f"Site: {site.Title()} ({site.absolute_url()})",
        f"Cron: {getattr(cron, 'title', None) or cron.name} "
        f"(name {cron.name}, uid {cron.uid})",
        f"Page: {cron_url(site, cron)}",
    ]
    if since is not None:
        lines.append(f"Last successful run: {format_date(since) or 'never'}")
    if log is not None:
        details = log.details
        lines += [
            f"Status: {Status(log.status).name}",
            (
                f"Scheduled: run now (queued {details.get('due', '')} UTC)"
                if details.get("forced")
                else f"Scheduled: {details.get('due', '')} UTC"
            ),
            f"Started: {log.sdate} UTC",
            f"Duration: {details.get('duration', 0)} s",
        ]
        if log.messages:
            lines += ["", "Messages:", *[f"  {text}" for text in log.messages]]
        trace = details.get("traceback")
        if trace:
            tail = trace.rstrip().splitlines()[-TRACEBACK_LINES:]
            lines += ["", "Traceback (last lines):", *tail]
    return "\n".join(lines) + "\n"


def _send_after_commit(site, cron, subject, body):
    """Queue a mail for when the current transaction commits."""
    recipients = recipients_of(cron)
    sender = api.portal.get_registry_record("plone.email_from_address", default=None)
    if not recipients or not sender:
        logger.warning(
            "Cron %s: alert %r not sent: no recipients or no site sender address "
            "(Site Setup > Mail)",
            cron.uid,
            subject,
        )
        return False
    name = api.portal.get_registry_record("plone.email_from_name", default="") or ""
    mailhost = api.portal.get_tool("MailHost")

    def send(committed):
        if not committed:
            return
        try:
            mailhost.send(
                body,
                mto=recipients,
                mfrom=formataddr((name, sender)),
                subject=subject,
                charset="utf-8",
                immediate=True,
            )
        except Exception:
            logger.exception("Cron %s: alert %r could not be sent", cron.uid, subject)

    transaction.get().addAfterCommitHook(send)
    return True


def _subject(site, cron, what):
    return f"[{site.Title()}] cron {getattr(cron, 'title', None) or cron.name}: {what}"


def _start_failing(site, cron, history, now, what, headline, log):
    """Mail that the cron started failing and remember it is failing.

    A mail that could not be queued (no address yet) is not "sent": the
    next failure tries again instead of waiting for the hourly reminder.
    """
    queued = _send_after_commit(
        site, cron, _subject(site, cron, what), _body(site, cron, headline, log)
    )
    history.set_alerts(
        cron.uid, state=FAILING, sent=now if queued else None, failing_since=now
    )


def after_run(site, cron, log, now=None):
    """Decide and queue the alerts of a run just logged (same transaction)."""
    now = now or clock.now()
    mode = getattr(cron, "notify", None) or "never"
    watches_silence = bool(getattr(cron, "alert_after", None))
    if mode == "never" and not watches_silence:
        return
    history = History(site)
    memory = history.alerts(cron.uid)
    state = memory.get("state", OK)
    sent = memory.get("sent")
    if log.status == Status.FAILURE:
        if mode == "never":
            return
        if state != FAILING:
            _start_failing(
                site, cron, history, now, "FAILURE", "A run of this cron failed.", log
            )
        elif sent is None or now - sent >= REMINDER_EVERY:
            since = memory.get("failing_since")
            if _send_after_commit(
                site,
                cron,
                _subject(site, cron, f"still failing since {format_date(since)}"),
                _body(site, cron, "This cron is still failing.", log),
            ):
                history.set_alerts(cron.uid, sent=now)
        return
    updates = {"last_ok": now} if log.status == Status.OK else {}
    # Only a good run ends an alert: OK ends silence; OK or WARN (the runner
    # ran and said something) end failures. NOTRUN (not run) ends nothing.
    clears = log.status == Status.OK or (state == FAILING and log.status == Status.WARN)
    if state != OK and clears:
        if mode in ("failure_recovery", "always") or (
            state == SILENT and watches_silence
        ):
            _send_after_commit(
                site,
                cron,
                _subject(site, cron, "recovered"),
                _body(site, cron, "This cron runs again.", log),
            )
        updates.update(state=OK, sent=None, failing_since=None)
    elif mode == "always":
        _send_after_commit(
            site,
            cron,
            _subject(site, cron, Status(log.status).name),
            _body(site, cron, "A run of this cron ended.", log),
        )
    if updates:
        history.set_alerts(cron.uid, **updates)


def _last_ok_logged(history, uid):
    """When the newest OK log still kept says the cron last ran well."""
    for log in history.logs(uid) or ():
        if log.status == Status.OK:
            return log.date
    return None


def check_silence(site, crontab, now=None):
    """Alert for crons with `alert_after` that had no OK run for that long.

    `crontab`: the site's crontab (settings only). Crons whose job is running
    are left alone (their run decides), and so is a deactivated crontab.
    Queues the mails (sent when the caller commits) and returns how many.
    """
    now = now or clock.now()
    if not crontab.activated:
        return 0
    history = History(site)
    queue = IQueue(site)
    queued = 0
    for cron in crontab:
        minutes = getattr(cron, "alert_after", None)
        if not minutes or not cron.activated or queue.is_job_running(cron.uid):
            continue
        memory = history.alerts(cron.uid)
        since = (
            memory.get("last_ok")
            or _last_ok_logged(history, cron.uid)
            or memory.get("watched_since")
        )
        if since is None:
            history.set_alerts(cron.uid, watched_since=now)
            continue
        if now - since < timedelta(minutes=minutes):
            continue
        state, sent = memory.get("state", OK), memory.get("sent")
        if state == OK or (
            state == SILENT and (sent is None or now - sent >= REMINDER_EVERY)
        ):
            what = "no successful run since " + (
                format_date(memory.get("last_ok")) or "it was added"
            )
            _send_after_commit(
                site,
                cron,
                _subject(site, cron, what),
                _body(
                    site,
                    cron,
                    f"This cron has had no successful run for {minutes} minutes.",
                    since=memory.get("last_ok"),
                ),
            )
            history.set_alerts(cron.uid, state=SILENT, sent=now)
            queued += 1
    return queued


def on_overdue(site, cron, log, now=None):
    """A run goes on past its timeout: alerted as a failure (once; its end
    decides what comes next, "recovered" included)."""
    now = now or clock.now()
    if (getattr(cron, "notify", None) or "never") == "never":
        return
    history = History(site)
    if history.alerts(cron.uid).get("state", OK) == FAILING:
        return
    _start_failing(
        site,
        cron,
        history,
        now,
        "running for too long",
        "A run of this cron goes on past its timeout.",
        log,
    )
