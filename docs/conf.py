"""Sphinx configuration of the collective.cron docs (`make docs`).

The pages are Markdown (MyST); the API reference is generated from the
docstrings by autodoc, so the add-on must be importable (it is, in `.venv`,
without a running Zope).
"""

from importlib.metadata import version as distribution_version

import re


project = "collective.cron"
author = "collective.cron developers"
copyright = "collective.cron developers, GPL version 2"
release = distribution_version("collective.cron")
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.intersphinx",
    "sphinx.ext.viewcode",
    # autodoc of zope.interface interfaces (their fields and methods).
    "repoze.sphinx.autointerface",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]

# Pages link to each other's sections as `page.md#a-heading`: MyST makes
# those anchors from headings down to this level.
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence", "deflist"]

# Autodoc: members in source order, the signature without the class's own
# documentation repeated in __init__.
autodoc_member_order = "bysource"
autodoc_class_signature = "separated"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}
# repoze.sphinx.autointerface plugs into autodoc's class-based documenters,
# which Sphinx 9 keeps behind this switch.
autodoc_use_legacy_class_based = True

# No network while building: intersphinx has no mapping to fetch.
intersphinx_mapping = {}

html_theme = "furo"
html_title = f"collective.cron {release}"
html_static_path = ["_static"]
html_show_sourcelink = False


def escape_bare_asterisks(app, what, name, obj, options, lines):
    """A word made of asterisks alone ("shown as ***") is text, not reST
    emphasis: field descriptions are written for the forms, not for reST."""
    lines[:] = [BARE_ASTERISKS.sub(lambda m: "\\*" * len(m[0]), line) for line in lines]


BARE_ASTERISKS = re.compile(r"(?<!\S)\*+(?!\S)")


def shorten_schema_fields(app, what, name, obj, options, lines):
    """An interface's zope.schema field says its type, whether it is
    required and its default; not the rest of what getDoc() lists (read-only
    False, the Python type, the value type's own field)."""
    if what != "interface":
        return
    if VALUE_TYPE in lines:
        del lines[lines.index(VALUE_TYPE) :]
    lines[:] = [line for line in lines if not line.startswith(SCHEMA_NOISE)]


VALUE_TYPE = ".. rubric:: Value Type"
SCHEMA_NOISE = (":Read Only: False", ":Allowed Type:")


def setup(app):
    app.connect("autodoc-process-docstring", escape_bare_asterisks)
    app.connect("autodoc-process-docstring", shorten_schema_fields)
