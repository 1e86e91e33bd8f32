"""The @crons services: one module per HTTP method."""
