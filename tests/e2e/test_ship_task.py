"""Task ``ship`` end to end: import through the real import task, ship in PrestaShop by SQL (as the
back office does), run ``ship`` through the runner, and look at what the Mirakl simulator holds."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from import_support import API_KEY, CODE, ENV, config_dict, sku_ref
from sqlalchemy import text

from bridge.config import config_from_dict
from bridge.jobs.report import TaskReport
from bridge.jobs.runner import run_task
from bridge.sandbox import MiraklSimulator
from bridge.sandbox.orders_gen import COUNTRIES
from bridge.wiring import App, utcnow

pytestmark = pytest.mark.db

SHOP_TZ = ZoneInfo("Europe/Paris")  # PS_TIMEZONE of the test shop
SHIPPED_STATE, CANCELLED_STATE, PAYMENT_STATE = 4, 6, 2  # PS_OS_SHIPPING, PS_OS_CANCELED, PS_OS_PAYMENT
COLISSIMO_URL = "https://www.laposte.fr/outils/suivre-vos-envois?code="


@pytest.fixture
def sim() -> Iterator[MiraklSimulator]:
    with MiraklSimulator(api_key=API_KEY) as simulator:
        yield simulator


_seeds = itertools.count(1)


def add_order(sim: MiraklSimulator, skus: list[str], quantities: list[int] | None = None) -> dict[str, Any]:
    """A SHIPPING order delivered in France (taxes the test shop knows): the generator's country is its
    third random draw, so seeds are tried until that draw is France."""
    while True:
        seed = next(_seeds)
        rng = random.Random(seed)
        rng.randint(4_000_000_000, 4_999_999_999)
        rng.choice("AB")
        if rng.choice(tuple(COUNTRIES)) == "FRA":
            break
    order = sim.add_order(skus=skus, quantities=quantities, state="SHIPPING", seed=seed)
    assert order["customer"]["shipping_address"]["country_iso_code"] == "FRA"
    return order


def make_app(shop: Any, sim: MiraklSimulator, *, clock: Callable[[], datetime] = utcnow, **ship: Any) -> App:
    raw = config_dict(shop.url, sim.url, carrier_reference=shop.ids.carriers["colissimo"].id_reference)
    raw["platforms"][0]["ship"] = {"carriers": {"1": "COLISSIMO"}, **ship}
    return App(config_from_dict(raw, ENV), clock=clock)


def imported(shop: Any, sim: MiraklSimulator, *orders: dict[str, Any]) -> dict[str, int]:
    """Import the simulator's orders with the import task; Mirakl order id -> id_order."""
    report = run_task(make_app(shop, sim), "import", CODE, force=True)
    assert report.status == "ok", report.to_json()
    ids = {o["order_id"]: map_row(shop, o["order_id"])["id_order"] for o in orders}
    assert all(ids.values()), ids
    return ids


def ship_run(app: App, **kw: Any) -> TaskReport:
    return run_task(app, "ship", CODE, force=True, **kw)


def mark_shipped(shop: Any, id_order: int, *, tracking: str = "", at: datetime | None = None) -> None:
    """What the back office writes when the merchant picks "Shipped" and types the tracking number."""
    local = (at or utcnow()).astimezone(SHOP_TZ).replace(tzinfo=None, microsecond=0)
    p = shop.prefix
    with shop.engine.begin() as conn:
        conn.execute(
            text(
                f"INSERT INTO `{p}order_history` (`id_employee`, `id_order`, `id_order_state`, "
                "`date_add`) VALUES (1, :o, :s, :d)"
            ),
            {"o": id_order, "s": SHIPPED_STATE, "d": local},
        )
        conn.execute(
            text(f"UPDATE `{p}orders` SET `current_state` = :s, `date_upd` = :d WHERE `id_order` = :o"),
            {"o": id_order, "s": SHIPPED_STATE, "d": local},
        )
        conn.execute(
            text(f"UPDATE `{p}order_carrier` SET `tracking_number` = :t WHERE `id_order` = :o"),
            {"o": id_order, "t": tracking},
        )


def map_row(shop: Any, order_id: str) -> dict[str, Any]:
    with shop.engine.connect() as conn:
        row = (
            conn.execute(
                text(
                    f"SELECT `status`, `id_order`, `shipped_at`, `cancelled_at`, `mirakl_state` "
                    f"FROM `{shop.prefix}mirakl_bridge_order` WHERE `platform` = :p AND `mirakl_order_id` = :m"
                ),
                {"p": CODE, "m": order_id},
            )
            .mappings()
            .first()
        )
    assert row is not None, order_id
    return dict(row)


def ps_order(shop: Any, id_order: int) -> dict[str, Any]:
    p = shop.prefix
    with shop.engine.connect() as conn:
        state = conn.execute(
            text(f"SELECT `current_state`, `valid` FROM `{p}orders` WHERE `id_order` = :o"), {"o": id_order}
        ).one()
        history = [
            r[0]
            for r in conn.execute(
                text(
                    f"SELECT `id_order_state` FROM `{p}order_history` WHERE `id_order` = :o "
                    "ORDER BY `id_order_history`"
                ),
                {"o": id_order},
            )
        ]
    return {"current_state": state[0], "valid": state[1], "history": history}


def stock_row(shop: Any, sku: str) -> tuple[int, int, int]:
    """(quantity, reserved_quantity, physical_quantity) of the shop's stock row of ``sku``."""
    id_product, id_pa = sku_ref(shop.ids, sku)
    with shop.engine.connect() as conn:
        row = conn.execute(
            text(
                f"SELECT `quantity`, `reserved_quantity`, `physical_quantity` "
                f"FROM `{shop.prefix}stock_available` "
                "WHERE `id_product` = :p AND `id_product_attribute` = :a AND `id_shop` = 1"
            ),
            {"p": id_product, "a": id_pa},
        ).one()
    return int(row[0]), int(row[1]), int(row[2])


def writes(sim: MiraklSimulator) -> list[tuple[str, str]]:
    return [(r.endpoint, r.path) for r in sim.requests if r.endpoint in ("OR23", "OR24")]


# --- confirming shipments ---------------------------------------------------------------------------


def test_a_shipped_order_reaches_mirakl_with_its_tracking_and_a_rerun_sends_nothing(
    shop: Any, sim: MiraklSimulator
) -> None:
    shipped = add_order(sim, ["MUG"], [2])
    waiting = add_order(sim, ["SOCKS"])
    ids = imported(shop, sim, shipped, waiting)
    mark_shipped(shop, ids[shipped["order_id"]], tracking="6A0123456789")
    sim.clear_requests()

    report = ship_run(make_app(shop, sim))

    oid = shipped["order_id"]
    assert report.status == "ok", report.to_json()
    assert report.counts["confirmed"] == 1 and report.counts["checked"] == 2
    assert sim.tracking[oid] == {"carrier_code": "COLISSIMO", "tracking_number": "6A0123456789"}
    assert sim.orders[oid]["order_state"] == "SHIPPED"
    assert sim.orders[waiting["order_id"]]["order_state"] == "SHIPPING"
    assert writes(sim) == [("OR23", f"/api/orders/{oid}/tracking"), ("OR24", f"/api/orders/{oid}/ship")]
    row = map_row(shop, oid)
    assert row["status"] == "shipped" and row["shipped_at"] is not None
    assert map_row(shop, waiting["order_id"])["status"] == "imported"

    sim.clear_requests()
    again = ship_run(make_app(shop, sim))
    assert again.status == "ok" and "confirmed" not in again.counts
    assert writes(sim) == []


def test_an_unmapped_carrier_is_sent_by_name_and_tracking_url_and_reported(
    shop: Any, sim: MiraklSimulator
) -> None:
    order = add_order(sim, ["TSHIRT-S-BLUE"])
    ids = imported(shop, sim, order)
    mark_shipped(shop, ids[order["order_id"]], tracking="XY42")

    report = ship_run(make_app(shop, sim, carriers={"3": "DHL"}))  # Colissimo (reference 1) is not mapped

    oid = order["order_id"]
    assert sim.tracking[oid] == {
        "carrier_name": "Colissimo",
        "carrier_url": COLISSIMO_URL + "XY42",
        "tracking_number": "XY42",
    }
    assert sim.orders[oid]["order_state"] == "SHIPPED"
    assert report.counts["unmapped_carrier"] == 1
    assert report.items["unmapped_carrier"] == [
        {"order_id": oid, "id_order": ids[oid], "carrier_reference": 1, "carrier_name": "Colissimo"}
    ]


def test_a_mapped_code_the_platform_does_not_know_is_sent_by_name_and_reported(
    shop: Any, sim: MiraklSimulator
) -> None:
    order = add_order(sim, ["TSHIRT-S-BLUE"])
    ids = imported(shop, sim, order)
    mark_shipped(shop, ids[order["order_id"]], tracking="XY43")

    report = ship_run(make_app(shop, sim, carriers={"1": "LA_POSTE_OLD"}))

    assert sim.tracking[order["order_id"]]["carrier_name"] == "Colissimo"
    assert report.items["unknown_carrier_code"][0]["code"] == "LA_POSTE_OLD"
    assert sim.orders[order["order_id"]]["order_state"] == "SHIPPED"


def test_a_failing_carrier_list_does_not_stop_the_run(shop: Any, sim: MiraklSimulator) -> None:
    order = add_order(sim, ["TSHIRT-S-BLUE"])
    ids = imported(shop, sim, order)
    mark_shipped(shop, ids[order["order_id"]], tracking="XY44")
    sim.fail_next(10, status=503, endpoint="SH21")

    report = ship_run(make_app(shop, sim))

    assert report.status == "ok", report.to_json()
    assert "carriers_unavailable" in report.extra
    assert sim.tracking[order["order_id"]]["carrier_code"] == "COLISSIMO"
    assert sim.orders[order["order_id"]]["order_state"] == "SHIPPED"


def test_an_order_already_shipped_on_mirakl_counts_as_done_without_a_call(
    shop: Any, sim: MiraklSimulator
) -> None:
    order = add_order(sim, ["MUG"])
    ids = imported(shop, sim, order)
    sim.set_state(order["order_id"], "SHIPPED")
    mark_shipped(shop, ids[order["order_id"]], tracking="6A999")
    sim.clear_requests()

    report = ship_run(make_app(shop, sim))

    assert report.counts["confirmed"] == 1 and report.counts["already_shipped"] == 1
    assert writes(sim) == []
    assert map_row(shop, order["order_id"])["status"] == "shipped"


def test_a_refused_call_is_reported_with_mirakls_message_and_the_run_goes_on(
    shop: Any, sim: MiraklSimulator
) -> None:
    orders = [add_order(sim, ["MUG"]), add_order(sim, ["SOCKS"])]
    ids = imported(shop, sim, *orders)
    for n, order in enumerate(orders):
        mark_shipped(shop, ids[order["order_id"]], tracking=f"T-{n}")
    # the first OR23 call of the run is refused
    sim.fail_next(1, status=400, endpoint="OR23", message="The tracking number is not valid")

    report = ship_run(make_app(shop, sim))

    assert report.status == "partial"
    [error] = report.errors
    assert error["code"] == "ship_failed" and error["message"] == "The tracking number is not valid"
    failed = error["ref"].removeprefix("order ")
    [other] = [o["order_id"] for o in orders if o["order_id"] != failed]
    assert map_row(shop, failed)["status"] == "imported"
    assert sim.orders[failed]["order_state"] == "SHIPPING"
    assert map_row(shop, other)["status"] == "shipped"
    assert sim.orders[other]["order_state"] == "SHIPPED"

    retry = ship_run(make_app(shop, sim))
    assert retry.status == "ok" and retry.counts["confirmed"] == 1
    assert sim.orders[failed]["order_state"] == "SHIPPED"


def test_a_dry_run_sends_and_records_nothing(shop: Any, sim: MiraklSimulator) -> None:
    order = add_order(sim, ["MUG"])
    ids = imported(shop, sim, order)
    mark_shipped(shop, ids[order["order_id"]], tracking="6A1")
    sim.clear_requests()

    report = run_task(make_app(shop, sim), "ship", CODE, dry_run=True)

    assert report.counts["would_confirm"] == 1
    assert writes(sim) == []
    assert map_row(shop, order["order_id"])["status"] == "imported"


# --- waiting for the tracking number ----------------------------------------------------------------


def test_without_tracking_the_order_waits_then_is_confirmed_only_when_allowed(
    shop: Any, sim: MiraklSimulator
) -> None:
    order = add_order(sim, ["MUG"])
    oid = order["order_id"]
    ids = imported(shop, sim, order)
    shipped_at = utcnow().replace(microsecond=0)
    mark_shipped(shop, ids[oid], at=shipped_at)
    before = shipped_at + timedelta(minutes=179)
    after = shipped_at + timedelta(minutes=181)
    sim.clear_requests()

    strict = make_app(shop, sim, wait_for_tracking_min=180, allow_without_tracking=False)
    early = ship_run(strict, clock=lambda: before)
    assert early.items["waiting_for_tracking"] == [
        {"order_id": oid, "id_order": ids[oid], "reason": "no_tracking", "remaining_min": 1, "overdue": False}
    ]
    late = ship_run(strict, clock=lambda: after)
    assert late.items["waiting_for_tracking"][0]["overdue"] is True
    assert writes(sim) == []

    lenient = make_app(shop, sim, wait_for_tracking_min=180, allow_without_tracking=True)
    assert ship_run(lenient, clock=lambda: before).counts["waiting_for_tracking"] == 1
    assert writes(sim) == []
    confirmed = ship_run(lenient, clock=lambda: after)
    assert confirmed.counts["confirmed"] == 1
    assert writes(sim) == [("OR24", f"/api/orders/{oid}/ship")]  # no tracking, so no OR23
    assert sim.orders[oid]["order_state"] == "SHIPPED"
    assert oid not in sim.tracking


def test_a_tracking_number_typed_during_the_wait_is_sent(shop: Any, sim: MiraklSimulator) -> None:
    order = add_order(sim, ["MUG"])
    oid = order["order_id"]
    ids = imported(shop, sim, order)
    mark_shipped(shop, ids[oid])
    app = make_app(shop, sim)
    assert ship_run(app).counts["waiting_for_tracking"] == 1
    with shop.engine.begin() as conn:
        conn.execute(
            text(
                f"UPDATE `{shop.prefix}order_carrier` SET `tracking_number` = 'LATE1' WHERE `id_order` = :o"
            ),
            {"o": ids[oid]},
        )

    assert ship_run(app).counts["confirmed"] == 1
    assert sim.tracking[oid] == {"carrier_code": "COLISSIMO", "tracking_number": "LATE1"}


# --- cancellations on Mirakl ------------------------------------------------------------------------


def test_a_cancelled_order_is_cancelled_in_prestashop_and_its_stock_comes_back_exactly_once(
    shop: Any, sim: MiraklSimulator
) -> None:
    before = stock_row(shop, "MUG")
    order = add_order(sim, ["MUG"], [2])
    oid = order["order_id"]
    ids = imported(shop, sim, order)
    q0, r0, p0 = before
    assert stock_row(shop, "MUG") == (q0 - 2, r0 + 2, p0)  # the import took 2 units and reserved them
    for line in order["order_lines"]:
        sim.cancel_line(oid, line["order_line_id"])
    app = make_app(shop, sim, sync_cancellations=True)

    report = ship_run(app)

    assert report.status == "ok", report.to_json()
    assert report.items["cancelled"] == [
        {
            "order_id": oid,
            "id_order": ids[oid],
            "mirakl_state": "CANCELED",
            "prestashop": "cancelled",
            "note": "moved to the cancelled state in PrestaShop",
        }
    ]
    assert stock_row(shop, "MUG") == before
    after_first = ps_order(shop, ids[oid])
    assert after_first["current_state"] == CANCELLED_STATE and after_first["valid"] == 0
    assert after_first["history"][-1] == CANCELLED_STATE
    row = map_row(shop, oid)
    assert row["status"] == "cancelled" and row["cancelled_at"] is not None

    second = ship_run(app)
    assert "cancelled" not in second.counts
    assert stock_row(shop, "MUG") == before
    assert ps_order(shop, ids[oid]) == after_first


def test_without_sync_a_cancelled_order_is_only_reported(shop: Any, sim: MiraklSimulator) -> None:
    order = add_order(sim, ["MUG"], [2])
    oid = order["order_id"]
    ids = imported(shop, sim, order)
    taken = stock_row(shop, "MUG")
    history = ps_order(shop, ids[oid])
    sim.cancel_line(oid, order["order_lines"][0]["order_line_id"])

    report = ship_run(make_app(shop, sim, sync_cancellations=False))

    assert report.items["cancelled"][0]["prestashop"] == "unchanged"
    assert ps_order(shop, ids[oid]) == history
    assert stock_row(shop, "MUG") == taken
    assert map_row(shop, oid)["status"] == "cancelled"
    assert "cancelled" not in ship_run(make_app(shop, sim)).counts  # reported once


def test_a_cancelled_line_is_reported_and_prestashop_left_alone(shop: Any, sim: MiraklSimulator) -> None:
    order = add_order(sim, ["MUG", "SOCKS"], [1, 2])
    oid = order["order_id"]
    ids = imported(shop, sim, order)
    history = ps_order(shop, ids[oid])
    socks_line = order["order_lines"][1]["order_line_id"]
    sim.cancel_line(oid, socks_line)

    report = ship_run(make_app(shop, sim, sync_cancellations=True))

    assert report.items["partially_cancelled"] == [
        {
            "order_id": oid,
            "id_order": ids[oid],
            "prestashop_units": 3,
            "live_units": 1,
            "cancelled_lines": [socks_line],
            "prestashop": "unchanged",
        }
    ]
    assert ps_order(shop, ids[oid]) == history
    assert map_row(shop, oid)["status"] == "imported"


def test_an_order_shipped_in_prestashop_but_cancelled_on_mirakl_is_reported_as_a_conflict(
    shop: Any, sim: MiraklSimulator
) -> None:
    order = add_order(sim, ["MUG"])
    oid = order["order_id"]
    ids = imported(shop, sim, order)
    mark_shipped(shop, ids[oid], tracking="6A5")
    sim.cancel_line(oid, order["order_lines"][0]["order_line_id"])
    sim.clear_requests()

    report = ship_run(make_app(shop, sim, sync_cancellations=True))

    assert [e["code"] for e in report.errors] == ["cancelled_after_shipping"]
    assert ps_order(shop, ids[oid])["current_state"] == SHIPPED_STATE
    assert writes(sim) == []
    assert map_row(shop, oid)["status"] == "cancelled"
