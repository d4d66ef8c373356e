"""Alembic migrations of the bridge-owned tables (never PrestaShop's)."""
