"""DELETE @crons/UID (the cron, its job and its logs) and DELETE
@crons/UID/@logs (all logs, or those of the dates in the JSON body)."""

from collective.cron.crontab import parse_date
from collective.cron.history import History
from collective.cron.restapi.deserializer import read_body
from collective.cron.restapi.services.crons.base import CronsWriteService
from zExceptions import BadRequest


class CronsDelete(CronsWriteService):
    usage = "DELETE @crons/UID or @crons/UID/@logs"

    def reply(self):
        params = self.params
        if len(params) == 1 and not params[0].startswith("@"):
            return self.delete(params[0])
        if len(params) == 2 and params[1] == "@logs":
            return self.delete_logs(params[0])
        raise self.wrong_path()

    def delete(self, uid):
        crontab, cron = self.load(uid, logs=False)
        del crontab.crons[cron.uid]
        crontab.save()
        return self.reply_no_content()

    def delete_logs(self, uid):
        """No body: every log. {"dates": [...]}: the logs of these start
        dates, as GET @crons/UID gives them; an unknown date changes nothing."""
        _crontab, cron = self.load(uid)
        body = self.request.get("BODY") or b""
        history = History(self.context)
        # 2.x logs still inside the registry JSON move to the history first.
        history.ensure(cron.uid, cron.logs)
        if not body.strip():
            history.clear(cron.uid)
            return self.reply_no_content()
        dates = read_body(self.request).get("dates")
        if not isinstance(dates, list) or not dates:
            raise BadRequest(
                "DELETE @crons/UID/@logs takes no body (all logs) or "
                '{"dates": ["<date of a log>", ...]}'
            )
        wanted = {date: parse_date(date) for date in map(str, dates)}
        logged = {log.date for log in cron.logs}
        unknown = [date for date, when in wanted.items() if when not in logged]
        if unknown:
            raise BadRequest(
                f"Invalid dates {unknown!r}: "
                f"cron {cron.uid!r} has no log of these dates"
            )
        doomed = set(wanted.values())
        positions = [p for p, log in enumerate(cron.logs) if log.date in doomed]
        history.delete(cron.uid, positions)
        return self.reply_no_content()
