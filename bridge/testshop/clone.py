"""Copy a seeded template database into a fresh one (MariaDB/MySQL): much faster than re-creating
and re-seeding 60 tables for every test."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect, text


def clone_database(server: str, template: str, target: str) -> None:
    """Create ``target`` with every table of ``template`` (structure + rows), in one connection."""
    for name in (template, target):
        if not name.replace("_", "").isalnum():
            raise ValueError(f"unsafe database name {name!r}")
    engine = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            tables = inspect(conn).get_table_names(schema=template)
            conn.execute(text(f"CREATE DATABASE `{target}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
            conn.execute(text("SET SESSION foreign_key_checks = 0"))
            for table in tables:
                if not table.replace("_", "").isalnum():
                    raise ValueError(f"unexpected table name {table!r}")
                conn.execute(text(f"CREATE TABLE `{target}`.`{table}` LIKE `{template}`.`{table}`"))
                conn.execute(text(f"INSERT INTO `{target}`.`{table}` SELECT * FROM `{template}`.`{table}`"))
    finally:
        engine.dispose()
