"""The Plone version under test (make test-matrix runs the suite on 6.0, 6.1
and 6.2): the one place tests look at it."""

from importlib.metadata import version


PLONE = tuple(int(part) for part in version("Products.CMFPlone").split(".")[:2])


def add_plone_site(app, site_id, **options):
    """addPloneSite without the example content: Plone 6.0 creates it unless
    told not to (as the current user, who may not add folders there); 6.1+
    never creates it and warns when told."""
    from Products.CMFPlone.factory import addPloneSite

    if PLONE < (6, 1):
        options.setdefault("setup_content", False)
    return addPloneSite(app, site_id, **options)


def constraints_file(repo):
    """The constraints of the Plone under test: constraints.txt (6.2) or
    constraints-6.0.txt / constraints-6.1.txt."""
    if PLONE >= (6, 2):
        return repo / "constraints.txt"
    return repo / f"constraints-{PLONE[0]}.{PLONE[1]}.txt"
