"""bridge.mirakl.parsing: OR11 JSON -> MiraklOrder, tolerant of the unknown, strict on what we act on."""

from __future__ import annotations

import copy
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest

from bridge.errors import SkippableError
from bridge.mirakl.parsing import loads, parse_datetime, parse_import_status, parse_order, parse_orders


def _order(**overrides: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "order_id": "O-1-A",
        "order_state": "WAITING_ACCEPTANCE",
        "created_date": "2025-06-02T08:14:05Z",
        "last_updated_date": "2025-06-02T08:16:40.123Z",
        "currency_iso_code": "EUR",
        "price": 25.8,
        "shipping_price": 0,
        "total_price": 25.8,
        "customer": {
            "customer_id": "C1",
            "firstname": "Zoë",
            "billing_address": None,
            "shipping_address": None,
        },
        "order_lines": [
            {
                "order_line_id": "O-1-A-1",
                "offer_sku": "MUG",
                "quantity": 2,
                "order_line_state": "WAITING_ACCEPTANCE",
                "price_unit": 12.9,
                "price": 25.8,
                "shipping_price": 0,
                "taxes": [{"code": "TVA", "amount": 4.3, "rate": 20}],
            },
        ],
        "some_future_field": {"nested": [1, 2]},
    }
    order.update(overrides)
    return loads(__import__("json").dumps(order))  # through the real decoder: floats become Decimals


def test_amounts_are_decimals_including_json_integers() -> None:
    order = parse_order(_order())
    assert order.price == Decimal("25.8") and isinstance(order.price, Decimal)
    assert order.shipping_price == Decimal("0") and isinstance(order.shipping_price, Decimal)
    assert order.lines[0].taxes[0].amount == Decimal("4.3")
    assert order.lines[0].taxes[0].rate == Decimal("20")


def test_dates_with_and_without_milliseconds_are_aware_utc() -> None:
    order = parse_order(_order())
    assert order.created_date == datetime(2025, 6, 2, 8, 14, 5, tzinfo=timezone.utc)
    assert order.last_updated_date == datetime(2025, 6, 2, 8, 16, 40, 123000, tzinfo=timezone.utc)
    assert parse_datetime("2025-06-02T10:00:00+02:00") == datetime(2025, 6, 2, 8, 0, tzinfo=timezone.utc)


def test_unknown_states_and_fields_are_kept_or_ignored() -> None:
    order = parse_order(_order(order_state="SOMETHING_NEW"))
    assert order.state == "SOMETHING_NEW"


def test_a_line_without_state_takes_the_order_state() -> None:
    raw = _order()
    del raw["order_lines"][0]["order_line_state"]
    assert parse_order(raw).lines[0].state == "WAITING_ACCEPTANCE"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda o: o.pop("order_id"), "order_id"),
        (lambda o: o.pop("order_state"), "order_state"),
        (lambda o: o.pop("order_lines"), "order_lines"),
        (lambda o: o.update(order_lines=[]), "order_lines"),
        (lambda o: o["order_lines"][0].pop("order_line_id"), "order_line_id"),
        (lambda o: o["order_lines"][0].pop("offer_sku"), "offer_sku"),
        (lambda o: o["order_lines"][0].pop("quantity"), "quantity"),
        (lambda o: o["order_lines"][0].update(quantity="abc"), "quantity"),
        (lambda o: o["order_lines"][0].update(quantity=-1), "quantity"),
        (lambda o: o["order_lines"][0].update(quantity=10**30), "quantity"),
        (lambda o: o["order_lines"][0].update(quantity=1.5), "quantity"),
        (lambda o: o["order_lines"][0].update(price="twelve"), "price"),
        (lambda o: o["order_lines"][0].update(price=Decimal("1e400")), "price"),
        (lambda o: o.update(order_lines=["not a dict"]), "order_lines[0]"),
        (lambda o: o.update(created_date="yesterday"), "created_date"),
        (lambda o: o.pop("currency_iso_code"), "currency_iso_code"),
        (lambda o: o.update(customer="nobody"), "customer"),
    ],
)
def test_a_missing_or_wrong_field_is_a_skippable_error_naming_it(mutate, field) -> None:
    raw = _order()
    mutate(raw)
    with pytest.raises(SkippableError) as err:
        parse_order(raw)
    assert err.value.code == "invalid_payload"
    assert field in err.value.reason
    assert err.value.item_ref in ("order O-1-A", "order ?")


def test_a_page_keeps_the_good_orders_and_collects_the_bad_ones() -> None:
    good = _order()
    bad = _order(order_id="O-2-A")
    bad["order_lines"][0]["quantity"] = "abc"
    orders, invalid = parse_orders([good, bad, "junk"], offset=20)
    assert [o.order_id for o in orders] == ["O-1-A"]
    assert [e.item_ref for e in invalid] == ["order O-2-A", "order ?#22"]


def test_country_iso_code_absent_or_null_and_free_text_country_are_kept_as_is() -> None:
    address = {"city": "Paris", "country": "France Métropolitaine", "street_1": "12 rue de Lübeck"}
    raw = _order()
    raw["customer"]["shipping_address"] = dict(address)
    raw["customer"]["billing_address"] = {**address, "country_iso_code": None}
    order = parse_order(raw)
    assert order.customer.shipping_address is not None
    assert order.customer.shipping_address.country == "France Métropolitaine"
    assert order.customer.shipping_address.country_iso_code == ""
    assert (
        order.customer.billing_address is not None and order.customer.billing_address.country_iso_code == ""
    )


def test_cancelations_give_the_canceled_quantity() -> None:
    raw = _order()
    raw["order_lines"][0]["cancelations"] = [{"quantity": 1, "amount": 12.9}, {"quantity": None}]
    assert parse_order(raw).lines[0].canceled_quantity == 1


def test_nan_in_a_payload_is_refused() -> None:
    raw = loads(
        '{"order_id": "X", "order_state": "S", "created_date": "2025-01-01T00:00:00Z", '
        '"currency_iso_code": "EUR", "price": NaN, '
        '"order_lines": [{"order_line_id": "1", "offer_sku": "A", "quantity": 1}]}'
    )
    with pytest.raises(SkippableError, match="price"):
        parse_order(raw)


def test_import_status_counts_and_finality() -> None:
    status = parse_import_status({"import_id": 12, "status": "RUNNING", "lines_read": 3}, "12")
    assert (status.import_id, status.is_final, status.lines_read) == ("12", False, 3)
    sto = parse_import_status(
        {
            "import_id": "ab",
            "status": "COMPLETE",
            "lines_in_success": 2,
            "lines_in_error": 1,
            "has_error_report": True,
        },
        "ab",
    )
    assert (sto.lines_read, sto.is_final, sto.has_error_report) == (3, True, True)


def test_parsing_does_not_mutate_its_input() -> None:
    raw = _order()
    before = copy.deepcopy(raw)
    parse_order(raw)
    assert raw == before
