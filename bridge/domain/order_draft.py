"""An imported Mirakl order as PrestaShop will book it: lines, amounts, customer and addresses (pure).

``build_draft`` takes the Mirakl order and the facts the shop layer read (product per SKU with its
tax calculator for the delivery address, the carrier's tax calculator, the shop's rounding settings)
and returns an :class:`OrderDraft` whose totals equal the sum of its parts to the last decimal.
Problems that make the order unbookable raise :class:`DraftError` with a code; the shop layer turns
it into a ``SkippableError`` so that the job holds the order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal

from bridge.domain.order_amounts import (
    ZERO,
    AmountError,
    LineAmounts,
    Rounding,
    TaxCalc,
    TaxPart,
    effective_rate,
    line_amounts,
    q6,
    round_total_products,
    shipping_amounts,
    split_tax,
    spread,
)
from bridge.domain.order_text import clean_name
from bridge.domain.orders import Address, MiraklOrder, OrderLine, TaxAmount

__all__ = [
    "DraftAddress", "DraftError", "DraftLine", "DraftTax", "OrderDraft", "ProductFacts", "Rounding", "TaxCalc",
    "TaxPart", "build_draft", "clean_name", "split_tax",
]


class DraftError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


@dataclass(frozen=True)
class ProductFacts:
    """What the shop knows about one ordered product/combination (read by the shop layer)."""

    id_product: int
    id_product_attribute: int
    name: str  # in the shop language, with attributes: "T-shirt (Size: M, Color: Blue)"
    tax: TaxCalc
    reference: str = ""
    supplier_reference: str = ""
    ean13: str = ""
    upc: str = ""
    isbn: str = ""
    mpn: str = ""
    weight: Decimal = ZERO
    price_te: Decimal = ZERO  # base price, tax excluded, default currency (product + combination impact)
    wholesale_price: Decimal = ZERO  # product_shop.wholesale_price
    combination_wholesale_price: Decimal = ZERO

    @property
    def key(self) -> tuple[int, int]:
        return (self.id_product, self.id_product_attribute)


@dataclass(frozen=True)
class DraftTax:
    id_tax: int
    unit_amount: Decimal
    total_amount: Decimal


@dataclass(frozen=True)
class DraftLine:
    sku: str
    mirakl_line_ids: tuple[str, ...]
    id_product: int
    id_product_attribute: int
    quantity: int
    name: str
    reference: str
    supplier_reference: str
    ean13: str
    upc: str
    isbn: str
    mpn: str
    weight: Decimal  # unit weight
    unit_price_te: Decimal
    unit_price_ti: Decimal
    total_price_te: Decimal
    total_price_ti: Decimal
    id_tax_rules_group: int
    tax_computation_method: int
    tax_rate: Decimal
    tax_name: str
    taxes: tuple[DraftTax, ...]
    original_product_price: Decimal  # tax excluded, order currency
    purchase_supplier_price: Decimal
    original_wholesale_price: Decimal

    @property
    def key(self) -> tuple[int, int]:
        return (self.id_product, self.id_product_attribute)


@dataclass(frozen=True)
class DraftAddress:
    firstname: str
    lastname: str
    company: str
    address1: str
    address2: str
    postcode: str
    city: str
    state: str
    country_label: str
    country_iso: str  # as Mirakl sent it (alpha-3 usually)
    phone: str
    phone_mobile: str
    other: str


@dataclass(frozen=True)
class OrderDraft:
    order_id: str
    currency_iso: str
    customer_id: str  # Mirakl customer id ("" when absent)
    firstname: str
    lastname: str
    email: str
    delivery: DraftAddress
    invoice: DraftAddress
    lines: tuple[DraftLine, ...]
    shipping_te: Decimal
    shipping_ti: Decimal
    carrier_tax_rate: Decimal
    shipping_tax_method: int
    shipping_taxes: tuple[DraftTax, ...]
    rounding: Rounding
    tax_included: bool
    warnings: tuple[str, ...] = field(default=())

    @property
    def total_products(self) -> Decimal:
        return sum((line.total_price_te for line in self.lines), ZERO)

    @property
    def total_products_wt(self) -> Decimal:
        return sum((line.total_price_ti for line in self.lines), ZERO)

    @property
    def total_paid_te(self) -> Decimal:
        return self.total_products + self.shipping_te

    @property
    def total_paid_ti(self) -> Decimal:
        return self.total_products_wt + self.shipping_ti

    @property
    def total_weight(self) -> Decimal:
        return sum((line.weight * line.quantity for line in self.lines), ZERO)

    @property
    def quantities(self) -> dict[tuple[int, int], int]:
        return {line.key: line.quantity for line in self.lines}


def draft_address(addr: Address | None, fallback: Address | None = None) -> DraftAddress:
    a = addr or fallback or Address()
    return DraftAddress(
        firstname=a.firstname, lastname=a.lastname, company=a.company, address1=a.street_1,
        address2=a.street_2, postcode=a.zip_code, city=a.city, state=a.state, country_label=a.country,
        country_iso=a.country_iso_code, phone=a.phone, phone_mobile=a.phone_secondary, other=a.additional_info,
    )


def _tax_sum(taxes: tuple[TaxAmount, ...]) -> Decimal | None:
    return sum((t.amount for t in taxes), ZERO) if taxes else None


def _mirakl_rate(taxes: tuple[TaxAmount, ...]) -> Decimal | None:
    if not taxes or any(t.rate is None for t in taxes):
        return None
    return sum((t.rate for t in taxes if t.rate is not None), ZERO)


def _calc_for_mirakl(calc: TaxCalc, taxes: tuple[TaxAmount, ...], fallback: Mapping[Decimal, TaxPart],
                     what: str) -> TaxCalc:
    """The PrestaShop taxes that carry Mirakl's tax amounts (the product's, or a tax with Mirakl's rate)."""
    if not taxes:
        return calc
    rate = _mirakl_rate(taxes)
    amount = _tax_sum(taxes) or ZERO
    if rate is not None and rate != calc.rate and rate in fallback and (rate or not calc.parts):
        return TaxCalc(calc.id_tax_rules_group, (fallback[rate],), 0)
    if amount and not calc.parts:
        shown = f"{rate}%" if rate is not None else f"an amount of {amount}"
        raise DraftError("invalid_amounts", f"{what}: Mirakl charges a tax ({shown}) but no PrestaShop tax "
                                            "of the product's tax rules group or with that rate exists")
    return calc


def _sum_amounts(parts: list[LineAmounts]) -> LineAmounts:
    if len(parts) == 1:
        return parts[0]
    qty = sum(p.quantity for p in parts)
    total_te = sum((p.total_te for p in parts), ZERO)
    total_ti = sum((p.total_ti for p in parts), ZERO)
    unit_ti = parts[0].unit_ti if all(p.unit_ti == parts[0].unit_ti for p in parts) else q6(total_ti / qty)
    return LineAmounts(qty, q6(total_te / qty), unit_ti, total_te, total_ti)


def _line_taxes(amounts: LineAmounts, calc: TaxCalc) -> tuple[DraftTax, ...]:
    totals = spread(amounts.total_tax, calc.parts)
    units = spread(amounts.unit_tax, calc.parts)
    return tuple(DraftTax(p.id_tax, u, t) for p, u, t in zip(calc.parts, units, totals, strict=True))


def _group_lines(order: MiraklOrder, products: Mapping[str, ProductFacts]) -> dict[tuple[int, int], list[OrderLine]]:
    groups: dict[tuple[int, int], list[OrderLine]] = {}
    for line in order.live_lines:
        groups.setdefault(products[line.offer_sku].key, []).append(line)
    return groups


def _draft_line(lines: list[OrderLine], facts: ProductFacts, *, tax_included: bool, rounding: Rounding,
                fallback: Mapping[Decimal, TaxPart], conversion_rate: Decimal) -> tuple[DraftLine, TaxCalc]:
    what = f"line {lines[0].order_line_id} ({lines[0].offer_sku})"
    with_taxes = [ln for ln in lines if ln.taxes]
    calc = _calc_for_mirakl(facts.tax, with_taxes[0].taxes, fallback, what) if with_taxes else facts.tax
    parts = []
    for ln in lines:
        price = ln.price if ln.price or not ln.price_unit else ln.price_unit * ln.quantity
        try:
            parts.append(line_amounts(quantity=ln.quantity, price=price, price_unit=ln.price_unit,
                                      mirakl_tax=_tax_sum(ln.taxes), tax_included=tax_included,
                                      rate=facts.tax.rate, rounding=rounding))
        except AmountError as exc:
            raise DraftError("invalid_amounts", f"{what}: {exc}") from None
    amounts = _sum_amounts(parts)
    rate = calc.rate if not with_taxes else (_mirakl_rate(with_taxes[0].taxes) or
                                              effective_rate(amounts.total_te, amounts.total_tax))
    draft = DraftLine(
        sku=lines[0].offer_sku, mirakl_line_ids=tuple(ln.order_line_id for ln in lines),
        id_product=facts.id_product, id_product_attribute=facts.id_product_attribute,
        quantity=amounts.quantity, name=facts.name, reference=facts.reference,
        supplier_reference=facts.supplier_reference, ean13=facts.ean13, upc=facts.upc, isbn=facts.isbn,
        mpn=facts.mpn, weight=facts.weight, unit_price_te=amounts.unit_te, unit_price_ti=amounts.unit_ti,
        total_price_te=amounts.total_te, total_price_ti=amounts.total_ti,
        id_tax_rules_group=facts.tax.id_tax_rules_group, tax_computation_method=calc.computation_method,
        tax_rate=rate, tax_name=calc.name, taxes=_line_taxes(amounts, calc),
        original_product_price=q6(facts.price_te * conversion_rate),
        purchase_supplier_price=facts.wholesale_price,
        original_wholesale_price=facts.combination_wholesale_price or facts.wholesale_price,
    )
    return draft, calc


def _shipping(order: MiraklOrder, carrier: TaxCalc, *, tax_included: bool, rounding: Rounding,
              fallback: Mapping[Decimal, TaxPart]) -> tuple[Decimal, Decimal, Decimal, TaxCalc]:
    lines = order.live_lines
    taxed = [ln for ln in lines if ln.shipping_taxes]
    try:
        if not taxed:
            price = sum((ln.shipping_price for ln in lines), ZERO)
            te, ti = shipping_amounts(price=price, mirakl_tax=None, tax_included=tax_included,
                                      rate=carrier.rate, rounding=rounding)
            return te, ti, carrier.rate, carrier
        calc = _calc_for_mirakl(carrier, taxed[0].shipping_taxes, fallback, "shipping")
        te = ti = ZERO
        for ln in lines:
            l_te, l_ti = shipping_amounts(price=ln.shipping_price, mirakl_tax=_tax_sum(ln.shipping_taxes),
                                          tax_included=tax_included, rate=carrier.rate, rounding=rounding)
            te, ti = te + l_te, ti + l_ti
    except AmountError as exc:
        raise DraftError("invalid_amounts", f"shipping: {exc}") from None
    rate = _mirakl_rate(taxed[0].shipping_taxes)
    return te, ti, rate if rate is not None else effective_rate(te, ti - te), calc


def build_draft(
    order: MiraklOrder,
    *,
    products: Mapping[str, ProductFacts],
    carrier_tax: TaxCalc,
    fallback_taxes: Mapping[Decimal, TaxPart],
    tax_included: bool,
    rounding: Rounding,
    conversion_rate: Decimal,
    email: str,
    name_max_len: int = 255,
) -> OrderDraft:
    """The PrestaShop view of a Mirakl order; every live line's SKU must be in ``products``."""
    if not order.live_lines:
        raise DraftError("no_lines", "the order has no line left to import (all refused or cancelled)")
    warnings: list[str] = []
    drafted = [
        _draft_line(lines, products[lines[0].offer_sku], tax_included=tax_included, rounding=rounding,
                    fallback=fallback_taxes, conversion_rate=conversion_rate)
        for lines in _group_lines(order, products).values()
    ]
    rounded = round_total_products(
        [LineAmounts(d.quantity, d.unit_price_te, d.unit_price_ti, d.total_price_te, d.total_price_ti)
         for d, _ in drafted], rounding)
    lines = []
    for (d, calc), a in zip(drafted, rounded, strict=True):
        if a.total_te != d.total_price_te:
            d = _replace_amounts(d, a, calc)
        lines.append(d)
    ship_te, ship_ti, ship_rate, ship_calc = _shipping(order, carrier_tax, tax_included=tax_included,
                                                       rounding=rounding, fallback=fallback_taxes)
    ship_taxes = tuple(DraftTax(p.id_tax, s, s) for p, s in
                       zip(ship_calc.parts, spread(ship_ti - ship_te, ship_calc.parts), strict=True))
    if ship_ti - ship_te and not ship_calc.parts:
        warnings.append("shipping tax has no PrestaShop tax to book it on (no order_invoice_tax row)")
    if any(ln.canceled_quantity for ln in order.live_lines):
        warnings.append("some lines have cancelled units; the quantities and prices Mirakl sent are imported")
    cust = order.customer
    ship = cust.shipping_address
    return OrderDraft(
        order_id=order.order_id, currency_iso=order.currency_iso_code.upper(), customer_id=cust.customer_id,
        firstname=clean_name(cust.firstname or (ship.firstname if ship else ""), name_max_len),
        lastname=clean_name(cust.lastname or (ship.lastname if ship else ""), name_max_len),
        email=email, delivery=draft_address(ship, cust.billing_address),
        invoice=draft_address(cust.billing_address, ship), lines=tuple(lines),
        shipping_te=ship_te, shipping_ti=ship_ti, carrier_tax_rate=ship_rate,
        shipping_tax_method=ship_calc.computation_method, shipping_taxes=ship_taxes, rounding=rounding,
        tax_included=tax_included, warnings=tuple(warnings),
    )


def _replace_amounts(d: DraftLine, a: LineAmounts, calc: TaxCalc) -> DraftLine:
    return replace(d, unit_price_te=a.unit_te, total_price_te=a.total_te, taxes=_line_taxes(a, calc))
