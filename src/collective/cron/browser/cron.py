"""@@cron?uid=...: one cron's settings, next runs, actions and logs."""

from collective.cron import _
from collective.cron import clock
from collective.cron.alerts import recipients_of
from collective.cron.audit import AuditTrail
from collective.cron.browser.base import CronViewBase
from collective.cron.browser.changes import ChangesMixin
from collective.cron.browser.runs import chart_svg
from collective.cron.errors import InvalidCron
from collective.cron.history import History
from collective.cron.interfaces import ICronManager
from collective.cron.interfaces import IQueue
from collective.cron.schedule import site_timezone
from collective.cron.settings import NOTIFY
from collective.cron.status import Status
from datetime import datetime
from plone.batching import Batch
from Products.Five.browser.pagetemplatefile import ViewPageTemplateFile
from zope.component import getMultiAdapter
from zope.i18n import translate

import json


LOGS_PER_PAGE = 10
CHANGES_ON_PAGE = 10


class CronPage(ChangesMixin, CronViewBase):
    template = ViewPageTemplateFile("templates/cron.pt")

    def __call__(self):
        self.crontab, self.cron = self.load_cron()
        form = self.request.form
        action = form.get("cron_action")
        if action == "run-cron":
            return self.run()
        if action == "delete-cron":
            return self.delete()
        if action == "pause-cron":
            return self.pause_cron()
        if action == "resume-cron":
            return self.resume_cron()
        if "logdelete" in form:
            return self.delete_logs()
        if "logdeletetop" in form:
            return self.delete_all_logs()
        self.job = IQueue(self.context).job(self.cron.uid)
        return self.template()

    # -- actions --------------------------------------------------------------

    def run(self):
        self.check_post()
        environ = (self.request.form.get("run_environ") or "").strip() or None
        try:
            getMultiAdapter((self.context, self.cron), ICronManager).register_job(
                force=True, environ=environ
            )
        except InvalidCron as error:
            self.message(error.message(), "error")
            return self.request.response.redirect(self.cron_url(self.cron))
        self.message(
            _("Cron ${cron} was queued", mapping={"cron": self.cron_label(self.cron)})
        )
        return self.request.response.redirect(self.cron_url(self.cron))

    def pause_cron(self):
        self.check_post()
        form = self.request.form
        until = (form.get("pause_until") or "").strip() or None
        if until is not None and len(until) == 16:  # datetime-local: no seconds
            until = until.replace("T", " ")
        if until is not None:
            # The form's time is the site's local time, as the page shows.
            try:
                until = datetime.fromisoformat(until)
            except ValueError:
                pass  # check_pause names it
            else:
                if until.tzinfo is None:
                    until = until.replace(tzinfo=site_timezone())
        manager = getMultiAdapter((self.context, self.cron), ICronManager)
        try:
            paused = manager.pause(until=until, reason=form.get("pause_reason", ""))
        except InvalidCron as error:
            self.message(error.message(), "error")
            return self.request.response.redirect(self.cron_url(self.cron))
        label = self.cron_label(self.cron)
        if paused:
            self.message(_("Cron ${cron} was paused", mapping={"cron": label}))
        else:
            self.message(
                _(
                    "Cron ${cron} has no run to pause (it is deactivated)",
                    mapping={"cron": label},
                ),
                "warning",
            )
        return self.request.response.redirect(self.cron_url(self.cron))

    def resume_cron(self):
        self.check_post()
        getMultiAdapter((self.context, self.cron), ICronManager).resume()
        self.message(
            _("Cron ${cron} was resumed", mapping={"cron": self.cron_label(self.cron)})
        )
        return self.request.response.redirect(self.cron_url(self.cron))

    def delete(self):
        self.check_post()
        del self.crontab.crons[self.cron.uid]
        self.crontab.save()
        self.message(
            _("Cron ${cron} was deleted", mapping={"cron": self.cron_label(self.cron)})
        )
        return self.request.response.redirect(self.dashboard_url)

    def delete_logs(self):
        self.check_post()
        positions = self.request.form.get("logs_to_delete") or []
        if isinstance(positions, str):
            positions = [positions]
        try:
            positions = [int(position) for position in positions]
        except ValueError:
            positions = []
        if positions:
            self._history_ready()
            History(self.context).delete(self.cron.uid, positions, name=self.cron.name)
            self.message(_("Selected logs have been deleted"))
        else:
            self.message(_("Select the logs to delete."), "warning")
        return self.request.response.redirect(self.cron_url(self.cron))

    def delete_all_logs(self):
        self.check_post()
        if not self.request.form.get("alllogs_to_delete"):
            self.message(_("Tick the box to confirm that all logs go."), "warning")
            return self.request.response.redirect(self.cron_url(self.cron))
        History(self.context).clear(self.cron.uid, name=self.cron.name)
        self.message(_("All logs have been deleted"))
        return self.request.response.redirect(self.cron_url(self.cron))

    def _history_ready(self):
        # 2.x logs still inside the registry JSON move to the history first.
        History(self.context).ensure(self.cron.uid, self.cron.logs)

    # -- display --------------------------------------------------------------

    @property
    def logs_batch(self):
        start = int(self.request.form.get("b_start", 0) or 0)
        return Batch(list(enumerate(self.cron.logs)), LOGS_PER_PAGE, start)

    def log_rows(self):
        for position, log in self.logs_batch:
            details = log.details
            yield {
                "position": position,
                "log": log,
                "date": self.local_time(log.date),
                "duration": details.get("duration"),
                "traceback": details.get("traceback"),
                "failure": log.status == Status.FAILURE,
                "forced": details.get("forced", False),
                "environ_override": json.dumps(
                    details["environ_override"], sort_keys=True, ensure_ascii=False
                )
                if details.get("environ_override")
                else "",
                "worker": details.get("worker", ""),
            }

    def chart(self):
        """Durations and lateness of the kept logs, as SVG ('' without)."""
        return chart_svg(self, self.cron.logs)

    def next_runs(self, count=5):
        if not (self.cron.activated and self.crontab.activated):
            return []
        times = self.cron.schedule.next_times(clock.now(), self.cron.tz, count)
        return [self.local_time(moment) for moment in times]

    @property
    def environ_text(self):
        return json.dumps(
            self.cron.environ, indent=2, sort_keys=True, ensure_ascii=False
        )

    @property
    def paused(self):
        """The job's pause for display, or None."""
        paused = getattr(self.job, "paused", None) if self.job else None
        if paused is None:
            return None
        until = paused.get("until")
        return {
            "until": self.local_time(until) if until else "",
            "reason": paused.get("reason", ""),
            "by": paused.get("by", ""),
            "at": self.local_time(paused["at"]) if paused.get("at") else "",
        }

    @property
    def notify_title(self):
        """When alert mails go out, in words (translated by the template)."""
        term = NOTIFY.getTerm(self.cron.notify)
        return translate(term.title, context=self.request)

    @property
    def recipients_text(self):
        """Who gets the alerts: the cron's own, else who gets them instead."""
        return ", ".join(recipients_of(self.cron)) or translate(
            _("nobody: set the site's sender address"), context=self.request
        )

    def cron_changes(self):
        """This cron's newest entries of the audit trail, and how many it has."""
        entries = AuditTrail(self.context).entries(uid=self.cron.uid)
        return list(self.change_rows(entries[:CHANGES_ON_PAGE])), len(entries)

    @property
    def effective_timezone(self):
        tz = self.cron.tz
        return getattr(tz, "key", None) or str(tz)
