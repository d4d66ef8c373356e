"""Alembic revisions of the bridge tables (alembic skips this file)."""
