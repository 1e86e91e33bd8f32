"""Content rules on cron runs: Site Setup > Content Rules, with no code.

Two rule events ("Cron job finished", "Cron job failed"), two conditions
(status, cron name) and string substitutions (${cron_name}, ...) so Plone's
own actions (Send email, Logger, ...) report on runs.
"""
