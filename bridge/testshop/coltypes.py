"""Column types of the test-shop tables: MariaDB spellings of PrestaShop 8.1/9.0, portable to SQLite."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Enum, Integer, SmallInteger, String, Text
from sqlalchemy.dialects import mysql

from bridge.shop.schema import ShopDate, ShopDateTime

_MY = ("mysql", "mariadb")

UINT = Integer().with_variant(mysql.INTEGER(unsigned=True), *_MY)
INT = Integer().with_variant(mysql.INTEGER(), *_MY)
UBIG = BigInteger().with_variant(mysql.BIGINT(unsigned=True), *_MY).with_variant(Integer(), "sqlite")
BIG = BigInteger().with_variant(mysql.BIGINT(), *_MY).with_variant(Integer(), "sqlite")
UTINY = SmallInteger().with_variant(mysql.TINYINT(unsigned=True), *_MY)
TINY = SmallInteger().with_variant(mysql.TINYINT(), *_MY)
USMALL = SmallInteger().with_variant(mysql.SMALLINT(unsigned=True), *_MY)
SMALL = SmallInteger().with_variant(mysql.SMALLINT(), *_MY)
TEXT = Text()
MEDIUMTEXT = Text().with_variant(mysql.MEDIUMTEXT(), *_MY)
LONGTEXT = Text().with_variant(mysql.LONGTEXT(), *_MY)
CHAR = String
DATETIME = ShopDateTime()
DATE = ShopDate()


def _enum(*values: str) -> Enum:
    return Enum(*values, native_enum=True, create_constraint=False)


REDIRECT_TYPE = _enum(
    "404",
    "410",
    "301-product",
    "302-product",
    "301-category",
    "302-category",
    "200-displayed",
    "404-displayed",
    "410-displayed",
    "default",
)
CONDITION = _enum("new", "used", "refurbished")
VISIBILITY = _enum("both", "catalog", "search", "none")
PRODUCT_TYPE = _enum("standard", "pack", "virtual", "combinations", "")
REDUCTION_TYPE = _enum("amount", "percentage")


OPTS: dict[str, Any] = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_unicode_ci",
}


def ix(prefix: str, table: str, name: str) -> str:
    """Index name unique in the whole database (SQLite index names are not per table)."""
    return f"{prefix}{table}__{name}"[:64]
