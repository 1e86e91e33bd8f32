"""GET @crons-health."""
