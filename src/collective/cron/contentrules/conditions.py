"""Content-rule conditions on a cron run: its status, its cron's name."""

from collective.cron import _
from collective.cron.status import Status
from fnmatch import fnmatchcase
from OFS.SimpleItem import SimpleItem
from plone.app.contentrules.browser.formhelper import AddForm
from plone.app.contentrules.browser.formhelper import ContentRuleFormWrapper
from plone.app.contentrules.browser.formhelper import EditForm
from plone.contentrules.rule.interfaces import IExecutable
from plone.contentrules.rule.interfaces import IRuleElementData
from z3c.form import form
from zope import schema
from zope.component import adapter
from zope.interface import Interface
from zope.interface import implementer
from zope.schema.vocabulary import SimpleTerm
from zope.schema.vocabulary import SimpleVocabulary


STATUSES = SimpleVocabulary(
    [SimpleTerm(status.name, status.name, status.name) for status in Status]
)


class ICronStatusCondition(Interface):
    statuses = schema.Set(
        title=_("Run status"),
        description=_("The rule applies when the run ended with one of these."),
        value_type=schema.Choice(vocabulary=STATUSES),
        required=True,
    )


@implementer(ICronStatusCondition, IRuleElementData)
class CronStatusCondition(SimpleItem):
    statuses = set()
    element = "collective.cron.conditions.Status"

    @property
    def summary(self):
        return _(
            "Run status is ${statuses}",
            mapping={"statuses": ", ".join(sorted(self.statuses))},
        )


@implementer(IExecutable)
@adapter(Interface, ICronStatusCondition, Interface)
class CronStatusConditionExecutor:
    def __init__(self, context, element, event):
        self.element = element
        self.event = event

    def __call__(self):
        log = getattr(self.event, "log", None)
        return log is not None and Status(log.status).name in self.element.statuses


class ICronNameCondition(Interface):
    names = schema.List(
        title=_("Cron names or uids"),
        description=_(
            "One a line; the rule applies to runs of these crons. Shell "
            "patterns work: newsletter-*."
        ),
        value_type=schema.TextLine(),
        required=True,
    )


@implementer(ICronNameCondition, IRuleElementData)
class CronNameCondition(SimpleItem):
    names = []
    element = "collective.cron.conditions.Name"

    @property
    def summary(self):
        return _("Cron is ${names}", mapping={"names": ", ".join(self.names)})


@implementer(IExecutable)
@adapter(Interface, ICronNameCondition, Interface)
class CronNameConditionExecutor:
    def __init__(self, context, element, event):
        self.element = element
        self.event = event

    def __call__(self):
        cron = getattr(self.event, "cron", None)
        if cron is None:
            return False
        return any(
            fnmatchcase(cron.name, pattern) or fnmatchcase(cron.uid, pattern)
            for pattern in self.element.names
        )


class CronStatusAddForm(AddForm):
    schema = ICronStatusCondition
    label = _("Add a cron run status condition")
    form_name = _("Configure element")

    def create(self, data):
        condition = CronStatusCondition()
        form.applyChanges(self, condition, data)
        return condition


class CronStatusAddFormView(ContentRuleFormWrapper):
    form = CronStatusAddForm


class CronStatusEditForm(EditForm):
    schema = ICronStatusCondition
    label = _("Edit a cron run status condition")
    form_name = _("Configure element")


class CronStatusEditFormView(ContentRuleFormWrapper):
    form = CronStatusEditForm


class CronNameAddForm(AddForm):
    schema = ICronNameCondition
    label = _("Add a cron name condition")
    form_name = _("Configure element")

    def create(self, data):
        condition = CronNameCondition()
        form.applyChanges(self, condition, data)
        return condition


class CronNameAddFormView(ContentRuleFormWrapper):
    form = CronNameAddForm


class CronNameEditForm(EditForm):
    schema = ICronNameCondition
    label = _("Edit a cron name condition")
    form_name = _("Configure element")


class CronNameEditFormView(ContentRuleFormWrapper):
    form = CronNameEditForm
