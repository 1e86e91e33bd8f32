"""@@cron-settings: every cron of the site, the global switch, bulk delete."""

from collective.cron import _
from collective.cron import clock
from collective.cron.browser.base import CronViewBase
from collective.cron.browser.legacy import DashboardPaths
from collective.cron.browser.runs import strip
from collective.cron.crontab import Crontab
from collective.cron.errors import InvalidCron
from collective.cron.health import overdue_grace
from collective.cron.history import History
from collective.cron.interfaces import ICronManager
from collective.cron.interfaces import IQueue
from collective.cron.manager import FOREVER
from collective.cron.security import check_run_as
from collective.cron.workers import alive
from plone.batching import Batch
from Products.Five.browser.pagetemplatefile import ViewPageTemplateFile
from zope.component import getMultiAdapter


BATCH_SIZE = 50
ROW_ACTIONS = ("run", "pause", "resume", "activate", "deactivate")


class CronDashboard(DashboardPaths, CronViewBase):
    template = ViewPageTemplateFile("templates/dashboard.pt")

    def __call__(self):
        form = self.request.form
        if "cron_toggle" in form:
            return self.toggle_crontab()
        if "row_action" in form:
            return self.row_action()
        if "pause_crons" in form:
            return self.pause_crons(pause=True)
        if "resume_crons" in form:
            return self.pause_crons(pause=False)
        if "delete_crons" in form or "uids_to_delete" in form:
            return self.delete_crons()
        # The crons of the page shown only, settings only: the logs are read
        # row by row. The stored texts are surveyed, not loaded, for the
        # count, the batch and the crons set aside.
        survey = Crontab().manager.survey()
        self.uids = survey.loadable()
        self.broken_crons = survey.broken()
        self.batch = Batch(self.uids, BATCH_SIZE, self.batch_start)
        self.crontab = Crontab.load(strict=False, logs=False, uids=list(self.batch))
        self.queue = IQueue(self.context)
        return self.template()

    # -- actions --------------------------------------------------------------

    def toggle_crontab(self):
        self.check_post()
        crontab = Crontab.load(strict=False)
        crontab.activated = not crontab.activated
        crontab.save()
        if crontab.activated:
            self.message(_("The crontab was activated: crons run again."))
        else:
            self.message(_("The crontab was deactivated: no cron runs."), "warning")
        return self.request.response.redirect(self.dashboard_url)

    def delete_crons(self):
        self.check_post()
        uids = self.request.form.get("uids_to_delete") or []
        if isinstance(uids, str):
            uids = [uids]
        crontab = Crontab.load(strict=False)
        deleted = [crontab.crons.pop(uid) for uid in uids if uid in crontab.crons]
        if not deleted:
            self.message(_("Select the crons to delete."), "warning")
            return self.request.response.redirect(self.dashboard_url)
        crontab.save()
        for cron in deleted:
            self.message(
                _("Cron ${cron} was deleted", mapping={"cron": self.cron_label(cron)})
            )
        return self.request.response.redirect(self.dashboard_url)

    def row_action(self):
        """One cron's button in the table: run, pause, resume, (de)activate."""
        self.check_post()
        action, _sep, uid = str(self.request.form.get("row_action", "")).partition(":")
        crontab = Crontab.load(strict=False)
        cron = crontab.crons.get(uid)
        if cron is None or action not in ROW_ACTIONS:
            self.message(_("No such cron or action."), "warning")
            return self.request.response.redirect(self.dashboard_url)
        label = self.cron_label(cron)
        manager = getMultiAdapter((self.context, cron), ICronManager)
        if action == "run":
            manager.register_job(force=True)
            self.message(_("Cron ${cron} was queued", mapping={"cron": label}))
        elif action == "pause":
            manager.pause()
            self.message(_("Cron ${cron} was paused", mapping={"cron": label}))
        elif action == "resume":
            manager.resume()
            self.message(_("Cron ${cron} was resumed", mapping={"cron": label}))
        else:
            if action == "activate":
                # Turning a cron on makes it run as its user: the run-as rule
                # holds as for any other save (turning it off needs no check).
                try:
                    check_run_as(self.context, cron, previous=cron)
                except InvalidCron as error:
                    self.message(error.message(), "error")
                    return self.request.response.redirect(self.dashboard_url)
            cron.activated = action == "activate"
            crontab.save_cron(cron)
            if cron.activated:
                text = _("Cron ${cron} was activated", mapping={"cron": label})
            else:
                text = _("Cron ${cron} was deactivated", mapping={"cron": label})
            self.message(text)
        return self.request.response.redirect(self.dashboard_url)

    def pause_crons(self, pause):
        """Pause (until resumed) or resume the selected crons."""
        self.check_post()
        uids = self.request.form.get("uids_to_delete") or []
        if isinstance(uids, str):
            uids = [uids]
        crontab = Crontab.load(strict=False)
        crons = [crontab.crons[uid] for uid in uids if uid in crontab.crons]
        if not crons:
            self.message(_("Select the crons to pause or resume."), "warning")
            return self.request.response.redirect(self.dashboard_url)
        for cron in crons:
            manager = getMultiAdapter((self.context, cron), ICronManager)
            changed = manager.pause() if pause else manager.resume()
            label = self.cron_label(cron)
            if changed and pause:
                self.message(_("Cron ${cron} was paused", mapping={"cron": label}))
            elif changed:
                self.message(_("Cron ${cron} was resumed", mapping={"cron": label}))
        return self.request.response.redirect(self.dashboard_url)

    # -- display --------------------------------------------------------------

    @property
    def batch_start(self):
        try:
            return max(0, int(self.request.form.get("b_start", 0) or 0))
        except (TypeError, ValueError):
            return 0

    @property
    def cron_count(self):
        return len(self.uids)

    def rows(self):
        self.now = clock.now()
        self.overdue_grace = overdue_grace()
        history = History(self.context)
        for uid in self.batch:
            cron = self.crontab.crons.get(uid)
            if cron is None:
                # Gone from the index of texts (a write of the record that
                # bypassed it): a row short, not a broken page.
                continue
            job = self.queue.job(cron.uid)
            logs = history.logs(cron.uid)
            if logs is None:  # 2.x logs, still in the registry
                logs = cron.logs
            last = logs[0] if logs else None
            yield {
                "cron": cron,
                "url": self.cron_url(cron),
                "explanation": cron.explain(),
                "timezone": cron.timezone
                or _("site (${zone})", mapping={"zone": self.timezone_name}),
                "next": ""
                if job is not None and job.begin_after >= FOREVER
                else self.local_time(job.begin_after if job is not None else cron.next),
                "running": job is not None and job.running,
                "running_overdue": job is not None
                and job.running
                and job.claimed_at is not None
                and bool(cron.timeout)
                and (self.now - job.claimed_at).total_seconds() > cron.timeout,
                "paused": self._paused_text(job),
                "overdue": job is not None
                and not job.running
                and job.paused is None
                and self.now - job.begin_after > self.overdue_grace,
                "last": last,
                "strip": strip(self, logs),
                "last_date": self.local_time(last.date) if last is not None else "",
            }

    def _paused_text(self, job):
        """'' when not paused, else who paused it, why and until when."""
        paused = job.paused if job is not None else None
        if paused is None:
            return ""
        until = paused.get("until")
        parts = [
            f"until {self.local_time(until)}" if until else "until resumed",
            f"by {paused.get('by') or '?'}",
        ]
        if paused.get("reason"):
            parts.append(paused["reason"])
        return ", ".join(parts)

    def broken(self):
        """Stored crons set aside because they break a rule (see api.md)."""
        return [error.message() for error in self.broken_crons]

    @property
    def workers_alive(self):
        return bool(alive(self.context))
