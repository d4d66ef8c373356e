"""Alembic environment: the engine and table prefix come from bridge.migrate (config.attributes).

Only tables named <prefix>mirakl_bridge_* are ever considered, so autogenerate can never propose to
touch a PrestaShop table; the version table is <prefix>mirakl_bridge_alembic_version.
"""

from __future__ import annotations

from alembic import context

from bridge.state.tables import PREFIX_SUFFIX, VERSION_TABLE_SUFFIX, bridge_tables

config = context.config
engine = config.attributes["engine"]
prefix = config.attributes["prefix"]


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    if type_ == "table":
        return bool(name) and str(name).startswith(prefix + PREFIX_SUFFIX)
    return True


def run_migrations_online() -> None:
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=bridge_tables(prefix).metadata,
            version_table=f"{prefix}{VERSION_TABLE_SUFFIX}",
            include_name=include_name,
            transaction_per_migration=True,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `mirakl-bridge migrate`")
run_migrations_online()
