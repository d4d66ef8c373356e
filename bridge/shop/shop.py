"""``Shop``: engine + reflected tables + shop context, built once at start-up."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from bridge.shop.context import ShopContext, load_shop_context
from bridge.shop.db import make_engine
from bridge.shop.schema import ShopTables, reflect_shop_tables


@dataclass(frozen=True)
class Shop:
    engine: Engine
    tables: ShopTables
    context: ShopContext

    @property
    def prefix(self) -> str:
        return self.tables.prefix

    @property
    def dialect(self) -> str:
        """``mysql`` (MariaDB/MySQL through pymysql) or ``sqlite``."""
        return self.engine.dialect.name

    @classmethod
    def connect(
        cls,
        url: str,
        prefix: str,
        id_shop: int,
        id_lang: int = 0,
        *,
        connect_timeout_s: int = 10,
        pool_size: int = 5,
        echo: bool = False,
    ) -> Shop:
        """Create the engine, reflect the tables once and load the shop context."""
        engine = make_engine(url, connect_timeout_s=connect_timeout_s, pool_size=pool_size, echo=echo)
        try:
            return cls.from_engine(engine, prefix, id_shop, id_lang)
        except BaseException:
            engine.dispose()
            raise

    @classmethod
    def from_engine(cls, engine: Engine, prefix: str, id_shop: int, id_lang: int = 0) -> Shop:
        with engine.connect() as conn:
            tables = reflect_shop_tables(conn, prefix)
            context = load_shop_context(conn, tables, id_shop=id_shop, id_lang=id_lang)
        return cls(engine, tables, context)

    def reload_context(self) -> Shop:
        """A new Shop with the configuration re-read (tables are kept)."""
        with self.engine.connect() as conn:
            context = load_shop_context(
                conn, self.tables, id_shop=self.context.id_shop, id_lang=self.context.id_lang
            )
        return Shop(self.engine, self.tables, context)

    def dispose(self) -> None:
        self.engine.dispose()
