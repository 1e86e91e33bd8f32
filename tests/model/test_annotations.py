"""read_annotation: collective.cron's per-site data is found where it is."""

from collective.cron.annotations import read_annotation
from persistent.mapping import PersistentMapping
from zope.annotation.interfaces import IAnnotations
from zope.interface import alsoProvides


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
