"""crons.xml: GenericSetup import and export of a site's crontab (2.x format).

    <crons>
      <cron uid="newsletter" name="newsletter" periodicity="0 8 * * 1-5"
            activated="True" logs_limit="10" user="" timezone="Europe/Paris"
            misfire="run_once">
        <environ><![CDATA[ {"list": "members"} ]]></environ>
      </cron>
      <cron uid="old" remove="true" />
    </crons>

Elements apply in document order. A known uid is an edit of the attributes
given; an unknown uid adds a cron (uid, name and periodicity required; environ
defaults to {}, activated to False); remove="true" deletes. Logs are never
imported. The whole document is checked before anything is saved: an error
names the cron (uid, or position) and the problem, and changes nothing.
"""

from collective.cron.audit import IMPORTED
from collective.cron.audit import AuditTrail
from collective.cron.audit import acting_as
from collective.cron.audit import change
from collective.cron.crontab import Cron
from collective.cron.crontab import Crontab
from collective.cron.errors import InvalidCron
from collective.cron.interfaces import ICrontab
from collective.cron.interfaces import IExportImporter
from collective.cron.security import check_run_as
from collective.cron.settings import NAMES
from collective.cron.validators import check_activated
from lxml import etree
from plone.base.interfaces.siteroot import IPloneSiteRoot
from Products.GenericSetup.registry import _profile_registry
from Products.GenericSetup.utils import _getProductPath
from zope.component import adapter
from zope.component import getMultiAdapter
from zope.interface import implementer

import json
import os


FILENAME = "crons.xml"

# Attribute -> cron setting: every setting of ICronSettings but environ (an
# element) and saved_by (set on save). "remove" is handled apart.
ATTRIBUTES = {name: name for name in NAMES if name not in ("environ", "saved_by")}
ALLOWED = (*ATTRIBUTES, "remove")


class CronsXMLError(ValueError):
    """crons.xml cannot be imported; nothing was changed."""


def _label(position, uid):
    return f"cron #{position}" + (f" (uid {uid!r})" if uid else "")


def _parse(xml_text):
    if isinstance(xml_text, str):
        xml_text = xml_text.encode("utf-8")
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, remove_comments=True
    )
    try:
        root = etree.fromstring(xml_text, parser)
    except etree.XMLSyntaxError as error:
        raise CronsXMLError(f"{FILENAME} is not well-formed XML: {error}")
    if root.tag != "crons":
        raise CronsXMLError(
            f"{FILENAME}: the root element must be <crons>, not <{root.tag}>"
        )
    return root


def _environ(element, label):
    children = [child for child in element if isinstance(child.tag, str)]
    for child in children:
        if child.tag != "environ":
            raise CronsXMLError(
                f"{FILENAME}, {label}: unknown element <{child.tag}> "
                "(a cron may only contain <environ>)"
            )
    if len(children) > 1:
        raise CronsXMLError(f"{FILENAME}, {label}: more than one <environ>")
    return children[0].text or "" if children else None


def _apply(crontab, element, position):
    """Apply one <cron> element to the in-memory crontab."""
    uid = element.get("uid")
    label = _label(position, uid)
    if element.tag != "cron":
        raise CronsXMLError(
            f"{FILENAME}, element #{position}: unknown element <{element.tag}>"
        )
    unknown = sorted(set(element.attrib) - set(ALLOWED))
    if unknown:
        raise CronsXMLError(
            f"{FILENAME}, {label}: unknown attribute(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(ALLOWED)}"
        )
    if not uid or not uid.strip():
        raise CronsXMLError(f"{FILENAME}, {label}: the uid attribute is missing")
    try:
        remove = check_activated(element.get("remove", "false"))
    except InvalidCron:
        value = element.get("remove")
        raise CronsXMLError(
            f"{FILENAME}, {label}: remove={value!r} is not true or false"
        )
    if remove:
        crontab.crons.pop(uid, None)  # removing an absent cron changes nothing
        return
    environ = _environ(element, label)
    settings = {
        setting: element.get(attribute)
        for attribute, setting in ATTRIBUTES.items()
        if element.get(attribute) is not None and attribute != "uid"
    }
    if environ is not None:
        settings["environ"] = environ
    for setting in ("user", "timezone"):
        if settings.get(setting) == "":
            settings[setting] = None
    try:
        cron = crontab.crons.get(uid)
        if cron is None:
            missing = [key for key in ("name", "periodicity") if not settings.get(key)]
            if missing:
                raise CronsXMLError(
                    f"{FILENAME}, {label}: no cron has this uid, so this adds one: "
                    f"{' and '.join(missing)} required"
                )
            settings.setdefault("activated", False)
            Cron(uid=uid, crontab=crontab, **settings)
        else:
            for setting, value in settings.items():
                setattr(cron, setting, value)
    except InvalidCron as error:
        raise CronsXMLError(f"{FILENAME}, {label}: {error}")


def _cron_element(cron):
    element = etree.Element("cron")
    element.set("uid", cron.uid)
    element.set("name", cron.name)
    element.set("activated", str(bool(cron.activated)))
    element.set("periodicity", cron.periodicity)
    element.set("logs_limit", str(cron.logs_limit))
    element.set("user", cron.user or "")
    element.set("timezone", cron.timezone or "")
    element.set("misfire", cron.misfire)
    # Alerts and texts: written only when set, so files stay as 2.x read them.
    for setting in (
        "title",
        "description",
        "notify",
        "alert_after",
        "pause_after_failures",
        "timeout",
    ):
        value = getattr(cron, setting)
        if value not in (None, "", "never"):
            element.set(setting, str(value))
    if cron.retries:
        element.set("retries", str(cron.retries))
        element.set("retry_delay", str(cron.retry_delay))
    if cron.recipients:
        element.set("recipients", ", ".join(cron.recipients))
    environ = etree.SubElement(element, "environ")
    text = json.dumps(cron.environ, indent=2, sort_keys=True, ensure_ascii=False)
    environ.text = etree.CDATA(f"\n{text}\n")
    return element


@implementer(IExportImporter)
@adapter(IPloneSiteRoot, ICrontab)
class CronsExportImporter:
    """crons.xml for a site (IExportImporter on (site, crontab)).

    The import applies to the crontab stored in the site; the adapted crontab
    is the one exported.
    """

    def __init__(self, context, crontab):
        self.context = context
        self.crontab = crontab

    def do_import(self, xml_text):
        """Apply crons.xml; return the crontab saved (its queue synchronised)."""
        root = _parse(xml_text)
        crontab = Crontab.load(strict=False)
        before = {
            uid: Cron.load(cron.dump(logs=False)) for uid, cron in crontab.crons.items()
        }
        elements = [element for element in root if isinstance(element.tag, str)]
        labels = {}
        for position, element in enumerate(elements, start=1):
            _apply(crontab, element, position)
            labels[element.get("uid")] = _label(position, element.get("uid"))
        self._check_run_as(crontab, before, labels)
        crontab.save()
        # Each cron added, changed or removed has its entry (from save);
        # this one says that an import happened, even one changing nothing.
        AuditTrail(self.context).record(
            IMPORTED,
            name=FILENAME,
            changes=[change("crons", len(before), len(crontab.crons))],
        )
        self.crontab = crontab
        return crontab

    def _check_run_as(self, crontab, before, labels):
        """Who the added or changed crons run as, against who imports them."""
        for uid, cron in crontab.crons.items():
            previous = before.get(uid)
            if previous is not None and previous.similar(cron):
                continue
            try:
                check_run_as(self.context, cron, previous=previous)
            except InvalidCron as error:
                raise CronsXMLError(f"{FILENAME}, {labels[uid]}: {error}")

    def do_export(self):
        """The crontab as crons.xml text."""
        root = etree.Element("crons")
        for cron in self.crontab.crons.values():
            root.append(_cron_element(cron))
        etree.indent(root, space="  ")
        body = etree.tostring(root, encoding="unicode")
        return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'


def import_crons(context):
    """GenericSetup import step collective.cron.setupCrons."""
    body = context.readDataFile(FILENAME)
    if body is None:
        return  # import steps run for every profile: this one has no crons.xml
    site = context.getSite()
    with acting_as(importer_label(context)):
        importer = getMultiAdapter((site, Crontab()), IExportImporter)
        crontab = importer.do_import(body)
    context.getLogger("collective.cron").info(
        "Imported %s: %d crons", FILENAME, len(crontab.crons)
    )


def importer_label(context):
    """Who an import is, for the audit trail: "GenericSetup profile <id>"
    (a tarball or snapshot when it comes from no profile)."""
    path = getattr(context, "_profile_path", None)
    if path:
        wanted = os.path.realpath(path)
        for info in _profile_registry.listProfileInfo():
            where = info.get("path") or ""
            if info.get("product"):
                try:
                    where = os.path.join(_getProductPath(info["product"]), where)
                except (ImportError, AttributeError, KeyError):
                    continue
            if where and os.path.realpath(where) == wanted:
                return f"GenericSetup profile {info['id']}"
    kind = "snapshot" if "Snapshot" in type(context).__name__ else "tarball"
    return f"GenericSetup {kind}"


def export_crons(context):
    """GenericSetup export step collective.cron.exportCrons."""
    site = context.getSite()
    exporter = getMultiAdapter((site, Crontab.load(strict=False)), IExportImporter)
    context.writeDataFile(FILENAME, exporter.do_export(), "text/xml")
