"""Order amounts: what the customer paid (Mirakl), split into tax excluded / tax and rounded like PrestaShop.

Rules (one line = every Mirakl line of one product/combination, merged as PrestaShop's cart does):

- The tax-included amount is what the customer paid: Mirakl's ``price`` in ``TAX_INCLUDED`` mode,
  ``price + Σ taxes`` in ``TAX_EXCLUDED`` mode. Without a taxes array both modes carry the paid amount.
- The tax-excluded amount is ``paid − Σ taxes`` when Mirakl sends a taxes array, otherwise it is
  derived from the product's tax rule for the delivery country with :func:`split_tax`, rounded per
  ``PS_ROUND_TYPE``: per unit (1), per line (2), or kept at 6 decimals and rounded on the order
  total (3; the rounding difference goes to the largest line so the lines still add up).
- Unit prices are the line totals divided by the quantity, kept at 6 decimals, except in
  per-unit rounding where the rounded unit price is the source of the line total.
- Order totals are exact sums of the lines (+ shipping), so they equal the sum of their parts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from bridge.domain.rounding import INTERNAL_PRECISION, ROUND_ITEM, ROUND_TOTAL, ps_round, quantum

ZERO = Decimal(0)
HUNDRED = Decimal(100)
Q6 = quantum(INTERNAL_PRECISION)


class AmountError(ValueError):
    """The amounts of an order cannot be booked (negative, tax above price, zero quantity)."""


@dataclass(frozen=True)
class Rounding:
    mode: int = 2  # PS_PRICE_ROUND_MODE
    type: int = 2  # PS_ROUND_TYPE
    precision: int = 2  # currency computing precision


@dataclass(frozen=True)
class TaxPart:
    """One tax of a tax calculator: ``ps_tax`` id and rate (percent)."""

    id_tax: int
    rate: Decimal
    name: str = ""


@dataclass(frozen=True)
class TaxCalc:
    """PrestaShop's tax calculator for one tax rules group and address (TaxRulesTaxManager)."""

    id_tax_rules_group: int = 0
    parts: tuple[TaxPart, ...] = ()
    computation_method: int = 0  # 0 = this tax only, 1 = combine, 2 = one after another

    @property
    def rate(self) -> Decimal:
        if not self.parts:
            return ZERO
        if self.computation_method == 2:
            factor = Decimal(1)
            for part in self.parts:
                factor *= 1 + part.rate / HUNDRED
            return ((factor - 1) * HUNDRED).quantize(Decimal("0.001"))
        return sum((p.rate for p in self.parts), ZERO)

    @property
    def name(self) -> str:
        return " ".join(p.name for p in self.parts if p.name)


@dataclass(frozen=True)
class LineAmounts:
    quantity: int
    unit_te: Decimal
    unit_ti: Decimal
    total_te: Decimal
    total_ti: Decimal

    @property
    def total_tax(self) -> Decimal:
        return self.total_ti - self.total_te

    @property
    def unit_tax(self) -> Decimal:
        return self.unit_ti - self.unit_te


def q6(value: Decimal) -> Decimal:
    return ps_round(value, INTERNAL_PRECISION)


def split_tax(amount_ti: Decimal, rate: Decimal, round_mode: int, precision: int) -> tuple[Decimal, Decimal]:
    """``(tax_excluded, tax)`` of a tax-included amount at ``rate`` percent, PrestaShop rounding.

    >>> split_tax(Decimal("12.00"), Decimal("20"), 2, 2)
    (Decimal('10.00'), Decimal('2.00'))
    """
    te = ps_round(amount_ti / (1 + rate / HUNDRED), precision, round_mode)
    return te, amount_ti - te


def line_amounts(
    *,
    quantity: int,
    price: Decimal,
    price_unit: Decimal,
    mirakl_tax: Decimal | None,
    tax_included: bool,
    rate: Decimal,
    rounding: Rounding,
) -> LineAmounts:
    """Amounts of one line from Mirakl's line price (unit × quantity) and optional tax total."""
    if quantity <= 0:
        raise AmountError(f"quantity {quantity} is not positive")
    if price < 0 or price_unit < 0 or (mirakl_tax is not None and mirakl_tax < 0):
        raise AmountError("negative price or tax")
    if mirakl_tax is not None:
        total_ti = price if tax_included else price + mirakl_tax
        total_te = total_ti - mirakl_tax
        if total_te < 0:
            raise AmountError(f"tax {mirakl_tax} is larger than the price {total_ti}")
        return _with_units(quantity, price_unit if tax_included else None, total_te, total_ti)
    total_ti = price
    if rounding.type == ROUND_ITEM:
        unit_ti = price_unit if price_unit * quantity == total_ti else q6(total_ti / quantity)
        unit_te, _ = split_tax(unit_ti, rate, rounding.mode, rounding.precision)
        return LineAmounts(quantity, unit_te, unit_ti, unit_te * quantity, total_ti)
    precision = INTERNAL_PRECISION if rounding.type == ROUND_TOTAL else rounding.precision
    total_te, _ = split_tax(total_ti, rate, rounding.mode, precision)
    return _with_units(quantity, price_unit, total_te, total_ti)


def _with_units(quantity: int, price_unit: Decimal | None, total_te: Decimal, total_ti: Decimal) -> LineAmounts:
    if price_unit is not None and price_unit * quantity == total_ti:
        unit_ti = price_unit
    else:
        unit_ti = q6(total_ti / quantity)
    return LineAmounts(quantity, q6(total_te / quantity), unit_ti, total_te, total_ti)


def shipping_amounts(
    *, price: Decimal, mirakl_tax: Decimal | None, tax_included: bool, rate: Decimal, rounding: Rounding
) -> tuple[Decimal, Decimal]:
    """``(shipping_te, shipping_ti)`` of the order's shipping (always rounded to the currency)."""
    if price < 0 or (mirakl_tax is not None and mirakl_tax < 0):
        raise AmountError("negative shipping price or tax")
    if mirakl_tax is not None:
        ti = price if tax_included else price + mirakl_tax
        if ti - mirakl_tax < 0:
            raise AmountError(f"shipping tax {mirakl_tax} is larger than the shipping price {ti}")
        return ti - mirakl_tax, ti
    te, _ = split_tax(price, rate, rounding.mode, rounding.precision)
    return te, price


def round_total_products(lines: list[LineAmounts], rounding: Rounding) -> list[LineAmounts]:
    """ROUND_TOTAL: round the products' tax-excluded total, give the difference to the largest line."""
    if rounding.type != ROUND_TOTAL or not lines:
        return lines
    exact = sum((a.total_te for a in lines), ZERO)
    diff = ps_round(exact, rounding.precision, rounding.mode) - exact
    if not diff:
        return lines
    i = max(range(len(lines)), key=lambda k: lines[k].total_te)
    out = list(lines)
    total_te = out[i].total_te + diff
    out[i] = replace(out[i], total_te=total_te, unit_te=q6(total_te / out[i].quantity))
    return out


def spread(amount: Decimal, parts: tuple[TaxPart, ...]) -> list[Decimal]:
    """Share ``amount`` over taxes proportionally to their rates (6 decimals; the last takes the rest)."""
    if not parts:
        return []
    total_rate = sum((p.rate for p in parts), ZERO)
    shares: list[Decimal] = []
    for k, part in enumerate(parts):
        if k == len(parts) - 1:
            shares.append(amount - sum(shares, ZERO))
        elif total_rate:
            shares.append(q6(amount * part.rate / total_rate))
        else:
            shares.append(ZERO)
    return shares


def effective_rate(te: Decimal, tax: Decimal) -> Decimal:
    """Rate (percent, 3 decimals) that turns ``te`` into ``te + tax``; 0 when te is 0."""
    if not te:
        return ZERO
    return (tax / te * HUNDRED).quantize(Decimal("0.001"))
