"""Mirakl JSON -> domain values. Tolerant of unknown fields, strict on the fields we act on.

``loads`` decodes with ``parse_float=Decimal`` so money never passes through a float. An order that
lacks a field the bridge needs (or carries a value of the wrong type) raises
:class:`~bridge.errors.SkippableError` with ``code="invalid_payload"``; a page collects those next
to the orders that parsed, so one broken order never hides the others.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from bridge.domain.orders import Address, Customer, MiraklOrder, OrderLine, TaxAmount
from bridge.errors import SkippableError
from bridge.mirakl.models import Carrier, OfferImportStatus

INVALID_PAYLOAD = "invalid_payload"
MAX_QUANTITY = 1_000_000
MAX_AMOUNT = Decimal("1e12")


class PayloadError(ValueError):
    """A field of a Mirakl payload is missing or has the wrong type (message names the field)."""


def loads(text: str | bytes) -> Any:
    """JSON with exact decimals; NaN/Infinity become Decimals (rejected later by ``money``)."""
    return json.loads(text, parse_float=Decimal, parse_constant=Decimal)


# --- scalar helpers ------------------------------------------------------------------------------


def parse_datetime(value: object) -> datetime:
    """``2025-06-01T17:40:22Z`` with or without milliseconds (or an offset) -> aware UTC."""
    if not isinstance(value, str) or not value.strip():
        raise PayloadError("not a date-time string")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise PayloadError(f"not an ISO 8601 date-time: {value[:40]!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def money(value: object, name: str, *, default: Decimal | None = Decimal("0")) -> Decimal:
    """An amount as Decimal; ints and numeric strings accepted; NaN, huge values and text refused."""
    if value is None:
        if default is None:
            raise PayloadError(f"{name} is missing")
        return default
    if isinstance(value, bool):
        raise PayloadError(f"{name} is not a number")
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, (int, float, str)):
        try:
            amount = Decimal(str(value).strip())
        except InvalidOperation:
            raise PayloadError(f"{name} is not a number: {str(value)[:40]!r}") from None
    else:
        raise PayloadError(f"{name} is not a number")
    if not amount.is_finite() or abs(amount) >= MAX_AMOUNT:
        raise PayloadError(f"{name} is out of range: {str(value)[:40]!r}")
    return amount


def quantity(value: object, name: str = "quantity") -> int:
    """A whole number of units in [0, MAX_QUANTITY]; ``"3"`` and ``3.0`` accepted, ``"abc"`` refused."""
    if value is None:
        raise PayloadError(f"{name} is missing")
    if isinstance(value, bool):
        raise PayloadError(f"{name} is not an integer")
    try:
        number = Decimal(str(value).strip()) if not isinstance(value, int) else Decimal(value)
    except InvalidOperation:
        raise PayloadError(f"{name} is not an integer: {str(value)[:40]!r}") from None
    if not number.is_finite() or number != number.to_integral_value():
        raise PayloadError(f"{name} is not an integer: {str(value)[:40]!r}")
    if number < 0 or number > MAX_QUANTITY:
        raise PayloadError(f"{name} is out of range: {str(value)[:40]!r}")
    return int(number)


def text(value: object) -> str:
    """Optional free text: None -> "", numbers -> their text, anything else -> ""."""
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, Decimal)):
        return str(value)
    return ""


def required_text(data: Mapping[str, Any], key: str, where: str = "") -> str:
    value = text(data.get(key)).strip()
    if not value:
        raise PayloadError(f"{where}{key} is missing")
    return value


def optional_datetime(value: object) -> datetime | None:
    try:
        return parse_datetime(value) if value not in (None, "") else None
    except PayloadError:
        return None


# --- orders --------------------------------------------------------------------------------------


def _taxes(value: object, name: str) -> tuple[TaxAmount, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise PayloadError(f"{name} is not a list")
    out = []
    for i, tax in enumerate(value):
        if not isinstance(tax, Mapping):
            raise PayloadError(f"{name}[{i}] is not an object")
        rate = tax.get("rate")
        out.append(
            TaxAmount(
                code=text(tax.get("code")),
                amount=money(tax.get("amount"), f"{name}[{i}].amount"),
                rate=None if rate is None else money(rate, f"{name}[{i}].rate"),
            )
        )
    return tuple(out)


def _address(value: object, name: str) -> Address | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise PayloadError(f"{name} is not an object")
    fields = (
        "firstname",
        "lastname",
        "company",
        "street_1",
        "street_2",
        "zip_code",
        "city",
        "state",
        "country",
        "country_iso_code",
        "phone",
        "phone_secondary",
        "additional_info",
        "civility",
    )
    return Address(**{f: text(value.get(f)) for f in fields})


def _customer(value: object) -> Customer:
    if value is None:
        return Customer(customer_id="")
    if not isinstance(value, Mapping):
        raise PayloadError("customer is not an object")
    return Customer(
        customer_id=text(value.get("customer_id")),
        firstname=text(value.get("firstname")),
        lastname=text(value.get("lastname")),
        civility=text(value.get("civility")),
        locale=text(value.get("locale")),
        billing_address=_address(value.get("billing_address"), "customer.billing_address"),
        shipping_address=_address(value.get("shipping_address"), "customer.shipping_address"),
    )


def _canceled_quantity(value: object) -> int:
    if not isinstance(value, list):
        return 0
    total = 0
    for c in value:
        if isinstance(c, Mapping) and c.get("quantity") is not None:
            total += quantity(c.get("quantity"), "cancelations.quantity")
    return total


def parse_line(raw: object, index: int, order_state: str) -> OrderLine:
    where = f"order_lines[{index}]."
    if not isinstance(raw, Mapping):
        raise PayloadError(f"order_lines[{index}] is not an object")
    line_index = raw.get("order_line_index")
    return OrderLine(
        order_line_id=required_text(raw, "order_line_id", where),
        offer_sku=required_text(raw, "offer_sku", where),
        quantity=quantity(raw.get("quantity"), f"{where}quantity"),
        state=text(raw.get("order_line_state")) or order_state,
        price_unit=money(raw.get("price_unit"), f"{where}price_unit"),
        price=money(raw.get("price"), f"{where}price"),
        shipping_price=money(raw.get("shipping_price"), f"{where}shipping_price"),
        total_price=money(raw.get("total_price"), f"{where}total_price"),
        taxes=_taxes(raw.get("taxes"), f"{where}taxes"),
        shipping_taxes=_taxes(raw.get("shipping_taxes"), f"{where}shipping_taxes"),
        order_line_index=line_index
        if isinstance(line_index, int) and not isinstance(line_index, bool)
        else 0,
        offer_id=text(raw.get("offer_id")),
        product_sku=text(raw.get("product_sku")),
        product_title=text(raw.get("product_title")),
        canceled_quantity=_canceled_quantity(raw.get("cancelations")),
    )


def _additional_fields(value: object) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, list):
        return ()
    out = []
    for f in value:
        if isinstance(f, Mapping) and text(f.get("code")):
            v = f.get("value")
            out.append((text(f.get("code")), v if isinstance(v, str) else json.dumps(v, default=str)))
    return tuple(out)


def _parse_order(raw: Mapping[str, Any]) -> MiraklOrder:
    order_id = required_text(raw, "order_id")
    state = required_text(raw, "order_state")
    created = raw.get("created_date")
    if created is None:
        raise PayloadError("created_date is missing")
    try:
        created_date = parse_datetime(created)
        updated = raw.get("last_updated_date")
        last_updated = parse_datetime(updated) if updated is not None else created_date
    except PayloadError as exc:
        raise PayloadError(f"created_date/last_updated_date: {exc}") from None
    lines_raw = raw.get("order_lines")
    if not isinstance(lines_raw, list) or not lines_raw:
        raise PayloadError("order_lines is missing or empty")
    lines = tuple(parse_line(line, i, state) for i, line in enumerate(lines_raw))
    if len({line.order_line_id for line in lines}) != len(lines):
        raise PayloadError("order_lines has duplicate order_line_id")
    channel = raw.get("channel")
    return MiraklOrder(
        order_id=order_id,
        state=state,
        created_date=created_date,
        last_updated_date=last_updated,
        currency_iso_code=required_text(raw, "currency_iso_code"),
        lines=lines,
        customer=_customer(raw.get("customer")),
        commercial_id=text(raw.get("commercial_id")),
        acceptance_decision_date=optional_datetime(raw.get("acceptance_decision_date")),
        price=money(raw.get("price"), "price"),
        shipping_price=money(raw.get("shipping_price"), "shipping_price"),
        total_price=money(raw.get("total_price"), "total_price"),
        tax_mode=text(raw.get("order_tax_mode")),
        shipping_type_code=text(raw.get("shipping_type_code")),
        shipping_type_label=text(raw.get("shipping_type_label")),
        shipping_carrier_code=text(raw.get("shipping_carrier_code")),
        shipping_tracking=text(raw.get("shipping_tracking")),
        customer_notification_email=text(raw.get("customer_notification_email")),
        payment_type=text(raw.get("payment_type")),
        channel_code=text(channel.get("code")) if isinstance(channel, Mapping) else "",
        shipping_deadline=optional_datetime(raw.get("shipping_deadline")),
        additional_fields=_additional_fields(raw.get("order_additional_fields")),
    )


def order_ref(raw: object, position: int | None = None) -> str:
    order_id = text(raw.get("order_id")).strip() if isinstance(raw, Mapping) else ""
    if order_id:
        return f"order {order_id}"
    return f"order ?#{position}" if position is not None else "order ?"


def parse_order(raw: object, *, position: int | None = None) -> MiraklOrder:
    """One OR11 order object -> MiraklOrder, or SkippableError(code="invalid_payload")."""
    ref = order_ref(raw, position)
    if not isinstance(raw, Mapping):
        raise SkippableError(ref, "order is not a JSON object", code=INVALID_PAYLOAD)
    try:
        return _parse_order(raw)
    except PayloadError as exc:
        raise SkippableError(ref, str(exc), code=INVALID_PAYLOAD) from None


def parse_orders(items: list[Any], *, offset: int = 0) -> tuple[list[MiraklOrder], list[SkippableError]]:
    orders: list[MiraklOrder] = []
    invalid: list[SkippableError] = []
    for i, raw in enumerate(items):
        try:
            orders.append(parse_order(raw, position=offset + i))
        except SkippableError as exc:
            invalid.append(exc)
    return orders, invalid


def orders_payload(payload: object) -> tuple[list[Any], int | None]:
    """The ``orders`` list and ``total_count`` of an OR11 answer (PayloadError when not that shape)."""
    if not isinstance(payload, Mapping) or not isinstance(payload.get("orders"), list):
        raise PayloadError("OR11 answer has no 'orders' list")
    total = payload.get("total_count")
    if isinstance(total, bool) or not isinstance(total, int) or total < 0:
        total = None
    return list(payload["orders"]), total


# --- offers, imports, carriers --------------------------------------------------------------------


def _int(value: object) -> int:
    try:
        return quantity(value, "count") if value is not None else 0
    except PayloadError:
        return 0


def parse_import_status(payload: object, import_id: str) -> OfferImportStatus:
    if not isinstance(payload, Mapping) or not text(payload.get("status")):
        raise PayloadError("import status answer has no 'status'")
    success, error = _int(payload.get("lines_in_success")), _int(payload.get("lines_in_error"))
    pending = _int(payload.get("lines_in_pending"))
    read = _int(payload.get("lines_read")) if "lines_read" in payload else success + error + pending
    return OfferImportStatus(
        import_id=text(payload.get("import_id")) or import_id,
        status=text(payload.get("status")),
        has_error_report=payload.get("has_error_report") is True,
        lines_read=read,
        lines_in_success=success,
        lines_in_error=error,
        lines_in_pending=pending,
        reason_status=text(payload.get("reason_status")),
    )


def parse_import_id(payload: object) -> str:
    if isinstance(payload, Mapping):
        import_id = text(payload.get("import_id")).strip()
        if import_id:
            return import_id
    raise PayloadError("import answer has no 'import_id'")


def parse_carriers(payload: object) -> list[Carrier]:
    if not isinstance(payload, Mapping) or not isinstance(payload.get("carriers"), list):
        raise PayloadError("SH21 answer has no 'carriers' list")
    out = []
    for c in payload["carriers"]:
        if isinstance(c, Mapping) and text(c.get("code")):
            out.append(
                Carrier(
                    code=text(c.get("code")),
                    label=text(c.get("label")),
                    standard_code=text(c.get("standard_code")),
                    tracking_url=text(c.get("tracking_url")),
                )
            )
    return out
