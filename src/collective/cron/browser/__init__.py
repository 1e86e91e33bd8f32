"""The Cron Dashboard: a Classic UI control panel in Site Setup."""
