"""Mirakl orders as frozen values (parsed at the edge by bridge.mirakl.parsing)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

# Order / line states we act on. Unknown states are kept as plain strings (Mirakl adds values).
WAITING_ACCEPTANCE = "WAITING_ACCEPTANCE"
WAITING_DEBIT = "WAITING_DEBIT"
WAITING_DEBIT_PAYMENT = "WAITING_DEBIT_PAYMENT"
SHIPPING = "SHIPPING"
SHIPPED = "SHIPPED"
TO_COLLECT = "TO_COLLECT"
RECEIVED = "RECEIVED"
CLOSED = "CLOSED"
REFUSED = "REFUSED"
CANCELED = "CANCELED"
STAGING = "STAGING"

ACCEPTED_STATES = frozenset({WAITING_DEBIT, WAITING_DEBIT_PAYMENT, SHIPPING, SHIPPED, TO_COLLECT, RECEIVED, CLOSED})
DEAD_LINE_STATES = frozenset({REFUSED, CANCELED})


@dataclass(frozen=True)
class TaxAmount:
    code: str
    amount: Decimal
    rate: Decimal | None = None


@dataclass(frozen=True)
class Address:
    firstname: str = ""
    lastname: str = ""
    company: str = ""
    street_1: str = ""
    street_2: str = ""
    zip_code: str = ""
    city: str = ""
    state: str = ""
    country: str = ""  # free-text label in the customer's language
    country_iso_code: str = ""  # alpha-3 when present ("FRA"), often absent
    phone: str = ""
    phone_secondary: str = ""
    additional_info: str = ""
    civility: str = ""


@dataclass(frozen=True)
class Customer:
    customer_id: str
    firstname: str = ""
    lastname: str = ""
    civility: str = ""
    locale: str = ""
    billing_address: Address | None = None
    shipping_address: Address | None = None


@dataclass(frozen=True)
class OrderLine:
    order_line_id: str
    offer_sku: str
    quantity: int
    state: str
    price_unit: Decimal = Decimal("0")
    price: Decimal = Decimal("0")  # unit x quantity, without shipping
    shipping_price: Decimal = Decimal("0")
    total_price: Decimal = Decimal("0")
    taxes: tuple[TaxAmount, ...] = ()
    shipping_taxes: tuple[TaxAmount, ...] = ()
    order_line_index: int = 0
    offer_id: str = ""
    product_sku: str = ""
    product_title: str = ""
    canceled_quantity: int = 0

    @property
    def is_dead(self) -> bool:
        return self.state in DEAD_LINE_STATES


@dataclass(frozen=True)
class MiraklOrder:
    order_id: str
    state: str
    created_date: datetime
    last_updated_date: datetime
    currency_iso_code: str
    lines: tuple[OrderLine, ...]
    customer: Customer
    commercial_id: str = ""
    acceptance_decision_date: datetime | None = None
    price: Decimal = Decimal("0")
    shipping_price: Decimal = Decimal("0")
    total_price: Decimal = Decimal("0")
    tax_mode: str = ""
    shipping_type_code: str = ""
    shipping_type_label: str = ""
    shipping_carrier_code: str = ""
    shipping_tracking: str = ""
    customer_notification_email: str = ""
    payment_type: str = ""
    channel_code: str = ""
    shipping_deadline: datetime | None = None
    additional_fields: tuple[tuple[str, str], ...] = field(default=())

    @property
    def live_lines(self) -> tuple[OrderLine, ...]:
        """Lines not refused or cancelled: the ones that are sold."""
        return tuple(line for line in self.lines if not line.is_dead)
