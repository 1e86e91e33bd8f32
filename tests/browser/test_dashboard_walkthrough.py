"""The 2.x web UI walk-through, replayed with zope.testbrowser.

Add a cron, see its job, run it, toggle it and the crontab, edit it, run it
now, read and delete logs, delete crons from the cron page and the dashboard.
Runs a worker would make are made with run_due_jobs in the test thread.
"""

from collective.cron.crontab import Crontab
from collective.cron.interfaces import ICronManager
from collective.cron.interfaces import IQueue
from collective.cron.testing import run_due_jobs
from collective.cron.testing import set_now
from datetime import UTC
from datetime import datetime
from zope.component import getMultiAdapter

import transaction


def jobs(portal):
    transaction.begin()  # see what the browser's requests committed
    return [(job.cron_uid, job.begin_after, job.forced) for job in IQueue(portal).jobs]


def run_jobs(portal):
    transaction.begin()
    results = run_due_jobs(portal)
    transaction.commit()
    return results


def open_cron(browser, name):
    browser.getLink("Cron Dashboard").click()
    browser.getLink(name).click()


def test_web_walkthrough(browser, functional_portal, recording):
    portal = functional_portal
    set_now(datetime(2008, 1, 1, 1, 3))

    # Site Setup > Cron Dashboard > Add a task
    browser.open(portal.absolute_url() + "/@@overview-controlpanel")
    browser.getLink("Cron Dashboard").click()
    assert browser.url.endswith("/@@cron-settings")
    browser.getLink("Add a task").click()
    browser.getControl(name="form.widgets.name").value = "mycronjob"
    browser.getControl(name="form.widgets.periodicity").value = "*/1 * * * *"
    browser.getControl(name="form.widgets.logs_limit").value = "25"
    browser.getControl(name="form.widgets.senviron").value = '{"foo":"bar"}'
    browser.getControl("Add").click()
    assert "A new cron was added" in browser.contents
    assert browser.url.endswith("/@@cron-settings")
    [cron] = Crontab.load().crons.values()
    assert jobs(portal) == [(cron.uid, datetime(2008, 1, 1, 1, 4, tzinfo=UTC), False)]

    # The job runs when due, and is rescheduled.
    assert run_jobs(portal) == []
    set_now(datetime(2008, 1, 1, 1, 4))
    assert [r[0] for r in run_jobs(portal)] == [1]
    assert recording.calls[-1].cron.environ == {"foo": "bar"}
    assert jobs(portal) == [(cron.uid, datetime(2008, 1, 1, 1, 5, tzinfo=UTC), False)]
    browser.reload()
    assert "2008-01-01 01:04:00" in browser.contents  # last run, in the table

    # Toggle the cron off and on through the edit form.
    open_cron(browser, "mycronjob")
    browser.getLink(id="edit-cron").click()
    browser.getControl(name="form.widgets.activated:list").value = []
    browser.getControl("Apply").click()
    assert f"Cron {cron.uid}/mycronjob was changed" in browser.contents
    assert jobs(portal) == []
    browser.getLink(id="edit-cron").click()
    browser.getControl(name="form.widgets.activated:list").value = ["selected"]
    browser.getControl("Apply").click()
    assert len(jobs(portal)) == 1

    # Toggle the whole crontab.
    browser.getLink("Cron Dashboard").click()
    browser.getForm(name="cron_toggle_form").submit()
    assert "The crontab was deactivated" in browser.contents
    assert "The crontab is deactivated: no cron runs." in browser.contents
    assert jobs(portal) == []
    browser.getForm(name="cron_toggle_form").submit()
    assert "The crontab was activated" in browser.contents
    assert len(jobs(portal)) == 1

    # Edit name, periodicity and environ: the job moves.
    open_cron(browser, "mycronjob")
    browser.getLink(id="edit-cron").click()
    browser.getControl(name="form.widgets.name").value = "myfoojob"
    browser.getControl(name="form.widgets.periodicity").value = "*/10 * * * *"
    browser.getControl(name="form.widgets.senviron").value = '{"foo":"moo"}'
    browser.getControl("Apply").click()
    assert jobs(portal) == [(cron.uid, datetime(2008, 1, 1, 1, 10, tzinfo=UTC), False)]

    # Run now, from the cron page.
    set_now(datetime(2008, 1, 1, 2, 4))
    browser.getLink("Cron Dashboard").click()
    browser.getLink("myfoojob").click()
    browser.getControl("Run now").click()
    assert f"Cron {cron.uid}/myfoojob was queued" in browser.contents
    assert jobs(portal) == [(cron.uid, datetime(2008, 1, 1, 2, 4, tzinfo=UTC), True)]
    assert [r[0] for r in run_jobs(portal)] == [1]
    assert recording.calls[-1].cron.environ == {"foo": "moo"}
    assert jobs(portal) == [(cron.uid, datetime(2008, 1, 1, 2, 10, tzinfo=UTC), False)]

    # 22 more runs: the cron page shows 10 logs a page, newest first.
    transaction.begin()
    for _ in range(22):
        getMultiAdapter(
            (portal, Crontab.load().by_uid(cron.uid)), ICronManager
        ).register_job(force=True)
        run_due_jobs(portal)
    transaction.commit()
    browser.reload()
    assert "10/24 last logs" in browser.contents
    browser.getControl(name="logs_to_delete").value = ["0", "3"]
    browser.getControl("Delete selected logs").click()
    assert "Selected logs have been deleted" in browser.contents
    assert "10/22 last logs" in browser.contents
    browser.getControl(name="alllogs_to_delete").value = True
    browser.getControl("Delete all logs").click()
    assert "All logs have been deleted" in browser.contents
    assert "last logs" not in browser.contents

    # Delete a cron from its page.
    for _ in range(2):
        browser.getLink("Cron Dashboard").click()
        browser.getLink("Add a task").click()
        browser.getControl(name="form.widgets.name").value = "foodeletecron"
        browser.getControl(name="form.widgets.periodicity").value = "*/1 * * * *"
        browser.getControl("Add").click()
    first, second = Crontab.load().by_name("foodeletecron")
    browser.open(f"{portal.absolute_url()}/@@cron?uid={first.uid}")
    browser.getControl("Delete").click()
    assert f"Cron {first.uid}/foodeletecron was deleted" in browser.contents
    assert browser.url.endswith("/@@cron-settings")

    # And from the dashboard.
    browser.getControl(name="uids_to_delete").value = [second.uid]
    browser.getControl("Delete selected").click()
    assert f"Cron {second.uid}/foodeletecron was deleted" in browser.contents
    transaction.begin()
    assert [c.name for c in Crontab.load().crons.values()] == ["myfoojob"]
