"""The simulator behaves like a Mirakl platform: shapes, offer import semantics, order lifecycle."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bridge.mirakl.parsing import loads, parse_orders
from bridge.sandbox import MiraklSimulator, generate_orders

SKUS = ["MUG-1", "POT-2", "SPAT-3", "PLAID-4"]
SAMPLE = Path(
    os.environ.get("BRIDGE_SHARED_DIR") or Path(__file__).resolve().parents[3] / ".." / "shared"
) / ("reference/mirakl-samples/or11-page-shipping-offset0.json")


def _get(sim: MiraklSimulator, path: str, key: str | None = None) -> tuple[int, Any]:
    req = urllib.request.Request(sim.url + path, headers={"Authorization": key or sim.api_key})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, loads(err.read())


def _upload(sim: MiraklSimulator, csv_text: str, mode: str = "NORMAL") -> str:
    boundary = "----simtest"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="import_mode"\r\n\r\n{mode}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="o.csv"\r\n'
        f"Content-Type: text/csv\r\n\r\n{csv_text}\r\n--{boundary}--\r\n"
    ).encode()
    req = urllib.request.Request(
        sim.url + "/api/offers/imports",
        data=body,
        method="POST",
        headers={"Authorization": sim.api_key, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert resp.status == 201
        return str(json.loads(resp.read())["import_id"])


def _status(sim: MiraklSimulator, import_id: str) -> dict[str, Any]:
    status, body = _get(sim, f"/api/offers/imports/{import_id}")
    assert status == 200
    return body


# --- shapes ------------------------------------------------------------------------------------------


def test_generated_orders_parse_and_have_the_sample_key_sets(sim: MiraklSimulator) -> None:
    if not SAMPLE.exists():
        pytest.skip(f"hand-made sample not found at {SAMPLE}")
    sample = json.loads(SAMPLE.read_text(encoding="utf-8"))["orders"][0]
    sim.add_orders(generate_orders(20, SKUS, seed=3, state="SHIPPING"))
    status, page = _get(sim, "/api/orders?max=100")
    assert status == 200 and page["total_count"] == 20
    orders, invalid = parse_orders(page["orders"])
    assert len(orders) == 20 and invalid == []
    for raw in page["orders"]:
        assert set(raw) == set(sample)
        assert all(set(line) == set(sample["order_lines"][0]) for line in raw["order_lines"])
        assert set(raw["customer"]) == set(sample["customer"])
        assert set(raw["customer"]["billing_address"]) == set(sample["customer"]["billing_address"])
        assert set(raw["customer"]["shipping_address"]) == set(sample["customer"]["shipping_address"])


def test_generated_orders_are_deterministic_and_hostile_in_the_right_ways() -> None:
    a = generate_orders(60, SKUS, seed=11, currencies=("EUR", "GBP"))
    assert a == generate_orders(60, SKUS, seed=11, currencies=("EUR", "GBP"))
    assert a != generate_orders(60, SKUS, seed=12, currencies=("EUR", "GBP"))
    text = json.dumps(a, default=str, ensure_ascii=False)
    assert any(len(c.encode()) == 4 for c in text)  # 4-byte emoji
    names = [o["customer"]["lastname"] for o in a]
    assert any("'" in n for n in names) and any("\\" in n for n in names)
    streets = [o["customer"]["shipping_address"]["street_1"] for o in a]
    assert any(len(s) > 128 for s in streets)
    assert any(o["customer"]["shipping_address"]["phone"] is None for o in a)
    assert any(o["customer"]["billing_address"]["company"] is None for o in a)
    assert {o["currency_iso_code"] for o in a} == {"EUR", "GBP"}
    assert {o["shipping_price"] == 0 for o in a} == {True, False}
    assert {o["customer"]["shipping_address"]["country_iso_code"] for o in a} <= {
        "FRA",
        "BEL",
        "DEU",
        "ESP",
        "ITA",
    }
    assert any(len(o["order_lines"]) > 1 for o in a)


def test_generated_taxes_are_the_vat_included_in_the_prices() -> None:
    for order in generate_orders(30, SKUS, seed=2):
        for line in order["order_lines"]:
            assert line["price"] == line["price_unit"] * line["quantity"]
            [tax] = line["taxes"]
            expected = (line["price"] * tax["rate"] / (100 + tax["rate"])).quantize(Decimal("0.01"))
            assert tax["amount"] == expected
            if order["customer"]["shipping_address"]["country_iso_code"] == "FRA":
                assert tax["rate"] == Decimal("20")
        assert order["price"] == sum(line["price"] for line in order["order_lines"])


def test_a_wrong_key_gets_mirakls_401_body(sim: MiraklSimulator) -> None:
    assert _get(sim, "/api/orders", key="Bearer " + sim.api_key) == (
        401,
        {"message": "Unauthorized", "status": 401},
    )


def test_or11_defaults_to_10_per_page_sorted_by_creation_date_and_refuses_max_over_100(sim) -> None:
    orders = generate_orders(15, SKUS, seed=4)
    sim.add_orders(reversed(orders))
    status, page = _get(sim, "/api/orders")
    assert status == 200 and page["total_count"] == 15
    assert [o["order_id"] for o in page["orders"]] == [o["order_id"] for o in orders[:10]]
    assert _get(sim, "/api/orders?max=101")[0] == 400


def test_addresses_are_hidden_until_shipping(sim) -> None:
    sim.add_order(order_id="HID-1", skus=["MUG-1"])
    _, page = _get(sim, "/api/orders?order_ids=HID-1")
    assert page["orders"][0]["customer"]["shipping_address"] is None
    sim.set_state("HID-1", "SHIPPING")
    _, page = _get(sim, "/api/orders?order_ids=HID-1")
    assert page["orders"][0]["customer"]["shipping_address"]["street_1"]


# --- order lifecycle ---------------------------------------------------------------------------------


def test_refusing_every_line_refuses_the_order_and_bumps_last_updated() -> None:
    sim_clock = [datetime(2025, 6, 2, 9, 0, tzinfo=timezone.utc)]
    with MiraklSimulator(api_key="k-123456", clock=lambda: sim_clock[0]) as sim:
        sim.add_order(order_id="REF-1", skus=["MUG-1", "POT-2"])
        sim_clock[0] = datetime(2025, 6, 2, 10, 30, tzinfo=timezone.utc)
        req = urllib.request.Request(
            sim.url + "/api/orders/REF-1/accept",
            method="PUT",
            headers={"Authorization": "k-123456"},
            data=json.dumps(
                {"order_lines": [{"accepted": False, "id": "REF-1-1"}, {"accepted": False, "id": "REF-1-2"}]}
            ).encode(),
        )
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert resp.status == 204
        order = sim.orders["REF-1"]
        assert order["order_state"] == "REFUSED"
        assert [ln["order_line_state"] for ln in order["order_lines"]] == ["REFUSED", "REFUSED"]
        assert order["last_updated_date"] == "2025-06-02T10:30:00Z"
        assert order["acceptance_decision_date"] == "2025-06-02T10:30:00Z"


def test_operator_cancellation_of_every_line_cancels_the_order(sim) -> None:
    sim.add_order(order_id="CAN-1", skus=["MUG-1", "POT-2"], state="SHIPPING")
    sim.cancel_line("CAN-1", "CAN-1-1")
    assert sim.orders["CAN-1"]["order_state"] == "SHIPPING"
    _, page = _get(sim, "/api/orders?order_ids=CAN-1")
    live_price = page["orders"][0]["order_lines"][1]["price"]
    assert page["orders"][0]["price"] == live_price  # cancelled line left out of the totals
    sim.cancel_line("CAN-1", "CAN-1-2")
    assert sim.orders["CAN-1"]["order_state"] == "CANCELED"


def test_or24_outside_shipping_answers_current_status(sim) -> None:
    sim.add_order(order_id="S-1", skus=["MUG-1"])
    req = urllib.request.Request(
        sim.url + "/api/orders/S-1/ship", method="PUT", headers={"Authorization": sim.api_key}
    )
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=5)
    assert err.value.code == 400
    assert "Current status is WAITING_ACCEPTANCE" in json.loads(err.value.read())["message"]


def test_advance_debits_accepted_orders_at_once(sim, client) -> None:
    sim.add_order(order_id="ADV-1", skus=["MUG-1"])
    client.accept_order("ADV-1", {"ADV-1-1": True})
    sim.advance()
    assert sim.orders["ADV-1"]["order_state"] == "SHIPPING"


# --- offer imports ----------------------------------------------------------------------------------------


def test_normal_mode_updates_only_the_columns_present_and_deletes_on_request(sim) -> None:
    sim.set_offer(
        "MUG-1", price=Decimal("12.90"), quantity=5, **{"product-id": "370001", "leadtime-to-ship": "2"}
    )
    sim.set_offer("POT-2", price=Decimal("54.00"), quantity=7)
    import_id = _upload(sim, '"sku";"quantity";"update-delete"\n"MUG-1";"0";"update"\n"POT-2";"";"delete"\n')
    assert _status(sim, import_id)["status"] == "RUNNING"
    assert sim.offers["MUG-1"]["quantity"] == 5  # not applied before the import completes
    final = _status(sim, import_id)
    assert (final["status"], final["lines_in_success"], final["lines_in_error"]) == ("COMPLETE", 2, 0)
    assert sim.offers == {
        "MUG-1": {
            "sku": "MUG-1",
            "price": Decimal("12.90"),
            "quantity": 0,
            "product-id": "370001",
            "leadtime-to-ship": "2",
        }
    }


def test_line_errors_are_reported_with_their_original_columns(sim) -> None:
    sim.set_offer("MUG-1", price=Decimal("12.90"), quantity=5)
    csv_text = (
        '"sku";"product-id";"price";"quantity";"discount-price"\n'
        '"";"1";"1.00";"1";""\n'
        '"NEW-1";"";"1.00";"1";""\n'
        '"MUG-1";"";"-3";"1";""\n'
        '"MUG-1";"";"12.90";"1.5";""\n'
        '"MUG-1";"";"12.90";"4";"13.00"\n'
        '"NEW-2";"999";"9.90";"3";""\n'
    )
    import_id = _upload(sim, csv_text)
    _status(sim, import_id)
    final = _status(sim, import_id)
    assert (final["lines_in_success"], final["lines_in_error"], final["has_error_report"]) == (1, 5, True)
    req = urllib.request.Request(
        f"{sim.url}/api/offers/imports/{import_id}/error_report", headers={"Authorization": sim.api_key}
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        report = resp.read().decode()
    lines = report.splitlines()
    assert lines[0] == '"sku";"product-id";"price";"quantity";"discount-price";"error-line";"error-message"'
    assert [line.split(";")[5] for line in lines[1:]] == ['"2"', '"3"', '"4"', '"5"', '"6"']
    assert "sku is missing" in lines[1]
    assert "product-id is required" in lines[2]
    assert "price is invalid" in lines[3]
    assert "quantity is invalid" in lines[4]
    assert "discount price must be lower" in lines[5]
    assert sim.offers["NEW-2"]["quantity"] == 3


def test_a_file_without_sku_column_fails_the_whole_import(sim) -> None:
    import_id = _upload(sim, '"offer";"price"\n"A";"1.00"\n')
    _status(sim, import_id)
    final = _status(sim, import_id)
    assert final["status"] == "FAILED" and "sku" in final["reason_status"]


def test_unknown_product_ids_are_rejected_when_the_catalogue_is_closed() -> None:
    with MiraklSimulator(
        api_key="k-123456", accept_any_product=False, known_product_ids={"370001"}, import_polls=0
    ) as sim:
        import_id = _upload(
            sim, '"sku";"product-id";"price";"quantity"\n"A";"370001";"1.00";"1"\n"B";"370002";"1.00";"1"\n'
        )
        final = _status(sim, import_id)
        assert (final["status"], final["lines_in_success"], final["lines_in_error"]) == ("COMPLETE", 1, 1)
        assert set(sim.offers) == {"A"}
