"""collective.cron 2.x's adapters package, kept for add-ons that import from it.

Its modules only re-export today's classes under their 2.x names, each with a
DeprecationWarning naming the module to import from instead.
"""
