"""The bridge's own tables (<prefix>mirakl_bridge_*), managed by alembic in migrations/."""
