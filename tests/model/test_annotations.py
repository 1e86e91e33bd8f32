"""read_annotation: collective.cron's per-site data is found where it is."""

from BTrees.OOBTree import OOBTree
from collective.cron.annotations import read_annotation
from persistent.mapping import PersistentMapping
from zope.annotation.interfaces import IAnnotations
from zope.component import getGlobalSiteManager
from zope.interface import Interface
from zope.interface import alsoProvides
from zope.interface import implementer


class TypedMapping(PersistentMapping):
    """A container whose class has type hints: `__annotations__` then reads
    as the class's dict of hints, which holds no annotation."""

    title: str = ""


def test_a_key_stored_in_the_site_annotations_is_read(portal):
    IAnnotations(portal)["collective.cron.test"] = "stored"
    assert read_annotation(portal, "collective.cron.test") == "stored"


def test_a_key_absent_from_the_site_annotations_reads_none(portal):
    assert read_annotation(portal, "collective.cron.never-stored") is None


def test_an_object_annotated_another_way_is_read_through_its_adapter():
    # A mapping that is its own annotations (IAnnotations provided directly),
    # with a class whose type hints answer to `__annotations__`.
    site = TypedMapping()
    alsoProvides(site, IAnnotations)
    site["collective.cron.test"] = "stored"
    assert isinstance(getattr(site, "__annotations__", None), dict)
    assert read_annotation(site, "collective.cron.test") == "stored"
    assert read_annotation(site, "collective.cron.other") is None


class IAnnotatedHere(Interface):
    """Marks the test's stand-in site."""


@implementer(IAnnotatedHere)
class AnnotatedSite:
    """Keeps its annotations where zope.annotation's AttributeAnnotations
    does: a BTree in `__annotations__`."""

    def __init__(self):
        self.__annotations__ = OOBTree()


def test_a_missing_key_is_answered_without_the_adapter():
    # The adapter lookup is what a run avoids: on a Dexterity site it
    # computes the site's interfaces first.
    asked = []

    def annotations(site):
        asked.append(site)
        return site.__annotations__

    registry = getGlobalSiteManager()
    registry.registerAdapter(annotations, (IAnnotatedHere,), IAnnotations)
    try:
        site = AnnotatedSite()
        site.__annotations__["collective.cron.test"] = "stored"
        assert read_annotation(site, "collective.cron.test") == "stored"
        assert read_annotation(site, "collective.cron.other") is None
    finally:
        registry.unregisterAdapter(annotations, (IAnnotatedHere,), IAnnotations)
    assert asked == []
