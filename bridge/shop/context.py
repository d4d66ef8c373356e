"""The shop the bridge works for: ids, stock sharing, language, currency and configuration values.

Configuration values follow PrestaShop's precedence (``Configuration::get``): the row for the shop,
else the row for its group (``id_shop`` NULL/0), else the global row (both NULL/0).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, or_, select
from sqlalchemy.engine import Connection

from bridge.errors import ShopDataError
from bridge.shop.schema import ShopTables, detect_version

DEFAULT_PRECISION = 2


@dataclass(frozen=True)
class StockRowFilter:
    """Which ``stock_available`` rows belong to the shop (``StockAvailable::addSqlShopRestriction``)."""

    id_shop: int
    id_shop_group: int

    def clause(self, stock_available: Table) -> ColumnElement[bool]:
        return and_(
            stock_available.c.id_shop == self.id_shop,
            stock_available.c.id_shop_group == self.id_shop_group,
        )


@dataclass(frozen=True)
class Currency:
    id_currency: int
    iso_code: str
    precision: int
    conversion_rate: Any = None  # Decimal


@dataclass(frozen=True)
class ShopContext:
    id_shop: int
    id_shop_group: int
    share_stock: bool
    id_lang: int
    currency: Currency
    version: str
    timezone: str
    config: Mapping[str, str] = field(repr=False)

    @property
    def id_currency(self) -> int:
        return self.currency.id_currency

    @property
    def stock_row_filter(self) -> StockRowFilter:
        if self.share_stock:
            return StockRowFilter(id_shop=0, id_shop_group=self.id_shop_group)
        return StockRowFilter(id_shop=self.id_shop, id_shop_group=0)

    def config_str(self, name: str, default: str = "") -> str:
        value = self.config.get(name)
        return default if value is None else value

    def config_int(self, name: str, default: int = 0) -> int:
        value = self.config.get(name)
        if value is None or value.strip() == "":
            return default
        try:
            return int(value.strip())
        except ValueError:
            return default

    def config_bool(self, name: str, default: bool = False) -> bool:
        return bool(self.config_int(name, int(default)))


def _is_zero(col: Any) -> ColumnElement[bool]:
    return or_(col.is_(None), col == 0)


def load_config(conn: Connection, tables: ShopTables, *, id_shop: int, id_shop_group: int) -> dict[str, str]:
    """All configuration values for the shop, resolved shop > group > global (one query)."""
    cfg = tables.configuration
    rows = conn.execute(
        select(cfg.c.name, cfg.c.value, cfg.c.id_shop, cfg.c.id_shop_group).where(
            or_(
                cfg.c.id_shop == id_shop,
                and_(cfg.c.id_shop_group == id_shop_group, _is_zero(cfg.c.id_shop)),
                and_(_is_zero(cfg.c.id_shop), _is_zero(cfg.c.id_shop_group)),
            )
        )
    ).all()
    ranked: dict[str, tuple[int, str]] = {}
    for name, value, row_shop, row_group in rows:
        rank = 2 if row_shop else (1 if row_group else 0)
        if name not in ranked or rank > ranked[name][0]:
            ranked[name] = (rank, "" if value is None else str(value))
    return {name: value for name, (_rank, value) in ranked.items()}


def _load_currency(
    conn: Connection, tables: ShopTables, id_currency: int, config: Mapping[str, str]
) -> Currency:
    cur = tables.currency
    cols = [cur.c.id_currency, cur.c.iso_code, cur.c.conversion_rate]
    has_precision = tables.has_column("currency", "precision")
    if has_precision:
        cols.append(cur.c.precision)
    row = conn.execute(select(*cols).where(cur.c.id_currency == id_currency)).first()
    if row is None:
        raise ShopDataError(
            f"default currency {id_currency} (PS_CURRENCY_DEFAULT) does not exist in {cur.name}"
        )
    if has_precision and row[3] is not None:
        precision = int(row[3])
    else:  # 1.6: one display precision for the whole shop
        raw = config.get("PS_PRICE_DISPLAY_PRECISION", "")
        precision = int(raw) if raw.strip().isdigit() else DEFAULT_PRECISION
    return Currency(int(row[0]), str(row[1]), precision, row[2])


def load_shop_context(conn: Connection, tables: ShopTables, *, id_shop: int, id_lang: int = 0) -> ShopContext:
    """Read the shop row, its group, the configuration, the language and the default currency."""
    shop, group = tables.shop, tables.shop_group
    row = conn.execute(
        select(shop.c.id_shop_group, group.c.share_stock)
        .select_from(shop.outerjoin(group, group.c.id_shop_group == shop.c.id_shop_group))
        .where(shop.c.id_shop == id_shop)
    ).first()
    if row is None:
        raise ShopDataError(f"shop {id_shop} does not exist in {shop.name}")
    id_shop_group = int(row[0])
    if row[1] is None:
        raise ShopDataError(f"shop group {id_shop_group} of shop {id_shop} does not exist in {group.name}")
    config = load_config(conn, tables, id_shop=id_shop, id_shop_group=id_shop_group)
    ctx_lang = id_lang or _int(config.get("PS_LANG_DEFAULT"))
    lang = tables.lang
    if not ctx_lang or conn.execute(select(lang.c.id_lang).where(lang.c.id_lang == ctx_lang)).first() is None:
        source = "configured id_lang" if id_lang else "PS_LANG_DEFAULT"
        raise ShopDataError(f"language {ctx_lang} ({source}) does not exist in {lang.name}")
    id_currency = _int(config.get("PS_CURRENCY_DEFAULT"))
    currency = _load_currency(conn, tables, id_currency, config)
    return ShopContext(
        id_shop=id_shop,
        id_shop_group=id_shop_group,
        share_stock=bool(row[1]),
        id_lang=ctx_lang,
        currency=currency,
        version=config.get("PS_VERSION_DB") or detect_version(conn, tables),
        timezone=config.get("PS_TIMEZONE") or "UTC",
        config=MappingProxyType(config),
    )


def _int(value: str | None) -> int:
    try:
        return int((value or "").strip())
    except ValueError:
        return 0
