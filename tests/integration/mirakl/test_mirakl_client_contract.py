"""Contract of MiraklClient against the HTTP simulator, endpoint by endpoint (no faults here)."""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from bridge.errors import MiraklFatalError, MiraklNotFoundError
from bridge.mirakl import Carrier, MiraklClient
from bridge.sandbox import MiraklSimulator, generate_orders

SKUS = ["MUG-1", "POT-2", "SPAT-3", "PLAID-4"]


def test_every_request_carries_the_raw_key_json_accept_and_the_shop_id(
    sim: MiraklSimulator, make_client
) -> None:
    client = make_client(shop_id=42)
    client.account()
    req = sim.requests[-1]
    assert req.authorized is True  # Authorization == key exactly: no "Bearer " prefix
    assert req.headers["Accept"] == "application/json"
    assert req.query == {"shop_id": "42"}
    assert req.endpoint == "A01"


def test_account_returns_the_json_object(client: MiraklClient) -> None:
    assert client.account()["shop_state"] == "OPEN"


def test_carriers_are_parsed_sorted_by_label(client: MiraklClient) -> None:
    carriers = client.carriers()
    assert [c.code for c in carriers] == ["CHRONOPOST", "COLISSIMO", "DHL"]
    assert carriers[1] == Carrier(
        code="COLISSIMO",
        label="Colissimo",
        standard_code="COLISSIMO",
        tracking_url="https://www.laposte.fr/outils/suivre-vos-envois?code={trackingId}",
    )


def test_250_orders_with_page_size_100_take_3_requests_at_offsets_0_100_200(sim, client) -> None:
    sim.add_orders(generate_orders(250, SKUS, seed=7))
    pages = list(client.iter_order_pages(states=["WAITING_ACCEPTANCE"], page_size=100))
    assert [len(p.orders) for p in pages] == [100, 100, 50]
    assert [p.offset for p in pages] == [0, 100, 200]
    assert all(p.total_count == 250 for p in pages)
    queries = [r.query for r in sim.requests_to("OR11")]
    assert [(q["offset"], q["max"]) for q in queries] == [("0", "100"), ("100", "100"), ("200", "100")]
    assert queries[0]["order_state_codes"] == "WAITING_ACCEPTANCE"
    ids = [o.order_id for p in pages for o in p.orders]
    assert len(set(ids)) == 250


def test_250_order_ids_are_sent_in_3_chunks_of_at_most_100(sim, client) -> None:
    orders = generate_orders(250, SKUS, seed=8)
    sim.add_orders(orders)
    wanted = [o["order_id"] for o in orders]
    found, invalid = client.list_orders(order_ids=wanted)
    assert invalid == []
    assert sorted(o.order_id for o in found) == sorted(wanted)
    chunks = [r.query["order_ids"].split(",") for r in sim.requests_to("OR11")]
    assert [len(c) for c in chunks] == [100, 100, 50]
    assert [i for c in chunks for i in c] == wanted


def test_an_empty_order_id_list_sends_no_request(sim, client) -> None:
    assert client.list_orders(order_ids=[]) == ([], [])
    assert sim.requests_to("OR11") == []


def test_start_update_date_is_sent_as_utc_seconds_with_z_and_filters(sim, client) -> None:
    sim.add_orders(generate_orders(3, SKUS, seed=1, start=datetime(2025, 6, 1, tzinfo=timezone.utc)))
    sim.add_orders(generate_orders(2, SKUS, seed=2, start=datetime(2025, 7, 1, tzinfo=timezone.utc)))
    paris = timezone(timedelta(hours=2))
    found, _ = client.list_orders(
        start_update_date=datetime(2025, 6, 20, 2, 0, 0, 123456, tzinfo=paris), tax_mode="TAX_EXCLUDED"
    )
    assert sim.requests_to("OR11")[0].query["start_update_date"] == "2025-06-20T00:00:00Z"
    assert sim.requests_to("OR11")[0].query["order_tax_mode"] == "TAX_EXCLUDED"
    assert len(found) == 2


def test_a_naive_start_update_date_is_refused(client) -> None:
    with pytest.raises(ValueError):
        client.list_orders(start_update_date=datetime(2025, 6, 1))


def test_tax_excluded_prices_are_the_included_prices_minus_the_taxes(sim, client) -> None:
    sim.add_order(order_id="TAX-1", skus=["MUG-1"], quantities=[2], prices={"MUG-1": Decimal("12.00")})
    incl = client.list_orders(order_ids=["TAX-1"], tax_mode="TAX_INCLUDED")[0][0]
    excl = client.list_orders(order_ids=["TAX-1"], tax_mode="TAX_EXCLUDED")[0][0]
    tax = incl.lines[0].taxes[0].amount
    # 24.00 tax included; the VAT rate depends on the generated country, so take it from the order
    rate = incl.lines[0].taxes[0].rate
    assert tax == (Decimal("24.00") * rate / (100 + rate)).quantize(Decimal("0.01"))
    assert incl.lines[0].price == Decimal("24.00")
    assert excl.lines[0].price == Decimal("24.00") - tax
    assert excl.tax_mode == "TAX_EXCLUDED"
    assert excl.lines[0].taxes == incl.lines[0].taxes


def test_get_order_returns_none_for_an_unknown_id(client) -> None:
    assert client.get_order("NOPE-1") is None


def test_accept_order_sends_every_line_decision_and_moves_the_order_on(sim, client) -> None:
    sim.add_order(order_id="ACC-1", skus=["MUG-1", "POT-2"])
    assert client.accept_order("ACC-1", {"ACC-1-1": True, "ACC-1-2": False}) == "done"
    assert sim.decisions["ACC-1"] == [
        {"order_lines": [{"accepted": True, "id": "ACC-1-1"}, {"accepted": False, "id": "ACC-1-2"}]}
    ]
    order = client.get_order("ACC-1")
    assert order is not None
    assert order.state == "WAITING_DEBIT_PAYMENT"
    assert [line.state for line in order.lines] == ["WAITING_DEBIT_PAYMENT", "REFUSED"]
    assert order.customer.shipping_address is None  # hidden until SHIPPING
    order = client.get_order("ACC-1")  # one OR11 poll later the operator has debited the customer
    assert order is not None and order.state == "SHIPPING"
    assert order.customer.shipping_address is not None
    assert order.customer.shipping_address.country_iso_code in {"FRA", "BEL", "DEU", "ESP", "ITA"}


def test_accepting_an_already_accepted_order_reports_already_decided(sim, client) -> None:
    sim.add_order(order_id="ACC-2", skus=["MUG-1"])
    assert client.accept_order("ACC-2", {"ACC-2-1": True}) == "done"
    assert client.accept_order("ACC-2", {"ACC-2-1": True}) == "already_decided"
    assert len(sim.decisions["ACC-2"]) == 1


def test_a_decision_missing_a_line_is_a_fatal_error_with_mirakls_message(sim, client) -> None:
    sim.add_order(order_id="ACC-3", skus=["MUG-1", "POT-2"])
    with pytest.raises(MiraklFatalError) as err:
        client.accept_order("ACC-3", {"ACC-3-1": True})
    assert err.value.status == 400
    assert "ACC-3-2" in err.value.mirakl_message


def test_accepting_an_unknown_order_raises_not_found(client) -> None:
    with pytest.raises(MiraklNotFoundError):
        client.accept_order("GHOST-1", {"GHOST-1-1": True})


def test_tracking_then_ship_then_ship_again(sim, client) -> None:
    sim.add_order(order_id="SHP-1", skus=["MUG-1"], state="SHIPPING")
    assert client.update_tracking("SHP-1", carrier_code="COLISSIMO", tracking_number="6A0001") == "done"
    assert sim.tracking["SHP-1"] == {"carrier_code": "COLISSIMO", "tracking_number": "6A0001"}
    assert sim.requests_to("OR23")[0].json() == {"carrier_code": "COLISSIMO", "tracking_number": "6A0001"}
    assert client.ship_order("SHP-1") == "done"
    assert sim.requests_to("OR24")[0].body == b""
    assert sim.orders["SHP-1"]["order_state"] == "SHIPPED"
    assert client.ship_order("SHP-1") == "already_shipped"


def test_unregistered_carrier_is_sent_with_name_and_url(sim, client) -> None:
    sim.add_order(order_id="SHP-2", skus=["MUG-1"], state="SHIPPING")
    client.update_tracking(
        "SHP-2",
        carrier_name="Coursier Dupont",
        carrier_url="https://dupont.example/t/{trackingId}",
        tracking_number="D-77",
    )
    order = client.get_order("SHP-2")
    assert order is not None and order.shipping_tracking == "D-77"


def test_shipping_an_order_not_yet_debited_is_fatal(sim, client) -> None:
    sim.add_order(order_id="SHP-3", skus=["MUG-1"], state="WAITING_DEBIT_PAYMENT")
    with pytest.raises(MiraklFatalError) as err:
        client.ship_order("SHP-3")
    assert "Current status is WAITING_DEBIT_PAYMENT" in err.value.mirakl_message


def test_offer_import_round_trip_with_polling_and_error_report(sim, client) -> None:
    csv_text = (
        '"sku";"product-id";"product-id-type";"price";"quantity";"update-delete"\n'
        '"MUG-1";"3700000000017";"EAN";"12.90";"48";"update"\n'
        '"POT-2";"3700000000024";"EAN";"abc";"7";"update"\n'
    )
    import_id = client.import_offers(csv_text)
    upload = sim.uploads[0]
    assert (upload.endpoint, upload.import_id, upload.import_mode, upload.text) == (
        "OF01",
        import_id,
        "NORMAL",
        csv_text,
    )
    first = client.offer_import_status(import_id)
    assert first.is_final is False
    final = client.offer_import_status(import_id)
    assert (final.status, final.lines_read, final.lines_in_success, final.lines_in_error) == (
        "COMPLETE",
        2,
        1,
        1,
    )
    assert final.has_error_report and final.is_final
    errors = client.offer_import_errors(import_id)
    assert len(errors) == 1
    assert (errors[0].sku, errors[0].line) == ("POT-2", 3)
    assert "price" in errors[0].message
    assert errors[0].row["price"] == "abc"
    assert sim.offers == {
        "MUG-1": {
            "sku": "MUG-1",
            "product-id": "3700000000017",
            "product-id-type": "EAN",
            "price": Decimal("12.90"),
            "quantity": 48,
        }
    }


def test_replace_mode_needs_an_explicit_allow(client) -> None:
    with pytest.raises(ValueError, match="REPLACE"):
        client.import_offers('"sku"\n', import_mode="REPLACE")


def test_unknown_import_status_is_not_found(client) -> None:
    with pytest.raises(MiraklNotFoundError):
        client.offer_import_status("999999")


def test_stock_import_round_trip(sim, client) -> None:
    sim.set_offer("MUG-1", price=Decimal("12.90"), quantity=1)
    import_id = client.import_stock(
        '"offer-sku";"quantity";"warehouse-code";"update-delete"\n'
        '"MUG-1";"30";"WH-LYON";""\n"MUG-1";"18";"WH-LILLE";""\n'
    )
    assert client.stock_import_status(import_id).status in ("WAITING", "RUNNING")
    status = client.stock_import_status(import_id)
    assert (status.status, status.lines_in_success, status.lines_in_error) == ("COMPLETE", 2, 0)
    assert sim.offers["MUG-1"]["quantity"] == 48


def test_a_platform_without_sto01_answers_404_as_not_found(client, sim) -> None:
    sim.sto01_enabled = False
    with pytest.raises(MiraklNotFoundError):
        client.import_stock('"offer-sku";"quantity"\n"MUG-1";"3"\n')


def test_on_request_hook_sees_endpoint_status_and_duration(make_client) -> None:
    seen = []
    client = make_client(on_request=lambda code, status, duration: seen.append((code, status, duration >= 0)))
    client.account()
    assert seen == [("A01", 200, True)]


def test_offer_import_from_a_file_streams_the_same_upload(sim, client, tmp_path) -> None:
    csv_text = (
        '"sku";"product-id";"product-id-type";"price";"quantity";"update-delete"\n'
        '"MUG-1";"3700000000017";"EAN";"12.90";"48";"update"\n'
        '"THÉ-2";"3700000000024";"EAN";"3.50";"7";"update"\n'
    )
    path = tmp_path / "offers.csv"
    path.write_text(csv_text, encoding="utf-8")
    by_path = client.import_offers_file(path)
    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as stream:  # as the offers task spools it
        stream.write(csv_text)
        stream.seek(0)
        by_stream = client.import_offers_file(stream, import_mode="NORMAL")
    by_text = client.import_offers(csv_text)
    assert [(u.endpoint, u.import_id, u.import_mode, u.text) for u in sim.uploads] == [
        ("OF01", by_path, "NORMAL", csv_text), ("OF01", by_stream, "NORMAL", csv_text),
        ("OF01", by_text, "NORMAL", csv_text)]
    with pytest.raises(ValueError, match="REPLACE"):
        client.import_offers_file(path, import_mode="REPLACE")
