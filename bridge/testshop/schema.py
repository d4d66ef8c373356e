"""SQLAlchemy metadata of the PrestaShop tables the bridge reads and writes (8.1/9.0 definitions).

``shop_metadata(prefix)`` creates on MariaDB (InnoDB, utf8mb4) and on SQLite (the demo). The column
definitions are code written from the real schema dumps; tests/integration/test_schema_conformance.py
checks them against the 8.1 and 9.0 dumps.
"""

from __future__ import annotations

import functools

from sqlalchemy import MetaData

from bridge.testshop import tables_base, tables_catalog, tables_customers, tables_orders, tables_stock

_MODULES = (tables_base, tables_catalog, tables_stock, tables_customers, tables_orders)


def shop_metadata(prefix: str = "ps_") -> MetaData:
    md = MetaData()
    for module in _MODULES:
        module.define(md, prefix)
    return md


def logical_names(md: MetaData, prefix: str) -> list[str]:
    return sorted(name[len(prefix) :] for name in md.tables)


@functools.lru_cache(maxsize=8)
def cached_metadata(prefix: str = "ps_") -> MetaData:
    """Shared read-only metadata for the seed helpers (built once per prefix)."""
    return shop_metadata(prefix)
