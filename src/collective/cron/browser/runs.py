"""Run history at a glance: the dashboard's strip of last runs, the cron
page's chart of durations and lateness, and @@cron-runs, the recent runs of
every cron (newest first, filtered by status).

All from the logs the history already keeps; each view reads only the runs it
shows (the strip: the newest few of each shown cron; @@cron-runs: the history
records of the crons it shows, found through collective.cron.recent).
"""

from collective.cron import _
from collective.cron.browser.base import CronViewBase
from collective.cron.crontab import Crontab
from collective.cron.crontab import Log
from collective.cron.crontab import parse_date
from collective.cron.history import History
from collective.cron.status import Status
from plone.batching import Batch
from Products.Five.browser.pagetemplatefile import ViewPageTemplateFile
from xml.sax.saxutils import escape
from xml.sax.saxutils import quoteattr
from zope.i18n import translate

import heapq
import itertools


STRIP_RUNS = 10
RUNS_PER_PAGE = 50
STATUS_NAMES = {status.name.lower(): status for status in Status}


def run_text(log, when):
    """A run in words: status, time, duration (and lateness)."""
    parts = [Status.title_of(log.status) or "?", when]
    duration = log.details.get("duration")
    if isinstance(duration, int | float):
        parts.append(f"{duration:.3f} s")
    late = log.details.get("late_by")
    if isinstance(late, int | float) and late > 0:
        parts.append(f"{late:.0f} s late")
    return ", ".join(parts)


def strip(view, logs, count=STRIP_RUNS):
    """The newest `count` of the logs (newest first), oldest first, as marks
    to draw."""
    marks = []
    for log in reversed(logs[:count]):
        marks.append(
            {
                "css": "cron-run " + view.status_class(log.status),
                "icon": view.status_icon(log.status),
                "text": run_text(log, view.local_time(log.date)),
            }
        )
    return marks


def _number(value):
    return float(value) if isinstance(value, int | float) else 0.0


def chart_svg(view, logs, width=600, height=160):
    """Durations (bars) and lateness (dots) of the logs, oldest on the left,
    as an SVG image; every run has a tooltip (<title>). '' without logs."""
    logs = list(reversed(logs))
    if not logs:
        return ""
    durations = [_number(log.details.get("duration")) for log in logs]
    lateness = [_number(log.details.get("late_by")) for log in logs]
    top = max([*durations, *lateness]) or 1.0
    left, bottom, plot_height = 48, height - 20, height - 36
    step = (width - left - 8) / len(logs)
    bar = max(min(step * 0.6, 40), 1)

    def y(value):
        return bottom - value / top * plot_height

    title = translate(
        _(
            "Duration (bars) and lateness (dots) of the last ${count} runs, "
            "longest ${top} s",
            mapping={"count": len(logs), "top": f"{top:.3f}"},
        ),
        context=view.request,
    )
    parts = [
        f'<svg class="cron-chart" role="img" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}"'
        f' xmlns="http://www.w3.org/2000/svg" aria-label={quoteattr(title)}>',
        f"<title>{escape(title)}</title>",
        f'<line class="cron-chart-axis" x1="{left}" y1="{bottom}"'
        f' x2="{width - 4}" y2="{bottom}"/>',
        f'<text class="cron-chart-label" x="{left - 4}" y="{y(top) + 4:.1f}"'
        f' text-anchor="end">{top:.2f} s</text>',
        f'<text class="cron-chart-label" x="{left - 4}" y="{bottom:.1f}"'
        ' text-anchor="end">0</text>',
    ]
    for index, log in enumerate(logs):
        x = left + index * step + (step - bar) / 2
        text = escape(run_text(log, view.local_time(log.date)))
        status = Status.title_of(log.status).lower() or "unknown"
        parts.append(
            f'<g class="cron-chart-run cron-chart-{status}"><title>{text}</title>'
            f'<rect x="{x:.1f}" y="{y(durations[index]):.1f}" width="{bar:.1f}"'
            f' height="{bottom - y(durations[index]):.1f}"/>'
        )
        if lateness[index]:
            parts.append(
                f'<circle class="cron-chart-late" cx="{x + bar / 2:.1f}"'
                f' cy="{y(lateness[index]):.1f}" r="4"/>'
            )
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


class CronRuns(CronViewBase):
    """@@cron-runs: the recent runs of every cron, newest first."""

    template = ViewPageTemplateFile("templates/runs.pt")

    def __call__(self):
        status = self.request.form.get("status") or ""
        self.status = status if status in STATUS_NAMES else ""
        self.batch = self._batch()
        return self.template()

    def statuses(self):
        """The filter's choices: (value, title, selected)."""
        return [("", _("all"), not self.status)] + [
            (name, status.name, name == self.status)
            for name, status in STATUS_NAMES.items()
        ]

    def runs_url(self, status=""):
        url = f"{self.site_url}/@@cron-runs"
        return f"{url}?status={status}" if status else url

    def _batch(self):
        try:
            start = max(int(self.request.form.get("b_start", 0) or 0), 0)
        except (TypeError, ValueError):
            start = 0  # a hand-edited address: the first page
        wanted = start + RUNS_PER_PAGE + 1  # the next page's link needs one more
        runs = list(itertools.islice(self._runs(), wanted))
        # Batch from the runs read; the length is what is known so far.
        return Batch(runs, RUNS_PER_PAGE, start)

    def _runs(self):
        """(log, uid) of every cron, newest first.

        The crons' stored logs are merged lazily: a cron's record is read once
        the merge reaches its bound in the recent-runs index (or every record,
        on a site without the index), and only the logs shown are loaded.
        """
        history = History(self.context)
        wanted = STATUS_NAMES[self.status] if self.status else None
        order = history.recent().newest_first(wanted)
        if order is None:
            order = [(float("inf"), uid) for uid in history.uids()]
        heap, tie = [], itertools.count()

        def push(uid, items):
            """Put the cron's next wanted log on the heap."""
            for item in items:
                if not isinstance(item, dict):
                    continue  # malformed: Log.load skips it too
                if wanted is not None and item.get("status") != wanted:
                    continue
                date = parse_date(item.get("date"))
                if date is not None:
                    entry = (-date.timestamp(), next(tie), item, uid, items)
                    heapq.heappush(heap, entry)
                    return

        position = 0
        while True:
            # A cron joins the merge when no run on the heap is newer than
            # its bound: none of its runs can come before the heap's top.
            while position < len(order) and (
                not heap or order[position][0] >= -heap[0][0]
            ):
                uid = order[position][1]
                position += 1
                push(uid, iter(history.stored(uid)))
            if not heap:
                return
            _key, _tie, item, uid, items = heapq.heappop(heap)
            log = Log.load(item)
            if log is not None:
                yield log, uid
            push(uid, items)

    def rows(self):
        batch = list(self.batch)  # read once, in __call__
        # Only the crons shown, settings only: names and links.
        crons = Crontab.load(
            uids={uid for _log, uid in batch}, strict=False, logs=False
        ).crons
        for log, uid in batch:
            cron = crons.get(uid)
            yield {
                "css": "badge cron-status " + self.status_class(log.status),
                "icon": self.status_icon(log.status),
                "status": self.status_title(log.status),
                "date": self.local_time(log.date),
                "duration": log.details.get("duration"),
                "late_by": log.details.get("late_by"),
                "cron": (cron.title or cron.name) if cron is not None else uid,
                "url": self.cron_url(cron) if cron is not None else "",
                "messages": log.messages,
            }
