"""collective-cron: the crons of a Zope instance, from a shell.

    collective-cron [-C instance/etc/zope.conf] [--site /Plone] COMMAND ...

Opens the instance's database from its zope.conf like `zconsole` does, in a
process that never starts a worker (COLLECTIVE_CRON_WORKER=off is forced), so
it suits containers, systemd units and CI jobs. With FileStorage the instance
must be stopped (the database file is locked); with ZEO or RelStorage it runs
beside live instances. See docs/operations.md.

Exit codes: 0 done (`run`: the run ended OK; `status`: healthy), 1 `run`
ended FAILURE or `status` found the scheduler unhealthy, 2 anything else
(`run`: WARN or NOTRUN; a bad argument, an unknown uid, a bad file, no site:
one line on stderr naming the value).
"""

from collective.cron import config
from collective.cron import health
from collective.cron.crontab import Crontab
from collective.cron.crontab import format_date
from collective.cron.errors import InvalidCron
from collective.cron.errors import NoSuchCron
from collective.cron.interfaces import ICronManager
from collective.cron.interfaces import IExportImporter
from collective.cron.interfaces import IQueue
from collective.cron.job import Commits
from collective.cron.job import JobRun
from collective.cron.job import claim
from collective.cron.manager import FOREVER
from collective.cron.registry import current_login
from collective.cron.status import Status
from collective.cron.workers import CommandLineHeartbeat
from collective.cron.workers import new_token
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from plone.base.interfaces.siteroot import IPloneSiteRoot
from ZODB.POSException import ConflictError
from zope.component import getMultiAdapter
from zope.component.hooks import setSite

import argparse
import getpass
import json
import os
import signal
import socket
import sys
import threading
import transaction


PROGRAM = "collective-cron"
DEFAULT_ZOPE_CONF = "instance/etc/zope.conf"
CRONTAB_RECORD = "collective.cron.interfaces.IRegistryCrontab.crontab"
# Exit codes.
OK, UNHEALTHY_OR_FAILED, OTHER = 0, 1, 2


class CliError(Exception):
    """A bad argument or state: one line on stderr, exit code 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message):
        # One line, as for every other error (argparse would add the usage).
        raise CliError(message)


def build_parser():
    parser = Parser(
        prog=PROGRAM,
        description="Manage the crons of a Plone site from its zope.conf "
        "(never starts a worker).",
    )
    parser.add_argument(
        "-C",
        "--zope-conf",
        default=DEFAULT_ZOPE_CONF,
        metavar="PATH",
        help=f"the instance's zope.conf (default {DEFAULT_ZOPE_CONF})",
    )
    parser.add_argument(
        "--site",
        metavar="PATH",
        help="path of the Plone site (needed when the Zope holds several)",
    )
    parser.add_argument(
        "--user",
        metavar="LOGIN",
        help="act as this user (changes are saved by them, the run-as rule "
        "applies); default: trusted code, as a script",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    listing = commands.add_parser("list", help="the crons: schedule, next run, last")
    listing.add_argument("--json", action="store_true", help="JSON instead of a table")

    show = commands.add_parser("show", help="one cron's settings, job and logs")
    show.add_argument("uid")
    show.add_argument("--json", action="store_true", help="JSON instead of text")

    run = commands.add_parser("run", help="run a cron now, in this process")
    run.add_argument("uid")
    run.add_argument(
        "--environ",
        metavar="JSON",
        help="a JSON object merged over the cron's environ for this run only",
    )

    pause = commands.add_parser("pause", help="pause a cron")
    pause.add_argument("uid")
    pause.add_argument(
        "--until", metavar="DATETIME", help="ISO date and time (naive: UTC)"
    )
    pause.add_argument("--reason", default="", help="why (shown on the dashboard)")

    resume = commands.add_parser("resume", help="resume a paused cron")
    resume.add_argument("uid")

    commands.add_parser("export", help="crons.xml of the site, to stdout")

    load = commands.add_parser("import", help="apply a crons.xml (all or nothing)")
    load.add_argument("file", help="a crons.xml file, or - for stdin")
    load.add_argument(
        "--dry-run",
        action="store_true",
        help="print the changes, save nothing",
    )

    status = commands.add_parser(
        "status", help="workers and overdue jobs; exit 1 when unhealthy"
    )
    status.add_argument("--json", action="store_true", help="JSON instead of text")
    return parser


# -- the commands -------------------------------------------------------------


def _cron(crontab, uid):
    try:
        return crontab.by_uid(uid)
    except NoSuchCron:
        raise CliError(f"no cron with uid {uid!r} in this site")


def _next(job, cron, crontab):
    """What a person wants to know of the cron's next run."""
    if not crontab.activated:
        return "off (crontab deactivated)"
    if job is None:
        return "off" if not cron.activated else "-"
    if job.running:
        return f"running since {format_date(job.claimed_at)} ({job.worker})"
    if job.paused is not None:
        until = job.paused["until"]
        return "paused" + (f" until {format_date(until)}" if until else "")
    due = format_date(job.begin_after)
    return f"{due} (run now)" if job.forced else due


def _row(site, crontab, cron):
    job = IQueue(site).job(cron.uid)
    last = cron.last
    paused = None
    if job is not None and job.paused is not None:
        paused = {
            "until": format_date(job.paused["until"]) or None,
            "reason": job.paused["reason"],
            "by": job.paused["by"],
        }
    next_run = None
    if job is not None and not job.running and job.begin_after < FOREVER:
        next_run = format_date(job.begin_after)
    return {
        "uid": cron.uid,
        "name": cron.name,
        "title": cron.title,
        "periodicity": cron.periodicity,
        "schedule": cron.explain(),
        "activated": cron.activated,
        "next": next_run,
        "next_text": _next(job, cron, crontab),
        "running": bool(job is not None and job.running),
        "paused": paused,
        "last_status": last.sstatus if last else None,
        "last_run": last.sdate if last else None,
    }


def _table(rows, columns):
    widths = [
        max([len(title)] + [len(str(row[key])) for row in rows])
        for title, key in columns
    ]
    lines = ["  ".join(title.ljust(w) for (title, _), w in zip(columns, widths))]
    for row in rows:
        cells = (str(row[key]).ljust(w) for (_, key), w in zip(columns, widths))
        lines.append("  ".join(cells))
    return "\n".join(line.rstrip() for line in lines)


def do_list(site, args, out):
    crontab = Crontab.load(strict=False)
    rows = [_row(site, crontab, cron) for cron in crontab]
    if args.json:
        for row in rows:
            del row["next_text"]
        out.write(json.dumps(rows, indent=2) + "\n")
        return OK
    if not rows:
        out.write("No crons.\n")
        return OK
    for row in rows:
        row["label"] = row["title"] or row["name"]
        row["last"] = (
            f"{row['last_status']} {row['last_run']}" if row["last_run"] else "-"
        )
    columns = [
        ("UID", "uid"),
        ("NAME", "label"),
        ("SCHEDULE", "schedule"),
        ("NEXT RUN (UTC)", "next_text"),
        ("LAST", "last"),
    ]
    out.write(_table(rows, columns) + "\n")
    if not crontab.activated:
        out.write("The crontab is deactivated: no cron runs.\n")
    return OK


def _log_lines(log):
    duration = log.details.get("duration")
    took = f" in {duration:g}s" if isinstance(duration, int | float) else ""
    lines = [f"{log.sdate} UTC  {log.sstatus}{took}"]
    lines += [f"    {message}" for message in log.messages]
    return lines


def do_show(site, args, out):
    crontab = Crontab.load(strict=False)
    cron = _cron(crontab, args.uid)
    settings = cron.dump(logs=False)
    row = _row(site, crontab, cron)
    logs = [log.dump() for log in cron.logs]
    if args.json:
        data = {"settings": settings, "job": row, "logs": logs}
        out.write(json.dumps(data, indent=2, default=str) + "\n")
        return OK
    lines = [f"Cron {cron.uid}"]
    for key, value in settings.items():
        if key != "uid":
            shown = json.dumps(value) if isinstance(value, dict | list) else value
            lines.append(f"  {key}: {shown}")
    lines.append(f"  schedule: {row['schedule']}")
    lines.append(f"  next run: {row['next_text']} UTC")
    if row["paused"]:
        paused = row["paused"]
        lines.append(f"  paused by {paused['by'] or '?'}: {paused['reason'] or '-'}")
    lines.append(f"Logs ({len(logs)}, newest first):")
    for log in cron.logs:
        lines += ["  " + line for line in _log_lines(log)]
    out.write("\n".join(lines) + "\n")
    return OK


def _worker_name():
    return f"{PROGRAM}:{socket.gethostname()}:{os.getpid()}"


def do_run(site, args, out):
    """A forced run through the job wrapper, as a worker would run it.

    The job is held as a worker holds its runs: leased, with heartbeats
    while the run lasts (the lease and heartbeat settings of the command's
    zope.conf and environment).
    """
    try:
        settings = config.load()
    except config.ConfigError as error:
        raise CliError(str(error))
    crontab = Crontab.load(strict=False)
    cron = _cron(crontab, args.uid)
    if not crontab.activated:
        raise CliError("the crontab is deactivated: no cron runs (activate it first)")
    queue = IQueue(site)
    job = queue.job(cron.uid)
    if job is not None and job.running:
        raise CliError(
            f"cron {cron.uid!r} is running now (worker {job.worker}): "
            "try again when that run ends"
        )
    environ = args.environ
    if environ is not None:
        try:
            environ = json.loads(environ)
        except ValueError as error:
            raise CliError(f"--environ {args.environ!r} is not JSON: {error}")
        if not isinstance(environ, dict):
            raise CliError(
                f"--environ {args.environ!r} must be a JSON object ({{...}})"
            )
    try:
        getMultiAdapter((site, cron), ICronManager).register_job(
            force=True, environ=environ
        )
    except InvalidCron as error:
        raise CliError(str(error))
    job = queue.job(cron.uid)
    worker, token = _worker_name(), new_token()
    heartbeat = CommandLineHeartbeat(
        site._p_jar.db(), worker, token, settings.heartbeat
    )
    heartbeat.beat_in(site)
    claim(site, job, worker, timedelta(seconds=settings.lease), token)
    try:
        transaction.commit()  # a worker must not take it meanwhile
    except ConflictError:
        transaction.abort()
        raise CliError(
            f"cron {cron.uid!r} (or the workers' records) changed meanwhile: try again"
        )
    heartbeat.start()
    try:
        with _sigterm_stops_the_run():
            return _run_claimed(site, cron, job, worker, token, out)
    finally:
        heartbeat.stop()


@contextmanager
def _sigterm_stops_the_run():
    """SIGTERM (`docker stop`, systemd) stops a run as Ctrl-C does, so the
    job is given back at once: Python's default would end the process on
    the spot, and a worker would take the job back only after the lease.
    Exit code 143, as for a process ended by SIGTERM."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers are the main thread's
        return

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run_claimed(site, cron, job, worker, token, out):
    run = JobRun(site, job, Commits(), worker=worker, token=token)
    try:
        result = run.execute()
    except BaseException:
        # Ctrl-C, SIGTERM (see _sigterm_stops_the_run) or a broken
        # wrapper: give the job back now rather than when its lease ends.
        transaction.abort()
        run.interrupted(
            "the command line run was stopped",
            token=token,
            lease_ended=False,
            worker=worker,
            prefix="interrupted",
        )
        raise
    if result is None:
        out.write(f"Cron {cron.uid} was not run (deleted or switched off meanwhile)\n")
        return OTHER
    status = Status(result[0])
    transaction.begin()
    log = Crontab.load(uids=[cron.uid], strict=False).crons[cron.uid].last
    out.write(f"Cron {cron.uid} ({cron.name})\n")
    out.write("\n".join(_log_lines(log)) + "\n")
    transaction.abort()
    return {Status.OK: OK, Status.FAILURE: UNHEALTHY_OR_FAILED}.get(status, OTHER)


def _by():
    try:
        who = getpass.getuser()
    except Exception:  # no login name in some containers
        who = "?"
    return f"{who} ({PROGRAM})"


def do_pause(site, args, out):
    crontab = Crontab.load(strict=False)
    cron = _cron(crontab, args.uid)
    manager = getMultiAdapter((site, cron), ICronManager)
    try:
        paused = manager.pause(args.until, args.reason, by=current_login() or _by())
    except InvalidCron as error:
        raise CliError(str(error))
    if not paused:
        raise CliError(f"cron {cron.uid!r} is not scheduled (deactivated): not paused")
    transaction.commit()
    until = IQueue(site).job(cron.uid).paused["until"]
    end = f"until {format_date(until)} UTC" if until else "until resumed"
    out.write(f"Cron {cron.uid} paused {end}\n")
    return OK


def do_resume(site, args, out):
    crontab = Crontab.load(strict=False)
    cron = _cron(crontab, args.uid)
    if not getMultiAdapter((site, cron), ICronManager).resume():
        out.write(f"Cron {cron.uid} was not paused\n")
        return OK
    transaction.commit()
    job = IQueue(site).job(cron.uid)
    out.write(f"Cron {cron.uid} resumed; next run: {_next(job, cron, crontab)}\n")
    return OK


def do_export(site, args, out):
    crontab = Crontab.load(strict=False)
    out.write(getMultiAdapter((site, crontab), IExportImporter).do_export())
    return OK


def _settings(crontab):
    return {
        uid: {k: v for k, v in cron.dump(logs=False).items() if k != "saved_by"}
        for uid, cron in crontab.crons.items()
    }


def _changes(before, after, activated):
    lines = []
    for uid, settings in after.items():
        if uid not in before:
            lines.append(
                f"+ {uid}: added ({settings['name']}, {settings['periodicity']})"
            )
            continue
        for key, value in settings.items():
            old = before[uid].get(key)
            if old != value:
                lines.append(f"~ {uid}: {key} {old!r} -> {value!r}")
    lines += [f"- {uid}: removed" for uid in before if uid not in after]
    if activated[0] != activated[1]:
        lines.append(f"~ crontab activated {activated[0]!r} -> {activated[1]!r}")
    return lines


def _read(name):
    if name == "-":
        return sys.stdin.read()
    path = Path(name)
    try:
        return path.read_bytes()
    except OSError as error:
        raise CliError(f"cannot read {name!r}: {error.strerror or error}")


def do_import(site, args, out):
    text = _read(args.file)
    current = Crontab.load(strict=False)
    before, was_on = _settings(current), current.activated
    importer = getMultiAdapter((site, Crontab()), IExportImporter)
    try:
        crontab = importer.do_import(text)
    except (ValueError, InvalidCron) as error:  # CronsXMLError is a ValueError
        transaction.abort()
        raise CliError(f"{args.file}: {error}" if args.file != "-" else str(error))
    changes = _changes(before, _settings(crontab), (was_on, crontab.activated))
    out.write("\n".join(changes or ["No changes."]) + "\n")
    if args.dry_run:
        transaction.abort()
        out.write("Dry run: nothing was saved.\n")
        return OK
    try:
        transaction.commit()
    except ConflictError:
        transaction.abort()
        raise CliError("the crontab changed meanwhile: nothing saved, try again")
    out.write(f"Imported {args.file}: {len(changes)} change(s) saved.\n")
    return OK


def do_status(site, args, out):
    report = health.report(site)
    if args.json:
        out.write(json.dumps(report, indent=2) + "\n")
    else:
        lines = [
            f"Scheduler of {'/'.join(site.getPhysicalPath())}: "
            + ("healthy" if report["healthy"] else "UNHEALTHY"),
            f"  crontab: {'on' if report['crontab_activated'] else 'deactivated'}, "
            f"{len(report['crons'])} cron(s)",
            f"  workers alive: {report['workers_alive']}"
            + (f" ({', '.join(report['workers'])})" if report["workers"] else ""),
        ]
        for entry in report["overdue"]:
            lines.append(
                f"  overdue: {entry['uid']} ({entry['name']}), due {entry['due']}"
            )
        for entry in report["failing"]:
            lines.append(
                f"  failing: {entry['uid']} ({entry['name']}), last run "
                f"{entry['last_run']}"
            )
        lines += [f"  problem: {problem}" for problem in report["problems"]]
        out.write("\n".join(lines) + "\n")
    return OK if report["healthy"] else UNHEALTHY_OR_FAILED


COMMANDS = {
    "list": do_list,
    "show": do_show,
    "run": do_run,
    "pause": do_pause,
    "resume": do_resume,
    "export": do_export,
    "import": do_import,
    "status": do_status,
}


# -- the instance ---------------------------------------------------------------


def _request_environ():
    """SERVER_NAME/PORT from the worker settings' server-url, for absolute_url()."""
    from collective.cron import config
    from collective.cron.dispatcher import request_environ

    try:
        url = config.load().server_url
    except config.ConfigError:
        url = config.WorkerConfig.server_url
    return request_environ(url)


@contextmanager
def open_instance(zope_conf):
    """The Zope application of the instance configured by `zope_conf`.

    Never a worker: COLLECTIVE_CRON_WORKER=off is set before Zope starts
    (Zope notifies ProcessStarting here too, which would start one).
    """
    path = Path(zope_conf)
    if not path.is_file():
        raise CliError(f"no zope.conf at {zope_conf!r} (use -C PATH)")
    os.environ["COLLECTIVE_CRON_WORKER"] = "off"
    from AccessControl.SecurityManagement import newSecurityManager
    from AccessControl.SpecialUsers import nobody
    from Testing.makerequest import makerequest
    from zope.globalrequest import setRequest
    from Zope2.Startup.run import make_wsgi_app

    import Zope2

    try:
        make_wsgi_app({}, str(path.resolve()))
    except Exception as error:
        raise CliError(f"cannot start the instance of {zope_conf!r}: {error}")
    app = makerequest(Zope2.app(), environ=_request_environ())
    app.REQUEST["PARENTS"] = [app]
    setRequest(app.REQUEST)
    # Trusted, like a script (see collective.cron.security): no user is
    # stamped as the saver of what the command changes.
    newSecurityManager(None, nobody)
    try:
        yield app
    finally:
        transaction.abort()
        app._p_jar.close()
        Zope2.DB.close()  # FileStorage writes its index: a faster next start


def sites_of(app):
    return [item for item in app.objectValues() if IPloneSiteRoot.providedBy(item)]


def find_site(app, path=None):
    """The Plone site at `path`, else the only one; CliError naming the problem."""
    found = ["/" + site.getId() for site in sites_of(app)]
    if path:
        site = app.unrestrictedTraverse(path.strip("/"), None)
        if site is None or not IPloneSiteRoot.providedBy(site):
            known = ", ".join(found) or "none"
            raise CliError(f"no Plone site at {path!r} (sites: {known})")
    elif not found:
        raise CliError("no Plone site in this Zope")
    elif len(found) > 1:
        raise CliError(
            f"several Plone sites ({', '.join(found)}): choose one with --site"
        )
    else:
        site = app.unrestrictedTraverse(found[0].strip("/"))
    registry = getattr(site, "portal_registry", None)
    if registry is None or CRONTAB_RECORD not in registry:
        where = "/".join(site.getPhysicalPath())
        raise CliError(f"collective.cron is not installed in the site {where!r}")
    return site


@contextmanager
def acting_as(login):
    """Act as `login` (a user of the site or of the Zope root) if given."""
    if not login:
        yield
        return
    from plone import api
    from plone.api.exc import UserNotFoundError

    try:
        adopted = api.env.adopt_user(username=login)
    except UserNotFoundError:
        raise CliError(f"no user with login {login!r} in the site or the Zope root")
    with adopted:
        yield


def execute(site, args, out):
    """Run a parsed command on `site` (set as the current site)."""
    setSite(site)
    try:
        with acting_as(args.user):
            return COMMANDS[args.command](site, args, out)
    finally:
        setSite(None)


def main(argv=None):
    """Run the command line `argv` (default sys.argv[1:]); the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = build_parser().parse_args(argv)
        with open_instance(args.zope_conf) as app:
            site = find_site(app, args.site)
            code = execute(site, args, sys.stdout)
    except CliError as error:
        line = " ".join(str(error).split())  # one line, whatever the cause says
        sys.stderr.write(f"{PROGRAM}: error: {line}\n")
        return OTHER
    sys.stdout.flush()
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
