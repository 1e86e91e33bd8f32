"""Upgrade steps between profile versions (see configure.zcml)."""
