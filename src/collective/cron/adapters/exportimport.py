"""2.x home of the crons.xml adapter: deprecated, use collective.cron.exportimport."""

import zope.deferredimport


zope.deferredimport.deprecated(
    "Import it from collective.cron.exportimport.",
    CronsExportImporter="collective.cron.exportimport:CronsExportImporter",
)
