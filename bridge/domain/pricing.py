"""PrestaShop's price for an anonymous visitor (``Product::priceCalculation``), in Decimal.

Pure: the shop edge loads the rows (specific prices, tax rules, currency, group) and converts
PrestaShop's local datetimes to aware UTC; this module only decides. The steps follow
``shared/reference/prestashop-db.md`` §2:

1. the specific price (``select_specific_price``: filters, ORDER BY and priority score of
   ``SpecificPrice::getSpecificPrice``; dates inclusive at minute granularity);
2. base price ``product_shop.price``, or the specific price's fixed price (``price >= 0``);
3. currency conversion (not for a fixed price already in the target currency);
4. combination impact, unless the specific price is a fixed price for this very combination;
6. taxes (``tax_rate_for``: country/state/zip rules, behaviours 0/1/2);
7. ecotax (when ``PS_USE_ECOTAX``), taxed by the ecotax rules group;
8. the specific price's reduction (percentage of the taxed price, or an amount with ``reduction_tax``);
9. group reduction (product cache row, else the group's percentage);
11. ``Tools::ps_round`` with the shop's mode and the currency precision, clamped at 0.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Decimal,
)

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)
MINUTE = timedelta(minutes=1)

# PS_PRICE_ROUND_MODE values (config/defines.inc.php)
ROUND_UP, ROUND_DOWN_MODE, ROUND_HALF_UP_MODE, ROUND_HALF_DOWN_MODE, ROUND_HALF_EVEN_MODE, ROUND_HALF_ODD_MODE = range(6)

# tax_rule.behavior
TAX_THIS_ONLY, TAX_COMBINE, TAX_ONE_AFTER_ANOTHER = 0, 1, 2

DEFAULT_PRIORITIES = "id_shop;id_currency;id_country;id_group"
VISITOR_FIELDS = frozenset({"id_shop", "id_currency", "id_country", "id_group", "id_customer"})


# --- values ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SpecificPrice:
    """One ``ps_specific_price`` row; dates are aware UTC, None for PrestaShop's zero date."""

    id_specific_price: int
    id_product: int = 0
    id_product_attribute: int = 0
    id_shop: int = 0
    id_currency: int = 0
    id_country: int = 0
    id_group: int = 0
    id_customer: int = 0
    id_cart: int = 0
    id_specific_price_rule: int = 0
    from_quantity: int = 1
    price: Decimal = Decimal(-1)  # -1: keep the base price
    reduction: Decimal = ZERO
    reduction_type: str = "amount"  # amount | percentage
    reduction_tax: bool = True
    starts_at: datetime | None = None
    ends_at: datetime | None = None

    @property
    def fixed_price(self) -> bool:
        return self.price >= 0

    @property
    def time_bounded(self) -> bool:
        return self.starts_at is not None or self.ends_at is not None


@dataclass(frozen=True, slots=True)
class Visitor:
    """Who looks at the price: the platform's anonymous visitor (no customer, no cart, quantity 1)."""

    id_shop: int
    id_currency: int
    id_country: int
    id_group: int
    id_customer: int = 0


@dataclass(frozen=True, slots=True)
class TaxRule:
    """One ``ps_tax_rule`` row of a tax rules group, with its ``ps_tax.rate`` (percent)."""

    id_country: int
    rate: Decimal
    behavior: int = TAX_THIS_ONLY
    id_state: int = 0
    zipcode_from: str = "0"
    zipcode_to: str = "0"


@dataclass(frozen=True, slots=True)
class PriceSettings:
    """Shop-wide inputs of the computation, loaded once per run."""

    target_is_default_currency: bool = True
    conversion_rate: Decimal = ONE  # of the target currency (1 when it is the default)
    use_ecotax: bool = False  # PS_USE_ECOTAX
    ecotax_tax_rate: Decimal = ZERO  # percent, from PS_ECOTAX_TAX_RULES_GROUP_ID
    group_reduction_percent: Decimal = ZERO  # ps_group.reduction of the visitor group
    round_mode: int = ROUND_HALF_UP_MODE  # PS_PRICE_ROUND_MODE
    precision: int = 2  # currency precision (computing precision)


@dataclass(frozen=True, slots=True)
class PriceInputs:
    """Per product/combination values, tax excluded, in the default currency."""

    base_price: Decimal  # product_shop.price
    attribute_price: Decimal = ZERO  # product_attribute_shop.price (impact)
    ecotax: Decimal = ZERO  # product_shop.ecotax
    attribute_ecotax: Decimal = ZERO  # product_attribute_shop.ecotax (wins when > 0)
    tax_rate: Decimal = ZERO  # percent (tax_rate_for), 0 when PS_TAX is off
    group_reduction: Decimal | None = None  # product_group_reduction_cache.reduction (fraction) if any


@dataclass(frozen=True, slots=True)
class PriceResult:
    price: Decimal  # tax included, every reduction applied, rounded
    price_before_reduction: Decimal  # same with the specific price's reduction left out
    specific_price: SpecificPrice | None = None

    @property
    def has_reduction(self) -> bool:
        return self.price < self.price_before_reduction

    @property
    def reduction_starts_at(self) -> datetime | None:
        return self.specific_price.starts_at if self.specific_price else None

    @property
    def reduction_ends_at(self) -> datetime | None:
        return self.specific_price.ends_at if self.specific_price else None

    @property
    def time_bounded_reduction(self) -> bool:
        sp = self.specific_price
        return self.has_reduction and sp is not None and sp.time_bounded


# --- rounding ------------------------------------------------------------------------------------

_DECIMAL_MODES = {
    ROUND_UP: ROUND_CEILING,
    ROUND_DOWN_MODE: ROUND_FLOOR,
    ROUND_HALF_UP_MODE: ROUND_HALF_UP,
    ROUND_HALF_DOWN_MODE: ROUND_HALF_DOWN,
    ROUND_HALF_EVEN_MODE: ROUND_HALF_EVEN,
}
_QUANTUM = {p: Decimal(1).scaleb(-p) for p in range(0, 10)}


def ps_round(value: Decimal, precision: int, mode: int = ROUND_HALF_UP_MODE) -> Decimal:
    """``Tools::ps_round``: 0 up (ceil), 1 down (floor), 2 half-up, 3 half-down, 4 half-even, 5 half-odd."""
    q = _QUANTUM.get(precision) or Decimal(1).scaleb(-precision)
    if mode == ROUND_HALF_ODD_MODE:
        down = value.quantize(q, rounding=ROUND_DOWN)
        if abs(value - down) * 2 != q:
            return value.quantize(q, rounding=ROUND_HALF_UP)
        odd = int(down.scaleb(precision)) % 2 == 1
        return down if odd else down + (q if value > 0 else -q)
    return value.quantize(q, rounding=_DECIMAL_MODES.get(mode, ROUND_HALF_UP))


# --- specific price selection ------------------------------------------------------------------------


def priority_list(priority: str | None) -> tuple[str, ...]:
    """``SpecificPrice::getPriority``: ``id_customer;`` + the product's (or the shop's) priorities."""
    return tuple(("id_customer;" + (priority or DEFAULT_PRIORITIES)).split(";"))


def score(sp: SpecificPrice, visitor: Visitor, priorities: Sequence[str]) -> int:
    """``_getScoreQuery``: weight 2^(k+1) by index k in the reversed list, for exact matches only."""
    total = 0
    for k, name in enumerate(reversed(priorities)):
        if name in VISITOR_FIELDS and getattr(sp, name) == getattr(visitor, name):
            total += 2 ** (k + 1)
    return total


def minute_of(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0)


def matches_visitor(sp: SpecificPrice, visitor: Visitor, id_product_attribute: int) -> bool:
    """Every WHERE condition of getSpecificPrice except the dates (quantity 1, no customer, no cart)."""
    return (
        sp.id_shop in (0, visitor.id_shop)
        and sp.id_currency in (0, visitor.id_currency)
        and sp.id_country in (0, visitor.id_country)
        and sp.id_group in (0, visitor.id_group)
        and sp.id_customer in (0, visitor.id_customer)
        and sp.id_cart == 0
        and sp.id_product_attribute in (0, id_product_attribute)
        and sp.from_quantity <= 1
    )


def is_active(sp: SpecificPrice, now_minute: datetime) -> bool:
    """``from`` <= now <= ``to`` with now truncated to the minute (zero dates are open ends)."""
    return (sp.starts_at is None or sp.starts_at <= now_minute) and (
        sp.ends_at is None or now_minute <= sp.ends_at
    )


def _order_key(sp: SpecificPrice, visitor: Visitor, priorities: Sequence[str]) -> tuple[object, ...]:
    # ORDER BY id_product_attribute DESC, id_cart DESC, from_quantity DESC, id_specific_price_rule ASC,
    # score DESC, `to` DESC, `from` DESC -- a zero date sorts lowest; ties: lowest id (MySQL leaves it open)
    return (
        sp.id_product_attribute,
        sp.id_cart,
        sp.from_quantity,
        -sp.id_specific_price_rule,
        score(sp, visitor, priorities),
        sp.ends_at.timestamp() if sp.ends_at else float("-inf"),
        sp.starts_at.timestamp() if sp.starts_at else float("-inf"),
        -sp.id_specific_price,
    )


def select_specific_price(
    candidates: Iterable[SpecificPrice],
    *,
    visitor: Visitor,
    id_product_attribute: int,
    now: datetime,
    priorities: Sequence[str],
) -> SpecificPrice | None:
    """The row ``getSpecificPrice`` returns (candidates: the product's rows plus ``id_product = 0`` rows)."""
    now_m = minute_of(now)
    best: SpecificPrice | None = None
    best_key: tuple[object, ...] = ()
    for sp in candidates:
        if not matches_visitor(sp, visitor, id_product_attribute) or not is_active(sp, now_m):
            continue
        key = _order_key(sp, visitor, priorities)
        if best is None or key > best_key:
            best, best_key = sp, key
    return best


def next_price_change(
    candidates: Iterable[SpecificPrice], *, visitor: Visitor, id_product_attribute: int, now: datetime
) -> datetime | None:
    """The first instant after ``now`` when a candidate specific price starts or stops applying."""
    now_m = minute_of(now)
    soonest: datetime | None = None
    for sp in candidates:
        if not matches_visitor(sp, visitor, id_product_attribute):
            continue
        for instant in _boundaries(sp):
            if instant > now_m and (soonest is None or instant < soonest):
                soonest = instant
    return soonest


def _boundaries(sp: SpecificPrice) -> list[datetime]:
    out = []
    if sp.starts_at is not None:  # first whole minute >= from
        m = minute_of(sp.starts_at)
        out.append(m if m == sp.starts_at else m + MINUTE)
    if sp.ends_at is not None:  # first whole minute > to
        out.append(minute_of(sp.ends_at) + MINUTE)
    return out


# --- taxes -------------------------------------------------------------------------------------------

_MYSQL_NUM = re.compile(r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def _as_number(text: str) -> float:
    """MySQL's string-to-number cast (``zipcode_to = 0``): leading numeric prefix, else 0."""
    m = _MYSQL_NUM.match(text)
    return float(m.group(0)) if m else 0.0


def _ci(text: str) -> str:
    return text.upper().rstrip(" ")  # *_general_ci: case-insensitive, PAD SPACE


def _zip_matches(rule: TaxRule, zipcode: str) -> bool:
    z = _ci(zipcode)
    if _ci(rule.zipcode_from) <= z <= _ci(rule.zipcode_to):
        return True
    return _as_number(rule.zipcode_to) == 0 and (
        _as_number(rule.zipcode_from) == 0 or _ci(rule.zipcode_from) == z
    )


def tax_rate_for(rules: Iterable[TaxRule], *, id_country: int, id_state: int = 0, zipcode: str = "0") -> Decimal:
    """``TaxRulesTaxManager::getTaxCalculator`` + ``getTotalRate`` for one address, as a percentage.

    Rows sorted most specific first; the first row's behaviour decides how rates combine (0 this tax
    only / 1 sum / 2 one after another) and the walk stops after a row with behaviour 0.
    """
    zipcode = zipcode or "0"
    rows = [
        r for r in rules
        if r.id_country == id_country and r.id_state in (0, id_state) and _zip_matches(r, zipcode)
    ]
    rows.sort(key=lambda r: (_ci(r.zipcode_from), _ci(r.zipcode_to), r.id_state, r.id_country), reverse=True)
    rates: list[Decimal] = []
    behavior = TAX_THIS_ONLY
    for i, r in enumerate(rows):
        rates.append(abs(r.rate))
        if i == 0:
            behavior = r.behavior
        if r.behavior == TAX_THIS_ONLY:
            break
    if behavior == TAX_ONE_AFTER_ANOTHER:
        total = ONE
        for rate in rates:
            total *= ONE + rate / HUNDRED
        return (total - ONE) * HUNDRED
    return sum(rates, ZERO)


# --- the computation -----------------------------------------------------------------------------------


def compute_price(inputs: PriceInputs, settings: PriceSettings, sp: SpecificPrice | None = None) -> PriceResult:
    """Tax-included visitor price with and without the specific price's reduction."""
    i = inputs
    price, before = visitor_prices(i.base_price, i.attribute_price, i.ecotax, i.attribute_ecotax, i.tax_rate,
                                   i.group_reduction, settings, sp)
    return PriceResult(price=price, price_before_reduction=before, specific_price=sp)


def visitor_prices(base_price: Decimal, attribute_price: Decimal, ecotax: Decimal, attribute_ecotax: Decimal,
                   tax_rate: Decimal, group_reduction: Decimal | None, settings: PriceSettings,
                   sp: SpecificPrice | None) -> tuple[Decimal, Decimal]:
    """(price, price before reduction), rounded: the same as compute_price, without building objects."""
    full, reduced = _unrounded(base_price, attribute_price, ecotax, attribute_ecotax, tax_rate, group_reduction,
                               settings, sp)
    mode, prec = settings.round_mode, settings.precision
    return max(ps_round(reduced, prec, mode), ZERO), max(ps_round(full, prec, mode), ZERO)


def _unrounded(base_price: Decimal, attribute_price: Decimal, ecotax_p: Decimal, attribute_ecotax: Decimal,
               tax_rate: Decimal, group_reduction: Decimal | None, s: PriceSettings,
               sp: SpecificPrice | None) -> tuple[Decimal, Decimal]:
    rate = s.conversion_rate
    convert = not s.target_is_default_currency
    # steps 2-3: base (or fixed) price, converted unless a fixed price given in the target currency
    price = sp.price if sp is not None and sp.fixed_price else base_price
    if convert and not (sp is not None and sp.fixed_price and sp.id_currency):
        price = price * rate
    # step 4: combination impact, unless a fixed price for this very combination
    if sp is None or not sp.id_product_attribute or not sp.fixed_price:
        price += attribute_price * rate if convert else attribute_price
    # step 6: taxes
    tax_factor = ONE + tax_rate / HUNDRED
    price = price * tax_factor
    # step 7: ecotax (the combination's when > 0), converted, taxed by the ecotax rules group
    if s.use_ecotax:
        ecotax = attribute_ecotax if attribute_ecotax > 0 else ecotax_p
        if ecotax:
            if convert:
                ecotax = ecotax * rate
            price += ecotax * (ONE + s.ecotax_tax_rate / HUNDRED)
    # step 8: the specific price's reduction
    reduction = ZERO
    if sp is not None and sp.reduction:
        if sp.reduction_type == "percentage":
            reduction = price * sp.reduction
        else:
            reduction = sp.reduction * rate if convert and not sp.id_currency else sp.reduction
            if not sp.reduction_tax:
                reduction = reduction * tax_factor
    # step 9: group reduction, on both prices
    if group_reduction is not None:
        keep = ONE - group_reduction
    else:
        keep = ONE - s.group_reduction_percent / HUNDRED
    return price * keep, (price - reduction) * keep
