"""The settings of a cron, defined once: ICronSettings.

Each field carries its rule (collective.cron.validators) as a zope.schema
constraint. Every channel validates through this schema: the model's checked
attributes (hence the Python API and the registry), the Cron Dashboard's forms
(z3c.form validates the fields), crons.xml and the REST API. A rule added to a
field here holds on all of them.

Whether the user a cron runs as may be chosen by whoever saves it depends on
that person, not on the value alone: collective.cron.security checks it.
"""

from collective.cron import _
from collective.cron import validators
from collective.cron.errors import InvalidCron
from zope import schema
from zope.interface import Interface
from zope.schema.interfaces import ValidationError
from zope.schema.vocabulary import SimpleTerm
from zope.schema.vocabulary import SimpleVocabulary


class SettingError(ValidationError):
    """zope.schema's face of an InvalidCron: forms show its message, which
    names the setting and the value."""

    def __init__(self, error):
        super().__init__(str(error))
        self.error = error

    def doc(self):
        return self.error.message()


def _constraint(rule):
    def constraint(value):
        try:
            rule(value)
        except InvalidCron as error:
            raise SettingError(error)
        return True

    return constraint


def _timezones():
    from collective.cron.schedule import timezone_names

    return SimpleVocabulary([SimpleTerm(name, name, name) for name in timezone_names()])


NOTIFY = SimpleVocabulary(
    [
        SimpleTerm("never", "never", _("Never")),
        SimpleTerm("failure", "failure", _("When a run fails")),
        SimpleTerm(
            "failure_recovery",
            "failure_recovery",
            _("When a run fails, and when it recovers"),
        ),
        SimpleTerm("always", "always", _("After every run")),
    ]
)

MISFIRE = SimpleVocabulary(
    [
        SimpleTerm("run_once", "run_once", _("Run once, late, then resume")),
        SimpleTerm("skip", "skip", _("Skip them and log it")),
    ]
)

# Setting name -> rule: a callable returning the clean value (it also reads
# the text forms that forms and XML give) or raising InvalidCron.
RULES = {
    "uid": validators.check_uid,
    "name": validators.check_name,
    "user": validators.check_user,
    "activated": validators.check_activated,
    "periodicity": validators.check_periodicity,
    "logs_limit": validators.check_logs_limit,
    "environ": validators.check_environ,
    "timezone": validators.check_timezone,
    "misfire": validators.check_misfire,
    "title": validators.check_title,
    "description": validators.check_description,
    "notify": validators.check_notify,
    "recipients": validators.check_recipients,
    "alert_after": validators.check_alert_after,
    "pause_after_failures": validators.check_pause_after_failures,
    "retries": validators.check_retries,
    "retry_delay": validators.check_retry_delay,
    "timeout": validators.check_timeout,
    "saved_by": validators.check_user,
}


class ICronSettings(Interface):
    """What defines a cron, with the rule each value must follow."""

    uid = schema.TextLine(
        title=_("Identifier"),
        description=_(
            "Unique in the crontab; letters, digits, '.', '_' and '-' "
            "(it appears in URLs)."
        ),
        constraint=_constraint(RULES["uid"]),
    )
    name = schema.TextLine(
        title=_("Name"),
        description=_(
            "The name of a registered job runner, or the path of a script or "
            "view below the site (for example: my-folder/my_script)."
        ),
        constraint=_constraint(RULES["name"]),
    )
    user = schema.TextLine(
        title=_("Run as"),
        description=_(
            "Login of the user the job runs as, with that user's rights. "
            "Empty: the user who saves this cron."
        ),
        required=False,
        constraint=_constraint(RULES["user"]),
    )
    activated = schema.Bool(
        title=_("Activated"),
        default=True,
        required=False,
        constraint=_constraint(RULES["activated"]),
    )
    periodicity = schema.TextLine(
        title=_("Periodicity"),
        description=_(
            "Cron syntax: minute hour day-of-month month day-of-week, a sixth "
            "field first for seconds, or @hourly, @daily, @weekly, @monthly, "
            "@yearly; @manual: only when someone runs it."
        ),
        constraint=_constraint(RULES["periodicity"]),
    )
    logs_limit = schema.Int(
        title=_("Logs to keep"),
        description=_("From 1 to 25."),
        default=5,
        constraint=_constraint(RULES["logs_limit"]),
    )
    environ = schema.Dict(
        title=_("Environ"),
        description=_("A JSON object handed to the job as cron.environ."),
        key_type=schema.TextLine(),
        required=False,
        constraint=_constraint(RULES["environ"]),
    )
    timezone = schema.Choice(
        title=_("Time zone"),
        description=_("The periodicity is read in this zone. Empty: the site's."),
        vocabulary=_timezones(),
        required=False,
        constraint=_constraint(RULES["timezone"]),
    )
    misfire = schema.Choice(
        title=_("Runs missed while no worker ran"),
        vocabulary=MISFIRE,
        default="run_once",
        constraint=_constraint(RULES["misfire"]),
    )
    title = schema.TextLine(
        title=_("Title"),
        description=_("A short title for people: the dashboard and alert mails."),
        required=False,
        default="",
        constraint=_constraint(RULES["title"]),
    )
    description = schema.Text(
        title=_("Description"),
        description=_("What the cron is for, who to ask about it."),
        required=False,
        default="",
        constraint=_constraint(RULES["description"]),
    )
    notify = schema.Choice(
        title=_("Alert mails"),
        vocabulary=NOTIFY,
        default="never",
        constraint=_constraint(RULES["notify"]),
    )
    recipients = schema.List(
        title=_("Alert recipients"),
        description=_(
            "E-mail addresses, one a line. Empty: the site-wide default "
            "recipients, else the site's sender address."
        ),
        value_type=schema.TextLine(),
        required=False,
        default=[],
        constraint=_constraint(RULES["recipients"]),
    )
    alert_after = schema.Int(
        title=_("Alert after (minutes without a successful run)"),
        description=_(
            "Mail the recipients when the cron has had no OK run for this "
            "long (for a daily job: 1560, that is 26 hours). Empty: never."
        ),
        required=False,
        constraint=_constraint(RULES["alert_after"]),
    )
    pause_after_failures = schema.Int(
        title=_("Pause after failures"),
        description=_(
            "Pause the cron after this many failed runs in a row (it then "
            "waits until someone resumes it). Empty: never."
        ),
        required=False,
        constraint=_constraint(RULES["pause_after_failures"]),
    )
    retries = schema.Int(
        title=_("Retries"),
        description=_(
            "How many times a run that failed is tried again (0 to 10), "
            "never past the next scheduled run."
        ),
        required=False,
        default=0,
        constraint=_constraint(RULES["retries"]),
    )
    retry_delay = schema.Int(
        title=_("Retry delay (seconds)"),
        description=_("Before the first retry; each next one waits twice as long."),
        required=False,
        default=60,
        constraint=_constraint(RULES["retry_delay"]),
    )
    timeout = schema.Int(
        title=_("Timeout (seconds)"),
        description=_(
            "A run still going after this long is logged WARN once, shown as "
            "overdue and alerted as a failure (it is not stopped: a runner "
            "may check self.deadline). Empty: no limit."
        ),
        required=False,
        constraint=_constraint(RULES["timeout"]),
    )
    saved_by = schema.TextLine(
        title=_("Saved by"),
        description=_(
            "Login of who last saved the cron (set on save): the job runs as "
            "this user when Run as is empty."
        ),
        required=False,
        readonly=True,
        constraint=_constraint(RULES["saved_by"]),
    )


# The settings in schema order; saved_by is written by the registry manager.
NAMES = tuple(schema.getFieldNamesInOrder(ICronSettings))


def clean(name, value):
    """The clean value of setting `name`; raises InvalidCron naming the value.

    Runs the field's rule, which reads text forms ("true", "5", JSON text) and
    checks the value (a choice's rule checks its vocabulary's values). The
    model calls this on every assignment: it must stay cheap.
    """
    try:
        rule = RULES[name]
    except KeyError:
        raise InvalidCron(name, value, f"is not a cron setting ({', '.join(NAMES)})")
    return rule(value)


def check(values):
    """Clean every given setting; the first bad one raises InvalidCron."""
    return {name: clean(name, value) for name, value in values.items()}
