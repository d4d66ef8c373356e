"""Mirakl orders and platform settings for order-writer tests (plain values, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from bridge.config import OrdersConfig, PlatformConfig
from bridge.domain.orders import SHIPPING, Address, Customer, MiraklOrder, OrderLine, TaxAmount

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)  # 10:30 in Paris


def D(value: str | int) -> Decimal:
    return Decimal(str(value))


def address(**over: Any) -> Address:
    values: dict[str, Any] = {
        "firstname": "Jeanne", "lastname": "Dupont", "street_1": "12 rue de la Paix", "zip_code": "75002",
        "city": "Paris", "country": "France", "country_iso_code": "FRA", "phone": "+33 1 23 45 67 89",
    }
    values.update(over)
    return Address(**values)


def line(sku: str, quantity: int, unit: str, *, shipping: str = "0", line_id: str = "",
         taxes: tuple[tuple[str, str], ...] = (), shipping_taxes: tuple[tuple[str, str], ...] = (),
         state: str = SHIPPING) -> OrderLine:
    """A Mirakl line: ``taxes`` as (amount, rate) pairs."""
    price_unit = D(unit)
    return OrderLine(
        order_line_id=line_id or f"L-{sku}-{quantity}", offer_sku=sku, quantity=quantity, state=state,
        price_unit=price_unit, price=price_unit * quantity, shipping_price=D(shipping),
        total_price=price_unit * quantity + D(shipping),
        taxes=tuple(TaxAmount("TVA", D(a), D(r)) for a, r in taxes),
        shipping_taxes=tuple(TaxAmount("TVA", D(a), D(r)) for a, r in shipping_taxes),
    )


def order(order_id: str, *lines: OrderLine, currency: str = "EUR", tax_mode: str = "TAX_INCLUDED",
          customer_id: str = "", shipping_type: str = "STD", email: str = "", **customer: Any) -> MiraklOrder:
    ship = customer.pop("shipping_address", address())
    bill = customer.pop("billing_address", ship)
    cust = Customer(customer_id=customer_id or f"C-{order_id}", firstname=customer.pop("firstname", "Jeanne"),
                    lastname=customer.pop("lastname", "Dupont"), shipping_address=ship, billing_address=bill,
                    **customer)
    price = sum((ln.price for ln in lines), Decimal(0))
    shipping = sum((ln.shipping_price for ln in lines), Decimal(0))
    return MiraklOrder(
        order_id=order_id, state=SHIPPING, created_date=NOW, last_updated_date=NOW, currency_iso_code=currency,
        lines=tuple(lines), customer=cust, commercial_id=order_id.rsplit("-", 1)[0], price=price,
        shipping_price=shipping, total_price=price + shipping, tax_mode=tax_mode, shipping_type_code=shipping_type,
        customer_notification_email=email,
    )


def platform(code: str = "testmp", **orders: Any) -> PlatformConfig:
    settings: dict[str, Any] = {"carriers": {"STD": 1}}
    settings.update(orders)
    return PlatformConfig(code=code, label="Test Marketplace", api_url="http://127.0.0.1:9",
                          api_key="k", orders=OrdersConfig(**settings))
