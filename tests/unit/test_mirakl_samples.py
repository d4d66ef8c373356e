"""Every Mirakl sample in ../shared/reference/mirakl-samples (hand-made and real) goes through the parser.

The samples are internal test data: they are read in place, never copied into the project.
Location: $BRIDGE_SHARED_DIR, else <repo>/../shared. Skipped when absent.
"""

from __future__ import annotations

import os
from datetime import timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bridge.errors import SkippableError
from bridge.mirakl.parsing import loads, orders_payload, parse_order, parse_orders


def _samples_dir() -> Path:
    shared = Path(
        os.environ.get("BRIDGE_SHARED_DIR") or Path(__file__).resolve().parents[2] / ".." / "shared"
    )
    return shared / "reference" / "mirakl-samples"


SAMPLES = _samples_dir()
pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"Mirakl samples not found at {SAMPLES}")

# Orders that the README says were trimmed by a third party: required keys are missing on purpose.
TRIMMED = {"leroymerlin-it-odoo-or11-1.json", "spree-mirakl-or11-1.json"}


# Samples that are not order payloads (an error body, a health answer, a product-import status).
NOT_ORDERS = {"hyperwallet-connector-error-500-1.json", "hyperwallet-connector-v01-health-1.json",
              "mirakl-magento2-seller-p42-1.json"}


def _json_files() -> list[Path]:
    if not SAMPLES.is_dir():
        return []
    return sorted([*SAMPLES.glob("*.json"), *SAMPLES.glob("real/*.json")])


def _order_files() -> list[Path]:
    return [p for p in _json_files() if p.name not in NOT_ORDERS]


def _order_dicts(data: Any) -> list[dict[str, Any]] | None:
    if isinstance(data, dict) and isinstance(data.get("orders"), list):
        return data["orders"]
    if isinstance(data, dict) and "order_lines" in data:
        return [data]  # a bare order object (Magento 2 connector fixtures)
    return None


def _check_amounts_and_dates(order: Any) -> None:
    assert order.created_date.tzinfo is not None and order.created_date.utcoffset() == timezone.utc.utcoffset(
        None
    )
    assert order.last_updated_date.tzinfo is not None
    for amount in (order.price, order.shipping_price, order.total_price):
        assert isinstance(amount, Decimal)
    for line in order.lines:
        assert isinstance(line.price, Decimal) and isinstance(line.price_unit, Decimal)
        assert all(isinstance(t.amount, Decimal) for t in (*line.taxes, *line.shipping_taxes))
        assert isinstance(line.quantity, int) and line.quantity >= 0


def test_only_the_known_non_order_samples_are_left_out() -> None:
    left_out = {p.name for p in _json_files() if _order_dicts(loads(p.read_bytes())) is None}
    assert left_out == NOT_ORDERS


@pytest.mark.parametrize("path", _order_files(), ids=lambda p: p.name)
def test_every_json_sample_parses_or_is_reported_as_invalid_payload(path: Path) -> None:
    data = loads(path.read_bytes())
    orders = _order_dicts(data)
    assert orders is not None, f"{path.name} is not an order payload"
    if isinstance(data, dict) and "orders" in data:
        items, total = orders_payload(data)
        parsed, invalid = parse_orders(items)
        assert total == data.get("total_count")
    else:
        parsed, invalid = [parse_order(orders[0])], []
    if path.name in TRIMMED:
        assert parsed == [] and len(invalid) == len(orders)
        assert all(e.code == "invalid_payload" for e in invalid)
        return
    assert invalid == []
    assert [o.order_id for o in parsed] == [o["order_id"] for o in orders]
    for order in parsed:
        _check_amounts_and_dates(order)


def test_the_trimmed_capture_names_the_missing_field() -> None:
    path = SAMPLES / "real" / "leroymerlin-it-odoo-or11-1.json"
    if not path.exists():
        pytest.skip("sample absent")
    with pytest.raises(SkippableError, match="order_id is missing"):
        parse_order(loads(path.read_bytes())["orders"][0])


def test_the_order_without_country_iso_code_keeps_its_free_text_country() -> None:
    path = SAMPLES / "real" / "mirakl-magento2-seller-or11-order-3.json"
    if not path.exists():
        pytest.skip("sample absent")
    order = parse_order(loads(path.read_bytes()))
    billing = order.customer.billing_address
    assert billing is not None
    assert (billing.country, billing.country_iso_code) == ("France Métropolitaine", "")


def test_integer_amounts_of_the_hybrid_capture_become_decimals() -> None:
    path = SAMPLES / "real" / "worten-hybrid-or11-1.json"
    if not path.exists():
        pytest.skip("sample absent")
    [order] = parse_orders(loads(path.read_bytes())["orders"])[0]
    assert order.price == Decimal("165") and isinstance(order.price, Decimal)


def test_text_fragments_are_not_json_and_are_skipped() -> None:
    fragments = sorted(SAMPLES.glob("real/*.txt"))
    assert fragments, "expected truncated .txt captures in the samples"
    for fragment in fragments:
        with pytest.raises(ValueError):
            loads(fragment.read_bytes())
