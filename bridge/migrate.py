"""Create/upgrade the bridge's own tables with alembic (version table <prefix>mirakl_bridge_alembic_version)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from bridge.state.tables import VERSION_TABLE_SUFFIX


def migrations_dir() -> Path:
    import migrations

    return Path(migrations.__file__).resolve().parent


def alembic_config(engine: Engine, prefix: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.attributes["engine"] = engine
    cfg.attributes["prefix"] = prefix
    return cfg


def version_table(prefix: str) -> str:
    return f"{prefix}{VERSION_TABLE_SUFFIX}"


def head_revision() -> str:
    script = ScriptDirectory(str(migrations_dir()))
    return str(script.get_current_head())


def current_revision(engine: Engine, prefix: str) -> str | None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"version_table": version_table(prefix)})
        return ctx.get_current_revision()


def upgrade(engine: Engine, prefix: str, revision: str = "head") -> tuple[str | None, str]:
    """Upgrade to ``revision``; returns (before, after). Idempotent."""
    before = current_revision(engine, prefix)
    command.upgrade(alembic_config(engine, prefix), revision)
    return before, str(current_revision(engine, prefix))
