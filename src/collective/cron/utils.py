"""collective.cron 2.x helpers, kept for add-ons written for 2.x: deprecated.

Every name warns (DeprecationWarning) with its 3.x spelling; docs/migration.md
lists them all. `asbool`, `to_utc` and `NoSuchUserError` are today's objects
under their old names; `su_plone`, `to_local` and `runJob` are a few lines of
glue over today's API, because their 2.x behaviour has no single 3.x name.
"""

from AccessControl.SecurityManagement import newSecurityManager
from collective.cron import clock
from collective.cron.interfaces import ICronManager
from collective.cron.interfaces import IQueue
from collective.cron.job import JobRun
from collective.cron.job import Savepoints
from collective.cron.job import UserMissing
from collective.cron.job import claim
from collective.cron.schedule import site_timezone
from collective.cron.status import Status
from datetime import timedelta
from zope.component import getMultiAdapter
from zope.component.hooks import getSite
from zope.component.hooks import setSite
from zope.deprecation import deprecate
from zope.schema.vocabulary import SimpleTerm
from zope.schema.vocabulary import SimpleVocabulary

import zope.deferredimport


zope.deferredimport.deprecated(
    "Use collective.cron.validators.check_activated (bad values raise "
    "InvalidCron instead of being guessed).",
    asbool="collective.cron.validators:check_activated",
)
zope.deferredimport.deprecated(
    "Use collective.cron.clock.as_utc (a naive datetime is taken as UTC, not "
    "as the server's local time).",
    to_utc="collective.cron.clock:as_utc",
)
zope.deferredimport.deprecated(
    "Use collective.cron.job.UserMissing.",
    NoSuchUserError="collective.cron.job:UserMissing",
)

# Worker name written on a job run by runJob (shown while it runs).
RUNJOB_WORKER = "runJob"
RUNJOB_LEASE = timedelta(minutes=5)

# The 2.x status vocabulary (value 0-3, token "0"-"3", title "OK"...), served
# as collective.cron.interfaces.job_status.
_job_status = SimpleVocabulary(
    [SimpleTerm(int(status), str(int(status)), status.name) for status in Status]
)


@deprecate(
    "collective.cron.utils.su_plone is deprecated: jobs already run as the "
    "cron's user (cron.user, else who saved it); to act as another user use "
    "plone.api.env.adopt_user(username=...)."
)
def su_plone(app, plone, userids=None):
    """Act as the first of `userids` found in the site, else in the Zope root.

    Returns the user; raises UserMissing (2.x: NoSuchUserError) naming the
    logins when none exists. The switch lasts until the job ends.
    """
    userids = list(userids or ())
    for folder in (plone, app):
        users = folder.acl_users
        for userid in userids:
            user = users.getUser(userid)
            if user is not None:
                user = user.__of__(users)
                newSecurityManager(None, user)
                return user
    path = "/".join(plone.getPhysicalPath())
    raise UserMissing(f"No user {userids!r} in {path} nor in the Zope root")


@deprecate(
    "collective.cron.utils.to_local is deprecated: dates are aware UTC "
    "datetimes; show one in the site's zone with "
    "value.astimezone(collective.cron.schedule.site_timezone())."
)
def to_local(value):
    """`value` in the site's time zone (aware; naive is taken as UTC)."""
    return clock.as_utc(value).astimezone(site_timezone())


@deprecate(
    "collective.cron.crontab.runJob is deprecated: queue a run with "
    "ICronManager(site, cron).register_job(force=True); worker threads run it "
    "(in tests: collective.cron.testing.run_due_jobs(portal))."
)
def runJob(context, cron):
    """Run the stored cron `cron.uid` of site `context` now, in this thread.

    The run is the one a worker makes (the cron's user, events, log, next run
    queued) inside the current transaction: the caller commits. Returns 2.x's
    (status, messages, cron uid, site path); NOTRUN when the cron is not
    stored or runs already elsewhere.
    """
    path = tuple(context.getPhysicalPath())
    previous = getSite()
    setSite(context)
    try:
        getMultiAdapter((context, cron), ICronManager).register_job(force=True)
        job = IQueue(context).job(cron.uid)
        if job is None:
            return (int(Status.NOTRUN), [], cron.uid, path)
        if job.running:
            message = f"Cron {cron.uid} is running: a run is queued for after it"
            return (int(Status.NOTRUN), [message], cron.uid, path)
        claim(context, job, RUNJOB_WORKER, RUNJOB_LEASE)
        result = JobRun(context, job, Savepoints()).execute()
    finally:
        setSite(previous)
    if result is None:  # not stored (or deleted meanwhile): 2.x said NOTRUN too
        return (int(Status.NOTRUN), [], cron.uid, path)
    return result
