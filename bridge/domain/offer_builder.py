"""One catalogue row → one offer line (or the reason it is not offered), in a single pass.

Pure. The shop edge streams rows with the attributes of :class:`CatalogRow` and loads the shop-wide
:class:`PricingData` once; :class:`OfferBuilder` keeps nothing per row except the earliest future
instant at which a specific price starts or stops (``next_change_at``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from decimal import Decimal
from typing import Protocol

from bridge.domain.offers import (
    EMPTY_SKU,
    OfferLine,
    OfferRules,
    exclusion_reason,
    make_line,
    offer_quantity,
)
from bridge.domain.pricing import (
    ZERO,
    PriceInputs,
    PriceSettings,
    SpecificPrice,
    Visitor,
    compute_price,
    next_price_change,
    priority_list,
    select_specific_price,
)


class CatalogRow(Protocol):
    """A product without combinations (``id_product_attribute = 0``) or one combination."""

    id_product: int
    id_product_attribute: int
    reference: str | None  # combination's (None for a product row)
    ean13: str | None
    upc: str | None
    product_reference: str | None
    product_ean13: str | None
    product_upc: str | None
    id_manufacturer: int | None
    is_virtual: int
    is_pack: int
    active: int
    available_for_order: int
    state: int  # ps_product.state (1 when the column does not exist)
    base_price: Decimal
    attribute_price: Decimal | None
    ecotax: Decimal | None
    attribute_ecotax: Decimal | None
    id_tax_rules_group: int
    quantity: int | None
    out_of_stock: int | None


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

    # -- identifiers ---------------------------------------------------------------------------

    def _pick(self, row: CatalogRow, name: str) -> str:
        if name == "reference":
            return _s(row.reference) or _s(row.product_reference)
        if name == "ean13":
            return _s(row.ean13) or _s(row.product_ean13)
        if name == "upc":
            return _s(row.upc) or _s(row.product_upc)
        return ""

    def sku_of(self, row: CatalogRow) -> str:
        if self.rules.sku == "id":
            return f"{row.id_product}-{row.id_product_attribute}"
        return self._pick(row, self.rules.sku)

    def _product_id(self, row: CatalogRow, sku: str) -> tuple[str, str]:
        rules = self.rules
        if rules.product_id == "none":
            return "", ""
        value = sku if rules.product_id == "sku" else self._pick(row, rules.product_id)
        if value:
            return value, rules.product_id_type
        return (sku, rules.fallback_product_id_type) if rules.fallback_product_id_type else ("", "")

    # -- the row -------------------------------------------------------------------------------

    def build(self, row: CatalogRow) -> OfferLine | str:
        """The line for this row, or the reason (report key) it is not offered."""
        rules = self.rules
        reason = exclusion_reason(
            active=bool(row.active) and row.state != 0,
            available_for_order=bool(row.available_for_order),
            is_virtual=bool(row.is_virtual),
            is_pack=bool(row.is_pack),
            id_manufacturer=row.id_manufacturer or 0,
            in_excluded_category=row.id_product in self.excluded_products,
            references=(_s(row.reference), _s(row.product_reference)),
            rules=rules,
        )
        if reason:
            return reason
        sku = self.sku_of(row)
        if not sku:
            return EMPTY_SKU
        if rules.exclude_references and sku in rules.exclude_references:
            return "excluded_reference"
        out = row.out_of_stock if row.out_of_stock is not None else 2
        backorders = (not self.stock_management or out == 1 or (out not in (0, 1) and self.shop_allows_backorders))
        quantity = offer_quantity(row.quantity or 0, allows_backorders=backorders, rules=rules)
        result = compute_price(self._inputs(row), self.pricing.settings, self._specific_price(row))
        pid, ptype = self._product_id(row, sku)
        return make_line(sku, pid, ptype, quantity, result, rules, self.tz, row.id_product,
                         row.id_product_attribute)

    def _inputs(self, row: CatalogRow) -> PriceInputs:
        p = self.pricing
        return PriceInputs(
            base_price=row.base_price,
            attribute_price=row.attribute_price or ZERO,
            ecotax=row.ecotax or ZERO,
            attribute_ecotax=row.attribute_ecotax or ZERO,
            tax_rate=p.tax_rates.get(row.id_tax_rules_group, ZERO),
            group_reduction=p.group_reductions.get(row.id_product),
        )

    def _specific_price(self, row: CatalogRow) -> SpecificPrice | None:
        if row.id_product != self._cached_product:
            self._cached_product = row.id_product
            own = self.pricing.specific_prices.get(row.id_product, ())
            self._candidates = (*own, *self._global_sps) if own else self._global_sps
            prio = self.pricing.priorities.get(row.id_product)
            self._prio = priority_list(prio) if prio else self._default_prio
        if not self._candidates:
            return None
        visitor, ipa = self.pricing.visitor, row.id_product_attribute
        change = next_price_change(self._candidates, visitor=visitor, id_product_attribute=ipa, now=self.now)
        if change is not None and (self.next_change_at is None or change < self.next_change_at):
            self.next_change_at = change
        return select_specific_price(self._candidates, visitor=visitor, id_product_attribute=ipa, now=self.now,
                                     priorities=self._prio)
