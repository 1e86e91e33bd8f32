"""The @crons REST API (plone.restapi)."""
