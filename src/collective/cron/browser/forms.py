"""@@cron-add and @@cron-edit: z3c.form forms for one cron.

Field names are those of collective.cron 2.x (form.widgets.name,
form.widgets.periodicity, form.widgets.senviron, form.widgets.logs_limit,
form.widgets.activated), so its documented walk-through still applies.
"""

from collective.cron import _
from collective.cron import validators
from collective.cron.browser.base import DASHBOARD
from collective.cron.crontab import Cron
from collective.cron.crontab import Crontab
from collective.cron.errors import InvalidCron
from collective.cron.errors import NoSuchCron
from collective.cron.interfaces import IJobRunner
from collective.cron.registry import site_timezone
from collective.cron.schedule import timezone_names
from plone import api
from plone.app.registry.browser.controlpanel import ControlPanelFormWrapper
from plone.autoform import directives
from plone.autoform.form import AutoExtensibleForm
from plone.z3cform import layout
from Products.Five.browser.pagetemplatefile import ViewPageTemplateFile
from Products.statusmessages.interfaces import IStatusMessage
from z3c.form import button
from z3c.form import form
from z3c.form.browser.checkbox import SingleCheckBoxFieldWidget
from zExceptions import NotFound
from zope import schema
from zope.component import getGlobalSiteManager
from zope.component import getSiteManager
from zope.interface import Interface
from zope.schema.interfaces import ValidationError
from zope.schema.vocabulary import SimpleTerm
from zope.schema.vocabulary import SimpleVocabulary

import json


class CronValueError(ValidationError):
    """A cron setting was refused; the message names the value."""

    def doc(self):
        return self.args[0]


def _checked(check):
    def constraint(value):
        try:
            check(value)
        except InvalidCron as error:
            raise CronValueError(str(error))
        return True

    return constraint


def _user_exists(login):
    if login and api.user.get(username=login) is None:
        raise CronValueError(_("No user with login ${login}", mapping={"login": login}))
    return True


TIMEZONES = SimpleVocabulary(
    [SimpleTerm(name, name, name) for name in timezone_names()]
)
MISFIRE = SimpleVocabulary(
    [
        SimpleTerm("run_once", "run_once", _("Run once, late, then resume")),
        SimpleTerm("skip", "skip", _("Skip them and log it")),
    ]
)


class ICronForm(Interface):
    name = schema.TextLine(
        title=_("Name"),
        description=_(
            "The name of a registered job runner, or the path of a script or "
            "view below the site (for example: my-folder/my_script)."
        ),
        constraint=_checked(validators.check_name),
    )
    periodicity = schema.TextLine(
        title=_("Periodicity"),
        description=_(
            "Cron syntax: minute hour day-of-month month day-of-week, a sixth "
            "field first for seconds, or @hourly, @daily, @weekly, @monthly, "
            "@yearly."
        ),
        constraint=_checked(validators.check_periodicity),
    )
    senviron = schema.Text(
        title=_("Environ"),
        description=_("A JSON object handed to the job as cron.environ."),
        required=False,
        default="{}",
        constraint=_checked(validators.check_environ),
    )
    logs_limit = schema.Int(
        title=_("Logs to keep"),
        min=validators.LOGS_LIMIT_MIN,
        max=validators.LOGS_LIMIT_MAX,
        default=5,
    )
    user = schema.TextLine(
        title=_("Run as"),
        description=_(
            "Login of the user the job runs as, with that user's rights. "
            "Empty: the user who saves this cron."
        ),
        required=False,
        constraint=_user_exists,
    )
    timezone = schema.Choice(
        title=_("Time zone"),
        description=_("The periodicity is read in this zone. Empty: the site's."),
        vocabulary=TIMEZONES,
        required=False,
    )
    misfire = schema.Choice(
        title=_("Runs missed while no worker ran"),
        vocabulary=MISFIRE,
        default="run_once",
    )
    directives.widget("activated", SingleCheckBoxFieldWidget)
    activated = schema.Bool(title=_("Activated"), default=True, required=False)


def form_values(cron):
    """The form's view of a cron."""
    return {
        "name": cron.name,
        "periodicity": cron.periodicity,
        "senviron": json.dumps(
            cron.environ, indent=2, sort_keys=True, ensure_ascii=False
        ),
        "logs_limit": cron.logs_limit,
        "user": cron.user,
        "timezone": cron.timezone,
        "misfire": cron.misfire,
        "activated": cron.activated,
    }


def cron_settings(data):
    """Cron settings from the form's data."""
    settings = dict(data)
    settings["environ"] = settings.pop("senviron") or "{}"
    settings["activated"] = bool(settings.get("activated"))
    return settings


def runner_names():
    """Names of the registered IJobRunner adapters, for the name field."""
    names = set()
    for registry in {getGlobalSiteManager(), getSiteManager()}:
        for registration in registry.registeredAdapters():
            if registration.name and registration.provided.isOrExtends(IJobRunner):
                names.add(registration.name)
    return sorted(names)


class CronFormBase(AutoExtensibleForm, form.Form):
    schema = ICronForm
    ignoreContext = True

    @property
    def dashboard_url(self):
        return f"{api.portal.get().absolute_url()}/{DASHBOARD}"

    def updateWidgets(self):
        super().updateWidgets()
        self.widgets["timezone"].noValueMessage = _("The site's time zone")

    def updateActions(self):
        super().updateActions()
        for name, action in self.actions.items():
            action.addClass(
                "btn btn-secondary" if name == "cancel" else "btn btn-primary"
            )

    def notify(self, text, kind="info"):
        IStatusMessage(self.request).add(text, type=kind)


class CronAddForm(CronFormBase):
    label = _("Add a task")

    @button.buttonAndHandler(_("Add"), name="add")
    def handle_add(self, action):
        data, errors = self.extractData()
        if errors:
            self.status = self.formErrorsMessage
            return
        crontab = Crontab.load()
        Cron(crontab=crontab, **cron_settings(data))
        crontab.save()
        self.notify(_("A new cron was added"))
        self.request.response.redirect(self.dashboard_url)

    @button.buttonAndHandler(_("Cancel"), name="cancel")
    def handle_cancel(self, action):
        self.request.response.redirect(self.dashboard_url)


class CronEditForm(CronFormBase):
    label = _("Edit a task")
    ignoreContext = False

    def update(self):
        uid = self.request.form.get("uid", "")
        self.crontab = Crontab.load()
        try:
            self.cron = self.crontab.by_uid(uid)
        except NoSuchCron:
            raise NotFound(_("No cron with uid ${uid}", mapping={"uid": uid}))
        super().update()

    def getContent(self):
        return form_values(self.cron)

    @property
    def action(self):
        return f"{self.request.getURL()}?uid={self.cron.uid}"

    @property
    def cron_url(self):
        return f"{api.portal.get().absolute_url()}/@@cron?uid={self.cron.uid}"

    @button.buttonAndHandler(_("Apply"), name="apply")
    def handle_apply(self, action):
        data, errors = self.extractData()
        if errors:
            self.status = self.formErrorsMessage
            return
        for setting, value in cron_settings(data).items():
            setattr(self.cron, setting, value)
        self.crontab.save()
        label = f"{self.cron.uid}/{self.cron.name}"
        self.notify(_("Cron ${cron} was changed", mapping={"cron": label}))
        self.request.response.redirect(self.cron_url)

    @button.buttonAndHandler(_("Cancel"), name="cancel")
    def handle_cancel(self, action):
        self.request.response.redirect(self.cron_url)


class CronFormWrapper(ControlPanelFormWrapper):
    """The control panel layout, plus the runner names and the live
    explanation of the periodicity (cron.js)."""

    index = ViewPageTemplateFile("templates/form_layout.pt")

    def runner_names(self):
        return runner_names()

    @property
    def site_url(self):
        return api.portal.get().absolute_url()

    @property
    def site_timezone(self):
        tz = site_timezone()
        return getattr(tz, "key", None) or str(tz)


CronAddView = layout.wrap_form(CronAddForm, CronFormWrapper)
CronEditView = layout.wrap_form(CronEditForm, CronFormWrapper)
