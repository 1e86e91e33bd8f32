"""Ready-made runners for the maintenance jobs every Plone site needs.

Each is an IJobRunner adapter named `collective.cron.tasks.<name>`, offered in
the dashboard's runner list with its title and description. Registering them
schedules nothing: a task runs only when a cron names it. A cron's environ
holds the task's options; they are checked before the task does anything, and
a bad one ends the run FAILURE with a message naming it (see
docs/operations.md).
"""
