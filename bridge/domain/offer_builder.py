"""One catalogue row → one offer line (or the reason it is not offered), in a single pass.

Pure. The shop edge streams rows with the attributes of :class:`CatalogRow` and loads the shop-wide
:class:`PricingData` once; :class:`OfferBuilder` keeps nothing per row except the earliest future
instant at which a specific price starts or stops (``next_change_at``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from decimal import Decimal
from typing import Any

from bridge.domain.offers import (
    EMPTY_SKU,
    EXCLUDED_REFERENCE,
    OfferLine,
    OfferRules,
    exclusion_reason,
    line_prices,
    offer_quantity,
    price_texts,
)
from bridge.domain.pricing import (
    ZERO,
    PriceSettings,
    SpecificPrice,
    Visitor,
    next_price_change,
    priority_list,
    select_specific_price,
    visitor_prices,
)

PRICE_CACHE_SIZE = 1024  # entries of the per-run price cache (well under 1 MB)
# Part of every inputs digest (:meth:`OfferBuilder.inputs`): change it when the same inputs would give
# another line (price algorithm, line rules), so that no line is skipped on a stale digest.
INPUTS_VERSION = "2"

# Field order of a catalogue row (the shop's SELECT lists its columns in this order).
CATALOG_FIELDS = (
    "id_product", "id_product_attribute", "reference", "ean13", "upc", "product_reference", "product_ean13",
    "product_upc", "id_manufacturer", "is_virtual", "is_pack", "active", "available_for_order", "state",
    "base_price", "attribute_price", "ecotax", "attribute_ecotax", "id_tax_rules_group", "quantity", "out_of_stock",
)
_IDENTIFIER_FIELDS = {"reference": ("reference", "product_reference"), "ean13": ("ean13", "product_ean13"),
                      "upc": ("upc", "product_upc")}
INPUTS_DIGEST = "inputs_digest"  # the optional column after CATALOG_FIELDS (see row_digest)
_IDENTIFIER_POSITIONS = {rule: (CATALOG_FIELDS.index(own), CATALOG_FIELDS.index(fallback))
                         for rule, (own, fallback) in _IDENTIFIER_FIELDS.items()}


# A catalogue row: a product without combinations (``id_product_attribute = 0``) or one combination, as a
# tuple in ``CATALOG_FIELDS`` order -- id_product, id_product_attribute, the combination's reference /
# ean13 / upc (None for a product row), the product's, id_manufacturer, is_virtual, is_pack, active,
# available_for_order, state (1 when ps_product has no such column), base_price, attribute_price,
# ecotax, attribute_ecotax (Decimal, or its text as MariaDB/MySQL send it, or None), id_tax_rules_group,
# quantity, out_of_stock (int or None) --
# optionally followed by its ``inputs_digest`` (16 hex digits, see :func:`row_digest`).
CatalogRow = Sequence[Any]


@dataclass(frozen=True)
class PricingData:
    """Everything the price needs that is the same for the whole catalogue, loaded once."""

    visitor: Visitor
    settings: PriceSettings
    tax_rates: Mapping[int, Decimal]  # id_tax_rules_group -> percent for the platform's address
    specific_prices: Mapping[int, Sequence[SpecificPrice]] = field(default_factory=dict)  # 0: every product
    priorities: Mapping[int, str] = field(default_factory=dict)  # id_product -> priority string
    default_priorities: str | None = None  # PS_SPECIFIC_PRICE_PRIORITIES
    group_reductions: Mapping[int, Decimal] = field(default_factory=dict)  # id_product -> fraction


def row_digest(key: str, values: Sequence[Any]) -> str:
    """16 hex digits: the MD5 of ``key`` and the text of ``values`` (``\\N`` for None), unit-separated.

    What the shop's catalogue SELECT computes in the database as its ``inputs_digest`` column
    (``bridge.shop.catalog.inputs_digest``; this function where the database has no MD5), and the
    fallback for a row read without it.
    """
    text = "\x1f".join((key, *("\\N" if v is None else str(v) for v in values)))
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()[:16]


def _rules_text(rules: OfferRules) -> str:
    """The rules as stable text (a frozenset's repr order changes from one process to the next)."""
    parts = []
    for name in rules.__dataclass_fields__:
        value = getattr(rules, name)
        parts.append(f"{name}={sorted(map(str, value)) if isinstance(value, frozenset) else repr(value)}")
    return ";".join(parts)


def _dec(value: Decimal | str | None) -> Decimal | None:
    """A row's amount (``Decimal``, or its text when the shop sends it so) as a ``Decimal``."""
    return value if value is None or type(value) is Decimal else Decimal(value)


def _identifier(row: CatalogRow, positions: tuple[int, int]) -> str:
    """The combination's own identifier (SKU, EAN…) at ``positions[0]``, else the product's, stripped."""
    own = row[positions[0]]
    value = own.strip() if own else ""
    if not value:
        own = row[positions[1]]
        value = own.strip() if own else ""
    return value


def _s(value: str | None) -> str:
    return value.strip() if value else ""


class OfferBuilder:
    def __init__(
        self,
        *,
        rules: OfferRules,
        pricing: PricingData,
        tz: tzinfo,
        now: datetime,
        excluded_products: frozenset[int] | set[int] = frozenset(),
        shop_allows_backorders: bool = False,
        stock_management: bool = True,
        cache_prices: bool = True,
        salt: str = "",
    ) -> None:
        self.rules = rules
        self.pricing = pricing
        self.tz = tz
        self.now = now
        self.excluded_products = excluded_products
        self.shop_allows_backorders = shop_allows_backorders
        self.stock_management = stock_management
        self.next_change_at: datetime | None = None
        self._global_sps = tuple(pricing.specific_prices.get(0, ()))
        self._default_prio = priority_list(pricing.default_priorities)
        self._cached_product = -1
        self._candidates: tuple[SpecificPrice, ...] = ()
        self._prio: tuple[str, ...] = self._default_prio
        # exclusions that need the full check even for an active, orderable, simple product
        self._filters = bool(excluded_products or rules.exclude_manufacturers or rules.exclude_references)
        # The line's prices (or the price problem) per (base price, combination impact, ecotaxes, tax rules
        # group, group reduction, specific price object): the price algorithm and the platform rules are
        # pure functions of these for the whole run (settings, tax rates, rules and time are fixed), and
        # numerically equal Decimals give equal results (every output is quantized to the cent). Bounded:
        # cleared when full, so memory does not grow with the catalogue.
        self.cache_prices = cache_prices
        self._prices: dict[tuple[object, ...], str | tuple[Any, ...]] = {}  # price problem, or line_prices + texts
        self._sp_key: tuple[int, int] = (-1, -1)
        self._sp: SpecificPrice | None = None
        self._sp_texts: dict[int, str] = {}
        # Everything run-wide a line depends on, as the key of the per-row inputs digest: rules, settings,
        # visitor, time zone, shop flags, the line's constant columns, and the per-group / per-product
        # tables (tax rates, group reductions, excluded products; a change in any of them changes every
        # digest once). Sets and mappings sorted: their repr order may change from one process to the next.
        context = (INPUTS_VERSION, salt, str(tz), shop_allows_backorders, stock_management, repr(pricing.settings),
                   repr(pricing.visitor), _rules_text(rules), sorted(pricing.tax_rates.items()),
                   sorted(pricing.group_reductions.items()), sorted(excluded_products))
        self.inputs_key = hashlib.blake2b(repr(context).encode(), digest_size=16).hexdigest()
        self._digest_position = len(CATALOG_FIELDS)
        self._sku_positions = None if rules.sku == "id" else _IDENTIFIER_POSITIONS[rules.sku]
        self._pid_positions = _IDENTIFIER_POSITIONS.get(rules.product_id)  # None: "sku" or "none"

    # -- the row -------------------------------------------------------------------------------

    def build(self, row: CatalogRow) -> OfferLine | str:
        """The line for this row, or the reason (report key) it is not offered."""
        out = self.build_cells(row)
        return out if type(out) is str else out[0]

    def build_cells(self, row: CatalogRow) -> tuple[OfferLine, tuple[str, ...]] | str:
        """:meth:`build` with the line's :func:`~bridge.domain.offers.line_cells`, whose amounts and days
        are formatted once per price (kept in the price cache).

        Hot path (once per offer): the row is unpacked once in ``CATALOG_FIELDS`` order (its optional
        inputs digest aside).
        """
        (id_product, ipa, reference, _ean13, _upc, p_reference, _p_ean13, _p_upc, id_manufacturer, is_virtual,
         is_pack, active, available, state, base_price, attribute_price, ecotax, attribute_ecotax,
         id_tax_rules_group, quantity, out_of_stock, *_digest) = row
        rules = self.rules
        if not active or not available or state == 0 or is_virtual or is_pack or self._filters:
            reason = exclusion_reason(
                active=bool(active) and state != 0, available_for_order=bool(available), is_virtual=bool(is_virtual),
                is_pack=bool(is_pack), id_manufacturer=id_manufacturer or 0,
                in_excluded_category=id_product in self.excluded_products, references=(_s(reference), _s(p_reference)),
                rules=rules,
            )
            if reason:
                return reason
        positions = self._sku_positions
        sku = f"{id_product}-{ipa}" if positions is None else _identifier(row, positions)
        if not sku:
            return EMPTY_SKU
        if rules.exclude_references and sku in rules.exclude_references:
            return EXCLUDED_REFERENCE
        out = out_of_stock if out_of_stock is not None else 2
        backorders = not self.stock_management or out == 1 or (out not in (0, 1) and self.shop_allows_backorders)
        qty = offer_quantity(quantity or 0, allows_backorders=backorders, rules=rules)
        p = self.pricing
        sp = self._specific_price(id_product, ipa)
        group_reduction = p.group_reductions.get(id_product) if p.group_reductions else None
        # the amounts by their text: hashing a Decimal read from the row costs several times its str()
        key = (str(base_price), str(attribute_price), str(ecotax), str(attribute_ecotax), id_tax_rules_group,
               group_reduction, 0 if sp is None else id(sp))
        prices = self._prices.get(key) if self.cache_prices else None
        if prices is None:
            price, before = visitor_prices(
                _dec(base_price), _dec(attribute_price) or ZERO, _dec(ecotax) or ZERO, _dec(attribute_ecotax) or ZERO,
                p.tax_rates.get(id_tax_rules_group, ZERO), group_reduction, p.settings, sp)
            computed = line_prices(price, before, sp, rules, self.tz)
            prices = computed if type(computed) is str else (*computed, price_texts(*computed))
            if self.cache_prices:
                if len(self._prices) >= PRICE_CACHE_SIZE:
                    self._prices.clear()
                self._prices[key] = prices
        if type(prices) is str:
            return prices
        positions = self._pid_positions
        if positions is None:  # product-id: none, or the SKU
            pid, ptype = ("", "") if rules.product_id == "none" else (sku, rules.product_id_type)
        else:
            value = _identifier(row, positions)
            if value:
                pid, ptype = value, rules.product_id_type
            elif rules.fallback_product_id_type:
                pid, ptype = sku, rules.fallback_product_id_type
            else:
                pid, ptype = "", ""
        regular, discount, start, end, texts = prices  # type: ignore[misc]
        return (OfferLine(sku, pid, ptype, regular, qty, discount, start, end, id_product, ipa),
                (sku, pid, ptype, texts[0], str(qty), texts[1], texts[2], texts[3]))

    def inputs(self, row: CatalogRow) -> tuple[str, int] | None:
        """(SKU, 64-bit digest of everything the row's line is computed from), or None without a SKU.

        The digest covers the row's columns keyed by the run-wide context (:attr:`inputs_key`: rules,
        price settings, visitor, time zone, shop flags, the line's constant columns, tax rates, group
        reductions, excluded products, :data:`INPUTS_VERSION`) -- computed by the database when the
        row carries its ``inputs_digest`` column, else here (:func:`row_digest`) -- and the specific
        price that applies now (so a price moving by date alone changes it). Equal digests give equal
        lines.
        """
        positions = self._sku_positions
        sku = f"{row[0]}-{row[1]}" if positions is None else _identifier(row, positions)
        if not sku:
            return None
        return sku, self.row_inputs(row)

    def row_inputs(self, row: CatalogRow) -> int:
        """The inputs digest of :meth:`inputs` alone (when the SKU is known otherwise)."""
        at = self._digest_position
        return self.inputs_of(row[0], row[1], row[at] if len(row) > at else row_digest(self.inputs_key, row[:at]))

    def inputs_of(self, id_product: int, id_product_attribute: int, row_digest_hex: str) -> int:
        """The inputs digest of :meth:`inputs` from the row's ``inputs_digest`` column alone (the row's
        columns are not needed: a delta run reads only that column first)."""
        if id_product != self._cached_product or self._candidates:  # else: no specific price (the common case)
            sp = self._specific_price(id_product, id_product_attribute)
            if sp is not None:
                text = self._sp_texts.get(id(sp)) or self._sp_texts.setdefault(id(sp), repr(sp))
                mixed = hashlib.blake2b(f"{row_digest_hex}\x1e{text}".encode(), digest_size=8).digest()
                return int.from_bytes(mixed, "big") or 1
        return int(row_digest_hex, 16) or 1

    def _specific_price(self, id_product: int, ipa: int) -> SpecificPrice | None:
        if (id_product, ipa) == self._sp_key:  # the same row again (inputs, then build)
            return self._sp
        self._sp_key = (id_product, ipa)
        self._sp = self._select_specific_price(id_product, ipa)
        return self._sp

    def _select_specific_price(self, id_product: int, ipa: int) -> SpecificPrice | None:
        if id_product != self._cached_product:
            self._cached_product = id_product
            own = self.pricing.specific_prices.get(id_product, ())
            self._candidates = (*own, *self._global_sps) if own else self._global_sps
            prio = self.pricing.priorities.get(id_product)
            self._prio = priority_list(prio) if prio else self._default_prio
        if not self._candidates:
            return None
        visitor = self.pricing.visitor
        change = next_price_change(self._candidates, visitor=visitor, id_product_attribute=ipa, now=self.now)
        if change is not None and (self.next_change_at is None or change < self.next_change_at):
            self.next_change_at = change
        return select_specific_price(self._candidates, visitor=visitor, id_product_attribute=ipa, now=self.now,
                                     priorities=self._prio)
