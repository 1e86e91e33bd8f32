"""@@cron-add and @@cron-edit: z3c.form forms for one cron.

Field names are those of collective.cron 2.x (form.widgets.name,
form.widgets.periodicity, form.widgets.senviron, form.widgets.logs_limit,
form.widgets.activated), so its documented walk-through still applies.
"""

from collective.cron import _
from collective.cron import settings
from collective.cron.browser.base import DASHBOARD
from collective.cron.browser.base import cron_url
from collective.cron.crontab import Cron
from collective.cron.crontab import Crontab
from collective.cron.errors import InvalidCron
from collective.cron.errors import NoSuchCron
from collective.cron.runners import runner_names
from collective.cron.runners import runners_offered
from collective.cron.schedule import site_timezone
from collective.cron.security import check_run_as
from collective.cron.settings import ICronSettings
from collective.cron.settings import SettingError
from collective.cron.validators import UNKNOWN_TIMEZONE
from plone import api
from plone.app.registry.browser.controlpanel import ControlPanelFormWrapper
from plone.autoform import directives
from plone.autoform.form import AutoExtensibleForm
from plone.protect import CheckAuthenticator
from plone.z3cform import layout
from Products.Five.browser.pagetemplatefile import ViewPageTemplateFile
from Products.statusmessages.interfaces import IStatusMessage
from urllib.parse import quote
from z3c.form import button
from z3c.form import form
from z3c.form.browser.checkbox import SingleCheckBoxFieldWidget
from z3c.form.interfaces import ActionExecutionError
from z3c.form.interfaces import IErrorViewSnippet
from z3c.form.interfaces import ISequenceWidget
from z3c.form.interfaces import WidgetActionExecutionError
from zExceptions import NotFound
from zope import schema
from zope.component import getMultiAdapter
from zope.interface import Interface
from zope.interface import Invalid

import copy
import json


def _setting(name):
    """The field of ICronSettings, for this form (the rules come with it)."""
    return copy.copy(ICronSettings[name])


def _as_text(name, **options):
    """A text field for a setting typed as text, checked by the setting's rule.

    The text is the 2.x form of the value (environ as JSON); the rule reads it,
    so an error names what was typed.
    """
    source = ICronSettings[name]

    def constraint(text):
        try:
            settings.clean(name, text)
        except InvalidCron as error:
            raise SettingError(error)
        return True

    factory = options.pop("factory", schema.TextLine)
    return factory(
        title=source.title,
        description=source.description,
        constraint=constraint,
        **options,
    )


class ICronForm(Interface):
    """The form's view of ICronSettings, with the 2.x field names."""

    name = _setting("name")
    periodicity = _setting("periodicity")
    senviron = _as_text("environ", factory=schema.Text, required=False, default="{}")
    logs_limit = _as_text("logs_limit", default="5")
    user = _setting("user")
    timezone = _setting("timezone")
    misfire = _setting("misfire")
    title = _setting("title")
    description = _setting("description")
    notify = _setting("notify")
    recipients = _as_text("recipients", factory=schema.Text, required=False)
    alert_after = _as_text("alert_after", required=False)
    pause_after_failures = _as_text("pause_after_failures", required=False)
    retries = _as_text("retries", required=False, default="0")
    retry_delay = _as_text("retry_delay", required=False, default="60")
    timeout = _as_text("timeout", required=False)
    directives.widget("activated", SingleCheckBoxFieldWidget)
    activated = _setting("activated")


# Form field -> cron setting, where they differ.
FORM_TO_SETTING = {"senviron": "environ"}
SETTING_TO_FORM = {setting: field for field, setting in FORM_TO_SETTING.items()}


def form_values(cron):
    """The form's view of a cron."""
    return {
        "name": cron.name,
        "periodicity": cron.periodicity,
        "senviron": json.dumps(
            cron.environ, indent=2, sort_keys=True, ensure_ascii=False
        ),
        "logs_limit": str(cron.logs_limit),
        "user": cron.user,
        "timezone": cron.timezone,
        "misfire": cron.misfire,
        "title": cron.title,
        "description": cron.description,
        "notify": cron.notify,
        "recipients": "\n".join(cron.recipients),
        "alert_after": "" if cron.alert_after is None else str(cron.alert_after),
        "pause_after_failures": ""
        if cron.pause_after_failures is None
        else str(cron.pause_after_failures),
        "retries": str(cron.retries),
        "retry_delay": str(cron.retry_delay),
        "timeout": "" if cron.timeout is None else str(cron.timeout),
        "activated": cron.activated,
    }


def cron_settings(data):
    """Cron settings from the form's data."""
    values = {FORM_TO_SETTING.get(key, key): value for key, value in data.items()}
    values["environ"] = values.get("environ") or "{}"
    values["activated"] = bool(values.get("activated"))
    return values


class CronFormBase(AutoExtensibleForm, form.Form):
    schema = ICronForm
    ignoreContext = True
    enableCSRFProtection = True  # the form carries Plone's _authenticator

    @property
    def site(self):
        return api.portal.get()

    @property
    def dashboard_url(self):
        return f"{self.site.absolute_url()}/{DASHBOARD}"

    def updateWidgets(self):
        super().updateWidgets()
        self.widgets["timezone"].noValueMessage = _("The site's time zone")

    def updateActions(self):
        super().updateActions()
        for name, action in self.actions.items():
            action.addClass(
                "btn btn-secondary" if name == "cancel" else "btn btn-primary"
            )

    def extractData(self, setErrors=True):
        """z3c.form drops a choice it does not know (time zone 'Mars/Olympus')
        as if nothing was chosen: refuse it instead, naming it."""
        data, errors = super().extractData(setErrors=setErrors)
        refused = {}
        for name, widget in self.widgets.items():
            if not ISequenceWidget.providedBy(widget):
                continue
            unknown = self._unknown_tokens(widget)
            if not unknown:
                continue
            setting = FORM_TO_SETTING.get(name, name)
            error = SettingError(
                InvalidCron(setting, unknown[0], _unknown_reason(name))
            )
            view = getMultiAdapter(
                (error, self.request, widget, widget.field, self, self.context),
                IErrorViewSnippet,
            )
            view.update()
            refused[widget] = view
        if not refused:
            return data, errors
        # This error replaces z3c.form's "Required input is missing" for it.
        errors = tuple(e for e in errors if e.widget not in refused)
        errors += tuple(refused.values())
        if setErrors:
            for widget, view in refused.items():
                widget.error = view
            self.widgets.errors = errors
        return data, errors

    def _unknown_tokens(self, widget):
        tokens = self.request.form.get(widget.name)
        if tokens is None:
            return []
        if isinstance(tokens, str):
            tokens = [tokens]
        if not isinstance(tokens, (list, tuple)):
            return [str(tokens)]
        known = {term.token for term in widget.terms}
        return [
            token
            for token in tokens
            if token not in ("", widget.noValueToken) and token not in known
        ]

    def check_csrf(self):
        """Refuse a change without Plone's CSRF token: 403, nothing saved."""
        CheckAuthenticator(self.request)

    def refuse(self, error):
        """Show a refused setting at its field (or above the form)."""
        field = SETTING_TO_FORM.get(error.field, error.field)
        if field in self.widgets:
            raise WidgetActionExecutionError(field, Invalid(error.message()))
        raise ActionExecutionError(Invalid(error.message()))

    def notify(self, text, kind="info"):
        IStatusMessage(self.request).add(text, type=kind)


def _unknown_reason(name):
    if name == "timezone":
        return UNKNOWN_TIMEZONE
    choices = ", ".join(term.value for term in ICronSettings[name].vocabulary)
    return _("must be one of ${choices}", mapping={"choices": choices})


class CronAddForm(CronFormBase):
    label = _("Add a task")

    @button.buttonAndHandler(_("Add"), name="add")
    def handle_add(self, action):
        self.check_csrf()
        data, errors = self.extractData()
        if errors:
            self.status = self.formErrorsMessage
            return
        crontab = Crontab.load(strict=False)
        try:
            cron = Cron(crontab=crontab, **cron_settings(data))
            check_run_as(self.site, cron)
        except InvalidCron as error:
            self.refuse(error)
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
        self.crontab = Crontab.load(strict=False)
        try:
            self.cron = self.crontab.by_uid(uid)
        except NoSuchCron:
            raise NotFound(_("No cron with uid ${uid}", mapping={"uid": uid}))
        super().update()

    def getContent(self):
        return form_values(self.cron)

    @property
    def action(self):
        return f"{self.request.getURL()}?uid={quote(self.cron.uid, safe='')}"

    @property
    def cron_url(self):
        return cron_url(self.site.absolute_url(), self.cron)

    @button.buttonAndHandler(_("Apply"), name="apply")
    def handle_apply(self, action):
        self.check_csrf()
        data, errors = self.extractData()
        if errors:
            self.status = self.formErrorsMessage
            return
        previous = Cron.load(self.cron.dump(logs=False))
        try:
            for setting, value in cron_settings(data).items():
                setattr(self.cron, setting, value)
            check_run_as(self.site, self.cron, previous=previous)
        except InvalidCron as error:
            self.refuse(error)
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

    def runners(self):
        """Registered runners with their titles, for the name suggestions."""
        return runners_offered()

    @property
    def site_url(self):
        return api.portal.get().absolute_url()

    @property
    def site_timezone(self):
        tz = site_timezone()
        return getattr(tz, "key", None) or str(tz)


CronAddView = layout.wrap_form(CronAddForm, CronFormWrapper)
CronEditView = layout.wrap_form(CronEditForm, CronFormWrapper)
