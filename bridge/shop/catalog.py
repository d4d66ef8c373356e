"""Set-based catalogue reads for the offers task (SQLAlchemy Core, bound parameters only).

- :func:`catalog_select`: one SELECT for every product and combination of the shop with its
  identifiers, flags, prices and the right ``stock_available`` row (shop, or group when stock is
  shared), optionally with the row's inputs digest computed by the database (:func:`inputs_digest`);
  :func:`stream_catalog` streams it in chunks of rows (server-side cursor, no result processing).
- :func:`load_pricing`: specific prices, priorities, tax rules, currency, group and configuration,
  read once per run into dicts keyed by product (PrestaShop local datetimes converted to UTC here).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Integer, Select, String, and_, cast, func, literal, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from bridge.domain.offer_builder import CATALOG_FIELDS, INPUTS_DIGEST, PricingData, row_digest
from bridge.domain.pricing import PriceSettings, SpecificPrice, TaxRule, Visitor, tax_rate_for
from bridge.errors import ShopDataError
from bridge.shop.context import ShopContext
from bridge.shop.db import stream_rows
from bridge.shop.schema import ShopTables

CHUNK_ROWS = 2000
PRODUCTS_PER_SELECT = 1000  # products per SELECT when only some are read (a delta run's changed rows)


def shop_timezone(ctx: ShopContext) -> ZoneInfo:
    try:
        return ZoneInfo(ctx.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def to_utc(value: datetime | None, tz: ZoneInfo) -> datetime | None:
    """A PrestaShop local datetime (None for a zero date) as aware UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=tz).astimezone(timezone.utc)


# --- the catalogue ---------------------------------------------------------------------------------


def catalog_select(tables: ShopTables, ctx: ShopContext, *, inputs_key: str | None = None,
                   dialect: str = "mysql", products: Sequence[int] | None = None) -> Select[Any]:
    """Every product (no combinations) and every combination of ``ctx.id_shop``, one row each.

    ``inputs_key``: add the column ``inputs_digest`` (:func:`inputs_digest`) after ``CATALOG_FIELDS``;
    ``products``: only these products' rows.
    """
    p, ps = tables.product, tables.product_shop
    pa, pas, sa = tables.product_attribute, tables.product_attribute_shop, tables.stock_available
    stock = ctx.stock_row_filter
    ipa = func.coalesce(pas.c.id_product_attribute, 0)
    state = p.c.state if tables.has_column("product", "state") else literal(1)
    query = (
        select(
            ps.c.id_product.label("id_product"),
            cast(ipa, Integer).label("id_product_attribute"),
            pa.c.reference.label("reference"),
            pa.c.ean13.label("ean13"),
            pa.c.upc.label("upc"),
            p.c.reference.label("product_reference"),
            p.c.ean13.label("product_ean13"),
            p.c.upc.label("product_upc"),
            p.c.id_manufacturer.label("id_manufacturer"),
            p.c.is_virtual.label("is_virtual"),
            p.c.cache_is_pack.label("is_pack"),
            ps.c.active.label("active"),
            ps.c.available_for_order.label("available_for_order"),
            state.label("state"),
            ps.c.price.label("base_price"),
            pas.c.price.label("attribute_price"),
            ps.c.ecotax.label("ecotax"),
            pas.c.ecotax.label("attribute_ecotax"),
            ps.c.id_tax_rules_group.label("id_tax_rules_group"),
            sa.c.quantity.label("quantity"),
            cast(func.coalesce(sa.c.out_of_stock, p.c.out_of_stock), Integer).label("out_of_stock"),
        )
        .select_from(
            ps.join(p, p.c.id_product == ps.c.id_product)
            .outerjoin(pas, and_(pas.c.id_product == ps.c.id_product, pas.c.id_shop == ps.c.id_shop))
            .outerjoin(pa, pa.c.id_product_attribute == pas.c.id_product_attribute)
            .outerjoin(sa, and_(sa.c.id_product == ps.c.id_product, sa.c.id_product_attribute == ipa,
                                sa.c.id_shop == stock.id_shop, sa.c.id_shop_group == stock.id_shop_group))
        )
        .where(ps.c.id_shop == ctx.id_shop)
    )
    if products is not None:
        query = query.where(ps.c.id_product.in_(list(products)))
    assert tuple(c.name for c in query.selected_columns) == CATALOG_FIELDS
    if inputs_key is not None:
        query = query.add_columns(inputs_digest(list(query.selected_columns), inputs_key, dialect)
                                  .label(INPUTS_DIGEST))
    return query


ROW_DIGEST_FUNCTION = "bridge_row_digest"  # registered on SQLite connections (no MD5 there)


def inputs_digest(columns: list[ColumnElement[Any]], key: str, dialect: str) -> ColumnElement[Any]:
    """The row's inputs digest as 16 hex digits, computed by the database: the MD5 of the columns' text
    (``\\N`` for NULL), unit-separated and keyed by ``key`` (the run context, see
    ``OfferBuilder.inputs_key``). SQLite has no MD5: :func:`bridge.domain.offer_builder.row_digest`, the same
    function in Python, registered on the connection by :func:`stream_catalog`. Both only need to be
    stable for one database: equal inputs, equal digest; any changed column, another digest."""
    if dialect == "sqlite":
        return func.bridge_row_digest(literal(key), *columns)
    texts = [func.ifnull(cast(c, String), literal("\\N")) for c in columns]
    return func.left(func.md5(func.concat_ws(literal("\x1f"), literal(key), *texts)), 16)


def digests_select(tables: ShopTables, ctx: ShopContext, *, inputs_key: str, dialect: str = "mysql") -> Select[Any]:
    """(id_product, id_product_attribute, inputs_digest) of every catalogue row: what a delta run reads
    first, to find the rows whose inputs changed without transferring their columns."""
    query = catalog_select(tables, ctx, inputs_key=inputs_key, dialect=dialect)
    cols = list(query.selected_columns)
    return query.with_only_columns(cols[0], cols[1], cols[-1], maintain_column_froms=True)


# The identifiers of a catalogue row (text; every other column is a number, or the inputs digest)
_TEXT_FIELDS = ("reference", "ean13", "upc", "product_reference", "product_ean13", "product_upc")
_NUMBER_FIELDS = tuple(f for f in CATALOG_FIELDS if f not in _TEXT_FIELDS)
PACKED = "packed_numbers"


def packed_select(tables: ShopTables, ctx: ShopContext, *, inputs_key: str | None = None,
                  products: Sequence[int] | None = None) -> Select[Any]:
    """:func:`catalog_select` for MariaDB/MySQL with the number columns (and the inputs digest) sent as one
    comma-separated text, ``""`` for NULL, after the six identifier columns.

    The pure-Python driver decodes every column of every row on its own (length prefix, decoding,
    conversion); 15 numbers in one text cost it one column, and the text splits in one call
    (:func:`unpack_rows`): about half the client CPU of reading the catalogue, the concatenation done
    by the server, which otherwise waits on the client. Numbers never contain the separator; the
    identifiers, which may, stay columns of their own. Same values as the plain SELECT (tested on every
    schema), the amounts as their text (``Decimal`` on demand, see ``OfferBuilder``)."""
    query = catalog_select(tables, ctx, inputs_key=inputs_key, products=products)
    columns = {c.name: c for c in query.selected_columns}
    numbers = [columns[f] for f in (*_NUMBER_FIELDS, *((INPUTS_DIGEST,) if inputs_key is not None else ()))]
    packed = func.concat_ws(literal(","), *(func.ifnull(cast(c, String), literal("")) for c in numbers))
    return query.with_only_columns(*(columns[f] for f in _TEXT_FIELDS), packed.label(PACKED),
                                   maintain_column_froms=True)


def unpack_rows(rows: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
    """Rows of :func:`packed_select` as catalogue rows (``CATALOG_FIELDS`` order, then the inputs digest
    if read): ints, the amounts as text, None for NULL."""
    out = []
    append = out.append
    for reference, ean13, upc, p_reference, p_ean13, p_upc, packed in rows:
        (id_product, ipa, id_manufacturer, is_virtual, is_pack, active, available, state, base_price, attribute_price,
         ecotax, attribute_ecotax, id_tax_rules_group, quantity, out_of_stock, *digest) = packed.split(",")
        append((int(id_product), int(ipa), reference, ean13, upc, p_reference, p_ean13, p_upc,
                int(id_manufacturer) if id_manufacturer else None, int(is_virtual) if is_virtual else None,
                int(is_pack) if is_pack else None, int(active) if active else None,
                int(available) if available else None, int(state) if state else None, base_price or None,
                attribute_price or None, ecotax or None, attribute_ecotax or None,
                int(id_tax_rules_group) if id_tax_rules_group else None, int(quantity) if quantity else None,
                int(out_of_stock) if out_of_stock else None, *digest))
    return out


# unpack_rows' order, checked once
assert _NUMBER_FIELDS == ("id_product", "id_product_attribute", "id_manufacturer", "is_virtual", "is_pack", "active",
                          "available_for_order", "state", "base_price", "attribute_price", "ecotax", "attribute_ecotax",
                          "id_tax_rules_group", "quantity", "out_of_stock")


def stream_catalog(conn: Connection, tables: ShopTables, ctx: ShopContext, chunk_rows: int = CHUNK_ROWS,
                   *, inputs_key: str | None = None, products: Sequence[int] | None = None
                   ) -> Iterator[Sequence[Sequence[Any]]]:
    """The catalogue (or ``products``' rows) in chunks of rows in ``CATALOG_FIELDS`` order, then
    ``inputs_digest`` with ``inputs_key``. On MariaDB/MySQL read through :func:`packed_select` (amounts
    as text), elsewhere through :func:`catalog_select` (amounts as ``Decimal``)."""
    groups: list[Sequence[int] | None] = [None]
    if products is not None:
        ids = sorted(set(products))
        groups = [ids[i:i + PRODUCTS_PER_SELECT] for i in range(0, len(ids), PRODUCTS_PER_SELECT)]
    dialect = conn.dialect.name
    for group in groups:
        if dialect in ("mysql", "mariadb"):
            for chunk in _stream(conn, packed_select(tables, ctx, inputs_key=inputs_key, products=group), chunk_rows):
                yield unpack_rows(chunk)
        else:
            yield from _stream(conn, catalog_select(tables, ctx, inputs_key=inputs_key, dialect=dialect,
                                                    products=group), chunk_rows)


def stream_digests(conn: Connection, tables: ShopTables, ctx: ShopContext, *, inputs_key: str,
                   chunk_rows: int = 5 * CHUNK_ROWS) -> Iterator[Sequence[Sequence[Any]]]:
    """:func:`digests_select` in chunks of (id_product, id_product_attribute, inputs_digest) rows."""
    yield from _stream(conn, digests_select(tables, ctx, inputs_key=inputs_key, dialect=conn.dialect.name),
                       chunk_rows)


def _stream(conn: Connection, query: Select[Any], chunk_rows: int) -> Iterator[Sequence[Sequence[Any]]]:
    """:func:`bridge.shop.db.stream_rows`, SQLite getting :func:`row_digest` registered first."""
    if conn.dialect.name == "sqlite":
        conn.connection.driver_connection.create_function(  # type: ignore[union-attr]
            ROW_DIGEST_FUNCTION, -1, lambda key, *values: row_digest(key, values), deterministic=True)
    return stream_rows(conn, query, chunk_rows)


def excluded_products(conn: Connection, tables: ShopTables, categories: Iterable[int]) -> frozenset[int]:
    """Products associated with any of the excluded categories."""
    ids = sorted(set(categories))
    if not ids:
        return frozenset()
    cp = tables.category_product
    rows = conn.execute(select(cp.c.id_product).where(cp.c.id_category.in_(ids)).distinct())
    return frozenset(int(r[0]) for r in rows)


# --- pricing data ------------------------------------------------------------------------------------


def load_pricing(conn: Connection, tables: ShopTables, ctx: ShopContext, *, country_iso: str, currency_iso: str,
                 now: datetime) -> PricingData:
    """Everything the visitor price needs, for the platform's country and currency."""
    id_country = _country_id(conn, tables, country_iso)
    id_currency, rate, precision = _currency(conn, tables, ctx, currency_iso)
    id_group, group_percent = _visitor_group(conn, tables, ctx)
    tax_rates = _tax_rates(conn, tables, ctx, id_country)
    ecotax_group = ctx.config_int("PS_ECOTAX_TAX_RULES_GROUP_ID")
    settings = PriceSettings(
        target_is_default_currency=id_currency == ctx.currency.id_currency,
        conversion_rate=Decimal(1) if id_currency == ctx.currency.id_currency else rate,
        use_ecotax=ctx.config_bool("PS_USE_ECOTAX"),
        ecotax_tax_rate=tax_rates.get(ecotax_group, Decimal(0)) if ecotax_group else Decimal(0),
        group_reduction_percent=group_percent,
        round_mode=ctx.config_int("PS_PRICE_ROUND_MODE", 2),
        precision=precision,
    )
    visitor = Visitor(id_shop=ctx.id_shop, id_currency=id_currency, id_country=id_country, id_group=id_group)
    sps: dict[int, list[SpecificPrice]] = {}
    prios: dict[int, str] = {}
    if ctx.config_bool("PS_SPECIFIC_PRICE_FEATURE_ACTIVE"):
        sps = _specific_prices(conn, tables, ctx, visitor, now)
        prios = _priorities(conn, tables)
    gr = tables.product_group_reduction_cache
    reductions = {int(r[0]): Decimal(r[1]) for r in conn.execute(
        select(gr.c.id_product, gr.c.reduction).where(gr.c.id_group == id_group))}
    return PricingData(
        visitor=visitor, settings=settings, tax_rates=tax_rates, specific_prices=sps, priorities=prios,
        default_priorities=ctx.config_str("PS_SPECIFIC_PRICE_PRIORITIES") or None, group_reductions=reductions,
    )


def _country_id(conn: Connection, tables: ShopTables, iso: str) -> int:
    c = tables.country
    value = conn.execute(select(c.c.id_country).where(c.c.iso_code == iso)).scalar()
    if value is None:
        raise ShopDataError(f"country {iso!r} (platform country) does not exist in {c.name}")
    return int(value)


def _currency(conn: Connection, tables: ShopTables, ctx: ShopContext, iso: str) -> tuple[int, Decimal, int]:
    """(id_currency, conversion rate for the shop, computing precision)."""
    cur, cs = tables.currency, tables.currency_shop
    has_precision = tables.has_column("currency", "precision")
    cols = [cur.c.id_currency, cur.c.conversion_rate, cs.c.conversion_rate]
    if has_precision:
        cols.append(cur.c.precision)
    row = conn.execute(
        select(*cols)
        .select_from(cur.outerjoin(cs, and_(cs.c.id_currency == cur.c.id_currency, cs.c.id_shop == ctx.id_shop)))
        .where(cur.c.iso_code == iso, cur.c.deleted == 0)
        .order_by(cur.c.id_currency)
    ).first()
    if row is None:
        raise ShopDataError(f"currency {iso!r} (platform currency) does not exist in {cur.name}")
    rate = Decimal(row[2] if row[2] is not None else row[1])
    precision = int(row[3]) if has_precision and row[3] is not None else ctx.currency.precision
    return int(row[0]), rate, precision


def _visitor_group(conn: Connection, tables: ShopTables, ctx: ShopContext) -> tuple[int, Decimal]:
    """PS_UNIDENTIFIED_GROUP, or PS_CUSTOMER_GROUP when the former is not associated with the shop."""
    gs, g = tables.group_shop, tables["group"]
    id_group = ctx.config_int("PS_UNIDENTIFIED_GROUP", 1)
    linked = conn.execute(select(gs.c.id_group).where(gs.c.id_group == id_group, gs.c.id_shop == ctx.id_shop)).first()
    if linked is None:
        id_group = ctx.config_int("PS_CUSTOMER_GROUP", 3)
    percent = conn.execute(select(g.c.reduction).where(g.c.id_group == id_group)).scalar()
    return id_group, Decimal(percent or 0)


def _tax_rates(conn: Connection, tables: ShopTables, ctx: ShopContext, id_country: int) -> dict[int, Decimal]:
    """Percent per tax rules group for the visitor's address in the platform country."""
    if not ctx.config_bool("PS_TAX", True):
        return {}
    tr, trg, tax = tables.tax_rule, tables.tax_rules_group, tables.tax
    rows = conn.execute(
        select(tr.c.id_tax_rules_group, tr.c.id_state, tr.c.zipcode_from, tr.c.zipcode_to, tr.c.behavior,
               func.coalesce(tax.c.rate, 0))
        .select_from(tr.join(trg, trg.c.id_tax_rules_group == tr.c.id_tax_rules_group)
                     .outerjoin(tax, tax.c.id_tax == tr.c.id_tax))
        .where(trg.c.active == 1, tr.c.id_country == id_country)
    ).all()
    by_group: dict[int, list[TaxRule]] = {}
    for group, state, zfrom, zto, behavior, rate in rows:
        by_group.setdefault(int(group), []).append(TaxRule(
            id_country=id_country, rate=Decimal(rate), behavior=int(behavior), id_state=int(state),
            zipcode_from=str(zfrom or ""), zipcode_to=str(zto or "")))
    # the shop's own country uses the shop address (PS_SHOP_STATE_ID / PS_SHOP_CODE), others state 0, zip '0'
    if id_country == ctx.config_int("PS_SHOP_COUNTRY_ID"):
        id_state, zipcode = ctx.config_int("PS_SHOP_STATE_ID"), ctx.config_str("PS_SHOP_CODE") or "0"
    else:
        id_state, zipcode = 0, "0"
    return {g: tax_rate_for(rules, id_country=id_country, id_state=id_state, zipcode=zipcode)
            for g, rules in by_group.items()}


def _specific_prices(conn: Connection, tables: ShopTables, ctx: ShopContext, visitor: Visitor,
                     now: datetime) -> dict[int, list[SpecificPrice]]:
    """The rows that can apply to the visitor now or later (expired rows are dropped)."""
    sp = tables.specific_price
    rows = conn.execute(
        select(sp.c.id_specific_price, sp.c.id_product, sp.c.id_product_attribute, sp.c.id_shop, sp.c.id_currency,
               sp.c.id_country, sp.c.id_group, sp.c.id_specific_price_rule, sp.c.from_quantity, sp.c.price,
               sp.c.reduction, sp.c.reduction_type, sp.c.reduction_tax, sp.c["from"], sp.c["to"])
        .where(sp.c.id_shop.in_([0, visitor.id_shop]), sp.c.id_currency.in_([0, visitor.id_currency]),
               sp.c.id_country.in_([0, visitor.id_country]), sp.c.id_group.in_([0, visitor.id_group]),
               sp.c.id_customer == 0, sp.c.id_cart == 0, sp.c.from_quantity <= 1)
    )
    tz = shop_timezone(ctx)
    cutoff = now.replace(second=0, microsecond=0) - timedelta(minutes=1)
    out: dict[int, list[SpecificPrice]] = {}
    for r in rows:
        ends = to_utc(r[14], tz)
        if ends is not None and ends < cutoff:
            continue
        out.setdefault(int(r[1]), []).append(SpecificPrice(
            id_specific_price=int(r[0]), id_product=int(r[1]), id_product_attribute=int(r[2]), id_shop=int(r[3]),
            id_currency=int(r[4]), id_country=int(r[5]), id_group=int(r[6]), id_specific_price_rule=int(r[7]),
            from_quantity=int(r[8]), price=Decimal(r[9]), reduction=Decimal(r[10]), reduction_type=str(r[11]),
            reduction_tax=bool(r[12]), starts_at=to_utc(r[13], tz), ends_at=ends,
        ))
    return out


def _priorities(conn: Connection, tables: ShopTables) -> dict[int, str]:
    """The latest ``specific_price_priority`` row per product."""
    spp = tables.specific_price_priority
    rows = conn.execute(select(spp.c.id_product, spp.c.priority).order_by(spp.c.id_specific_price_priority))
    return {int(pid): str(prio) for pid, prio in rows if prio}
