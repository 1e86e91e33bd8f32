"""plone.restapi services of collective.cron."""
