"""A collective.cron 2.x add-on, as such add-ons were written, left unchanged.

It imports 2.x names (collective.cron.utils.su_plone, MessageFactory,
interfaces.ILayer and job_status, Cron.last_status), protects a view with the
2.x permission ccron.View on the 2.x layer ILayer, and grants "ccron: View" in
its rolemap. tests/compat/test_legacy_addon.py is its test module, written the
2.x way; both must keep working on collective.cron 3.
"""
