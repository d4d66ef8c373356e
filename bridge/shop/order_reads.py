"""Reads the order writer needs: products, tax calculators, country/state, currency, carrier, states.

Every function is set-based (one query for all the lines of an order). Reference data that does not
change during a run (countries, currencies, carriers, order states, taxes) is cached by
:class:`ReferenceCache`, which lives as long as the ``OrderWriter``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, bindparam, select
from sqlalchemy.engine import Connection

from bridge.domain.countries import alpha2, fold_label
from bridge.domain.order_amounts import TaxCalc, TaxPart
from bridge.domain.order_draft import ProductFacts
from bridge.shop.rows import cached
from bridge.shop.schema import ShopTables

ZERO = Decimal(0)


def _s(value: Any) -> str:
    return "" if value is None else str(value)


def _d(value: Any) -> Decimal:
    return ZERO if value is None else Decimal(str(value))


@dataclass(frozen=True)
class CountryRow:
    id_country: int
    iso_code: str
    active: bool
    contains_states: bool
    need_zip_code: bool
    need_identification_number: bool


@dataclass(frozen=True)
class CurrencyRow:
    id_currency: int
    iso_code: str
    conversion_rate: Decimal
    precision: int


@dataclass(frozen=True)
class StateFlags:
    id_order_state: int
    logable: bool
    invoice: bool
    shipped: bool
    paid: bool
    delivery: bool
    deleted: bool


@dataclass(frozen=True)
class CarrierRow:
    id_carrier: int
    id_reference: int
    id_tax_rules_group: int


# --- products ------------------------------------------------------------------------------------


def _attribute_names(conn: Connection, t: ShopTables, ipas: list[int], id_lang: int) -> dict[int, str]:
    if not ipas:
        return {}
    pac, a, al, agl = t.product_attribute_combination, t.attribute, t.attribute_lang, t.attribute_group_lang
    joined = (
        pac.join(a, a.c.id_attribute == pac.c.id_attribute)
        .join(al, and_(al.c.id_attribute == a.c.id_attribute, al.c.id_lang == id_lang))
        .join(agl, and_(agl.c.id_attribute_group == a.c.id_attribute_group, agl.c.id_lang == id_lang))
    )
    order: list[Any] = []
    if t.has_table("attribute_group"):
        ag = t["attribute_group"]
        joined = joined.outerjoin(ag, ag.c.id_attribute_group == a.c.id_attribute_group)
        order.append(ag.c.position)
    order += [a.c.id_attribute_group, a.c.position, a.c.id_attribute]
    q = (select(pac.c.id_product_attribute, agl.c.public_name, al.c.name).select_from(joined)
         .where(pac.c.id_product_attribute.in_(ipas)).order_by(*order))
    parts: dict[int, list[str]] = {}
    for ipa, group, value in conn.execute(q):
        parts.setdefault(int(ipa), []).append(f"{_s(group)}: {_s(value)}")
    return {ipa: ", ".join(values) for ipa, values in parts.items()}


def _product_query(t: ShopTables, ident: list[str], c_ident: list[str], *, id_shop: int, id_lang: int,
                   combinations: bool) -> Any:
    p, ps, pl = t.product, t.product_shop, t.product_lang
    cols: list[Any] = [p.c.id_product, p.c.weight, ps.c.price, ps.c.wholesale_price, ps.c.id_tax_rules_group,
                       pl.c.name]
    cols += [p.c[c] for c in ident]
    source: Any = (p.join(ps, and_(ps.c.id_product == p.c.id_product, ps.c.id_shop == id_shop))
                   .outerjoin(pl, and_(pl.c.id_product == p.c.id_product, pl.c.id_shop == id_shop,
                                       pl.c.id_lang == id_lang)))
    if combinations:  # the combinations come in the same query (one row per ordered combination)
        pa, pas = t.product_attribute, t.product_attribute_shop
        ipas: Any = bindparam("b_ipas", expanding=True)
        source = (source.outerjoin(pa, and_(pa.c.id_product == p.c.id_product, pa.c.id_product_attribute.in_(ipas)))
                  .outerjoin(pas, and_(pas.c.id_product_attribute == pa.c.id_product_attribute,
                                       pas.c.id_shop == id_shop)))
        cols += [pa.c.id_product_attribute.label("c_id"), pas.c.weight.label("c_weight"),
                 pas.c.price.label("c_price"), pas.c.wholesale_price.label("c_wholesale_price")]
        cols += [pa.c[c].label(f"c_{c}") for c in c_ident]
    return select(*cols).select_from(source).where(p.c.id_product.in_(bindparam("b_ids", expanding=True)))


def product_rows(conn: Connection, t: ShopTables, keys: Iterable[tuple[int, int]], *, id_shop: int,
                 id_lang: int, attribute_cache: dict[int, str] | None = None) -> dict[tuple[int, int], dict[str, Any]]:
    """Identifiers, names, prices and tax group of each (product, combination), PrestaShop's cart merge:
    a combination's reference/EAN/UPC/ISBN/MPN when set, else the product's; weight = product + impact.

    ``attribute_cache`` (combination id -> "Size: M, Color: Blue") spares the attribute query for
    combinations already seen by the same writer."""
    keys = sorted(set(keys))
    ident = ["reference", "supplier_reference", "ean13", "upc"] + [
        c for c in ("isbn", "mpn") if t.has_column("product", c)]
    c_ident = [c for c in ident if t.has_column("product_attribute", c)]
    ipas = sorted({k[1] for k in keys if k[1]})
    q = cached(t.product, ("product_rows", id_shop, id_lang, bool(ipas)),
               lambda: _product_query(t, ident, c_ident, id_shop=id_shop, id_lang=id_lang, combinations=bool(ipas)))
    products: dict[int, Any] = {}
    combos: dict[int, dict[str, Any]] = {}
    for r in conn.execute(q, {"b_ids": sorted({k[0] for k in keys}), "b_ipas": ipas}):
        m = r._mapping
        products[int(m["id_product"])] = m
        if ipas and m["c_id"] is not None:
            combos[int(m["c_id"])] = {c: m[f"c_{c}"] for c in ["weight", "price", "wholesale_price", *c_ident]}
    cache = attribute_cache if attribute_cache is not None else {}
    unknown = [i for i in ipas if i not in cache]
    if unknown:
        found = _attribute_names(conn, t, unknown, id_lang)
        cache.update({i: found.get(i, "") for i in unknown})
    names = cache
    out: dict[tuple[int, int], dict[str, Any]] = {}
    for idp, ipa in keys:
        prod = products.get(idp)
        if prod is None:
            continue
        combo = combos.get(ipa) if ipa else None
        row: dict[str, Any] = {c: _s(prod[c]) for c in ident}
        if combo is not None:
            row.update({c: _s(combo[c]) for c in ident if c in combo and _s(combo[c])})
        base_name = _s(prod["name"]) or f"#{idp}"
        attrs = names.get(ipa, "")
        row.update(
            id_product=idp, id_product_attribute=ipa,
            name=f"{base_name} ({attrs})" if attrs else base_name,
            weight=_d(prod["weight"]) + (_d(combo["weight"]) if combo is not None else ZERO),
            price_te=_d(prod["price"]) + (_d(combo["price"]) if combo is not None else ZERO),
            wholesale_price=_d(prod["wholesale_price"]),
            combination_wholesale_price=_d(combo["wholesale_price"]) if combo is not None else ZERO,
            id_tax_rules_group=int(prod["id_tax_rules_group"] or 0),
        )
        out[(idp, ipa)] = row
    return out


def product_facts(row: dict[str, Any], tax: TaxCalc) -> ProductFacts:
    return ProductFacts(
        id_product=row["id_product"], id_product_attribute=row["id_product_attribute"], name=row["name"],
        tax=tax, reference=row.get("reference", ""), supplier_reference=row.get("supplier_reference", ""),
        ean13=row.get("ean13", ""), upc=row.get("upc", ""), isbn=row.get("isbn", ""), mpn=row.get("mpn", ""),
        weight=row["weight"], price_te=row["price_te"], wholesale_price=row["wholesale_price"],
        combination_wholesale_price=row["combination_wholesale_price"],
    )


# --- taxes ---------------------------------------------------------------------------------------


_NUM = re.compile(r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)")


def _num(text: str) -> float:
    """MySQL's string-to-number cast: the leading numeric prefix, else 0."""
    m = _NUM.match(text)
    return float(m.group(0)) if m else 0.0


def _zip_matches(zipcode: str, z_from: str, z_to: str) -> bool:
    """``:zip BETWEEN zipcode_from AND zipcode_to OR (zipcode_to = 0 AND zipcode_from IN (0, :zip))``
    with MySQL semantics: case-insensitive string comparison, numeric cast against 0."""
    z, lo, hi = zipcode.upper().rstrip(), z_from.upper().rstrip(), z_to.upper().rstrip()
    if lo <= z <= hi:
        return True
    return _num(z_to) == 0 and (_num(z_from) == 0 or lo == z)


@dataclass(frozen=True)
class TaxRuleRow:
    """One ``tax_rule`` row of an active group joined to its tax (zip filtering is done in Python)."""
    id_tax_rules_group: int
    id_state: int
    zipcode_from: str
    zipcode_to: str
    behavior: int
    id_tax: int
    rate: Decimal
    name: str


def tax_rule_rows(conn: Connection, t: ShopTables, groups: Iterable[int], *, id_country: int, id_state: int,
                  id_lang: int) -> dict[int, list[TaxRuleRow]]:
    """The rules of several tax rules groups for one country and state (any zip code), by group."""
    groups = sorted({g for g in groups if g})
    out: dict[int, list[TaxRuleRow]] = {g: [] for g in groups}
    if not groups:
        return out
    tr, trg, tax = t.tax_rule, t.tax_rules_group, t.tax
    cols = [tr.c.id_tax_rules_group, tr.c.id_state, tr.c.zipcode_from, tr.c.zipcode_to, tr.c.behavior,
            tax.c.id_tax, tax.c.rate]
    joined = (tr.join(trg, and_(trg.c.id_tax_rules_group == tr.c.id_tax_rules_group, trg.c.active == 1))
              .join(tax, tax.c.id_tax == tr.c.id_tax))
    if t.has_table("tax_lang"):
        tl = t["tax_lang"]
        joined = joined.outerjoin(tl, and_(tl.c.id_tax == tax.c.id_tax, tl.c.id_lang == id_lang))
        cols.append(tl.c.name)
    q = (select(*cols).select_from(joined)
         .where(tr.c.id_country == id_country, tr.c.id_tax_rules_group.in_(groups),
                tr.c.id_state.in_([0, id_state])))
    for r in conn.execute(q):
        name = _s(r._mapping.get("name")) if "name" in r._mapping else ""
        out[int(r.id_tax_rules_group)].append(TaxRuleRow(
            int(r.id_tax_rules_group), int(r.id_state), _s(r.zipcode_from), _s(r.zipcode_to), int(r.behavior),
            int(r.id_tax), _d(r.rate), name))
    return out


def calcs_from_rules(rules: dict[int, list[TaxRuleRow]], groups: Iterable[int], *, zipcode: str,
                     tax_enabled: bool = True) -> dict[int, TaxCalc]:
    """``TaxRulesTaxManager::getTaxCalculator`` from the rules of :func:`tax_rule_rows` and a zip code."""
    groups = sorted({g for g in groups if g})
    out = {g: TaxCalc(g) for g in groups}
    if not groups or not tax_enabled:
        return out
    zipcode = zipcode or "0"
    rows = [r for g in groups for r in rules.get(g, ()) if _zip_matches(zipcode, r.zipcode_from, r.zipcode_to)]
    rows.sort(key=lambda r: (r.zipcode_from.upper(), r.zipcode_to.upper(), r.id_state), reverse=True)
    for g in groups:
        parts: list[TaxPart] = []
        method = None
        for r in (r for r in rows if r.id_tax_rules_group == g):
            if method is None:
                method = r.behavior
            parts.append(TaxPart(r.id_tax, r.rate, r.name))
            if r.behavior == 0:
                break
        out[g] = TaxCalc(g, tuple(parts), method or 0)
    return out


def tax_calcs(conn: Connection, t: ShopTables, groups: Iterable[int], *, id_country: int, id_state: int,
              zipcode: str, id_lang: int, tax_enabled: bool = True) -> dict[int, TaxCalc]:
    """``TaxRulesTaxManager::getTaxCalculator`` for several tax rules groups and one address."""
    groups = sorted({g for g in groups if g})
    if not groups or not tax_enabled:
        return {g: TaxCalc(g) for g in groups}
    rules = tax_rule_rows(conn, t, groups, id_country=id_country, id_state=id_state, id_lang=id_lang)
    return calcs_from_rules(rules, groups, zipcode=zipcode, tax_enabled=tax_enabled)


def taxes_by_rate(conn: Connection, t: ShopTables, id_lang: int) -> dict[Decimal, TaxPart]:
    """Active PrestaShop taxes by rate (the lowest id wins), for Mirakl taxes the product rule lacks."""
    tax = t.tax
    cols: list[Any] = [tax.c.id_tax, tax.c.rate]
    source: Any = tax
    if t.has_table("tax_lang"):
        tl = t["tax_lang"]
        source = tax.outerjoin(tl, and_(tl.c.id_tax == tax.c.id_tax, tl.c.id_lang == id_lang))
        cols.append(tl.c.name)
    out: dict[Decimal, TaxPart] = {}
    q = select(*cols).select_from(source).where(tax.c.active == 1, tax.c.deleted == 0).order_by(tax.c.id_tax)
    for r in conn.execute(q):
        rate = _d(r.rate).normalize()
        name = _s(r._mapping["name"]) if "name" in r._mapping else ""
        out.setdefault(rate, TaxPart(int(r.id_tax), _d(r.rate), name))
    return out


# --- reference data ------------------------------------------------------------------------------


def find_country(conn: Connection, t: ShopTables, iso: str, label: str) -> CountryRow | None:
    c = t.country
    cols = [c.c.id_country, c.c.iso_code, c.c.active, c.c.contains_states, c.c.need_zip_code,
            c.c.need_identification_number]
    code = alpha2(iso)
    row = conn.execute(select(*cols).where(c.c.iso_code == code)).first() if code else None
    if row is None and label.strip():
        cl = t.country_lang
        wanted = fold_label(label)
        names = conn.execute(select(cl.c.id_country, cl.c.name)).all()
        ids = sorted({int(i) for i, name in names if fold_label(_s(name)) == wanted})
        if ids:
            row = conn.execute(select(*cols).where(c.c.id_country == ids[0])).first()
    if row is None:
        return None
    return CountryRow(int(row[0]), _s(row[1]), bool(row[2]), bool(row[3]), bool(row[4]), bool(row[5]))


def find_state(conn: Connection, t: ShopTables, id_country: int, state: str) -> int:
    wanted = fold_label(state)
    if not wanted:
        return 0
    s = t.state
    for id_state, iso, name in conn.execute(select(s.c.id_state, s.c.iso_code, s.c.name)
                                            .where(s.c.id_country == id_country)):
        iso_f = fold_label(_s(iso))
        if wanted in (iso_f, fold_label(_s(name))) or iso_f.split("-")[-1] == wanted:
            return int(id_state)
    return 0


def find_currency(conn: Connection, t: ShopTables, iso: str, *, id_shop: int,
                  default_precision: int) -> CurrencyRow | None:
    cur, cs = t.currency, t.currency_shop
    cols: list[Any] = [cur.c.id_currency, cur.c.iso_code, cur.c.conversion_rate, cs.c.conversion_rate]
    if t.has_column("currency", "precision"):
        cols.append(cur.c.precision)
    q = (select(*cols).select_from(cur.outerjoin(cs, and_(cs.c.id_currency == cur.c.id_currency,
                                                          cs.c.id_shop == id_shop)))
         .where(cur.c.iso_code == iso.upper(), cur.c.deleted == 0).order_by(cur.c.id_currency))
    row = conn.execute(q).first()
    if row is None:
        return None
    rate = _d(row[3]) if row[3] is not None and _d(row[3]) > 0 else _d(row[2])
    precision = int(row[4]) if len(row) > 4 and row[4] is not None else default_precision
    return CurrencyRow(int(row[0]), _s(row[1]), rate or Decimal(1), precision)


def find_carrier(conn: Connection, t: ShopTables, id_reference: int, *, id_shop: int) -> CarrierRow | None:
    """The current (not deleted) carrier of a carrier reference, with its tax rules group for the shop."""
    c, ct = t.carrier, t.carrier_tax_rules_group_shop
    q = (select(c.c.id_carrier, ct.c.id_tax_rules_group)
         .select_from(c.outerjoin(ct, and_(ct.c.id_carrier == c.c.id_carrier, ct.c.id_shop == id_shop)))
         .where(c.c.id_reference == id_reference, c.c.deleted == 0)
         .order_by(c.c.id_carrier.desc()).limit(1))
    row = conn.execute(q).first()
    if row is None:
        return None
    return CarrierRow(int(row[0]), id_reference, int(row[1] or 0))


def order_states(conn: Connection, t: ShopTables, ids: Iterable[int]) -> dict[int, StateFlags]:
    os_ = t.order_state
    q = select(os_.c.id_order_state, os_.c.logable, os_.c.invoice, os_.c.shipped, os_.c.paid, os_.c.delivery,
               os_.c.deleted).where(os_.c.id_order_state.in_(sorted(set(ids))))
    return {int(r[0]): StateFlags(int(r[0]), *(bool(v) for v in r[1:])) for r in conn.execute(q)}
