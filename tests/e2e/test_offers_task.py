"""Task ``offers`` end to end: test shop on MariaDB → runner → real Mirakl simulator."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from bridge.config import config_from_dict
from bridge.jobs.runner import run_task
from bridge.sandbox import MiraklSimulator
from bridge.shop.catalog import shop_timezone
from bridge.state.tables import bridge_tables
from bridge.testshop.products import add_specific_price, set_stock
from bridge.testshop.schema import cached_metadata
from bridge.wiring import App

pytestmark = pytest.mark.db
KEY = "sim-key-offers-0123"
CODE = "mkp"
SKUS = {"TSHIRT-S-BLUE", "TSHIRT-S-RED", "TSHIRT-M-BLUE", "TSHIRT-M-RED", "MUG", "SOCKS", "BOOK"}


def make_app(db: Any, sim: MiraklSimulator, *, clock: Any = None, **offers: Any) -> App:
    raw = {
        "shop": {"database_url": db.url, "table_prefix": db.prefix},
        "daemon": {"min_manual_interval_s": 0},
        "platforms": [{"code": CODE, "api_url": sim.url, "api_key_env": "TEST_KEY", "max_attempts": 2,
                       "max_retry_s": 5, "read_timeout_s": 10,
                       "offers": {"import_wait_s": 5, "poll_interval_s": 0.01, "leadtime_to_ship_days": 2,
                                  **offers}}],
    }
    cfg = config_from_dict(raw, {"TEST_KEY": KEY})
    return App(cfg, clock=clock) if clock else App(cfg)


@pytest.fixture
def sim() -> Iterator[MiraklSimulator]:
    with MiraklSimulator(api_key=KEY) as simulator:
        yield simulator


def rows_of(upload_text: str) -> dict[str, dict[str, str]]:
    reader = csv.DictReader(io.StringIO(upload_text), delimiter=";", quotechar='"')
    return {row["sku"]: row for row in reader}


def offer_uploads(sim: MiraklSimulator) -> list[Any]:
    return [u for u in sim.uploads if u.endpoint == "OF01"]


def state(db: Any, sku: str) -> dict[str, Any]:
    o = bridge_tables(db.prefix).offer
    with db.engine.connect() as conn:
        return dict(conn.execute(select(o).where(o.c.platform == CODE, o.c.sku == sku)).mappings().one())


def test_first_run_sends_all_second_nothing_then_one_stock_change(shop: Any, sim: MiraklSimulator) -> None:
    app = make_app(shop, sim)
    first = run_task(app, "offers", CODE)
    assert first.status == "ok", first.to_json()
    (upload,) = offer_uploads(sim)
    assert upload.import_mode == "NORMAL"
    sent = rows_of(upload.text)
    assert set(sent) == SKUS  # DUP (twice), NOREF, EBOOK, LAMP, POSTER are not sent
    assert sent["MUG"] == {"sku": "MUG", "product-id": shop.ids.product("MUG").ean13, "product-id-type": "EAN",
                           "price": "7.92", "quantity": "12", "state": "11", "leadtime-to-ship": "2",
                           "discount-price": "", "discount-start-date": "", "discount-end-date": "",
                           "update-delete": "update"}
    assert sim.offers["TSHIRT-M-RED"]["price"] == D("24.40")
    c = first.counts
    assert (c["catalogue"], c["sellable"], c["sent"], c["accepted"], c["excluded"]) == (13, 7, 7, 7, 6)
    assert first.extra["excluded_by_reason"] == {"duplicate_sku": 2, "empty_sku": 1, "inactive": 1,
                                                 "not_available_for_order": 1, "virtual": 1}
    assert first.extra["import_id"] and first.extra["full_sync"] is True
    dup = next(i for i in first.items["not_sent"] if i["reason"] == "duplicate_sku")
    assert sorted(p["id_product"] for p in dup["products"]) == sorted(
        [shop.ids.product("DUP-1").id_product, shop.ids.product("DUP-2").id_product])
    assert state(shop, "MUG")["status"] == "accepted" and state(shop, "MUG")["quantity"] == 12

    second = run_task(app, "offers", CODE)
    assert second.status == "ok" and len(offer_uploads(sim)) == 1
    assert (second.counts["sent"], second.counts["unchanged"], second.extra["full_sync"]) == (0, 7, False)

    mug = shop.ids.product("MUG").id_product
    with shop.engine.begin() as conn:
        set_stock(conn, mug, 0, 5, prefix=shop.prefix)
    third = run_task(app, "offers", CODE)
    assert third.status == "ok" and len(offer_uploads(sim)) == 2
    assert list(rows_of(offer_uploads(sim)[-1].text)) == ["MUG"]
    assert sim.offers["MUG"]["quantity"] == 5 and state(shop, "MUG")["quantity"] == 5


def test_rejected_line_is_reported_and_retried_next_run(shop: Any) -> None:
    known = {shop.ids.product("SOCKS").ean13, shop.ids.product("BOOK").ean13, shop.ids.product("MUG").ean13,
             *(c.ean13 for c in shop.ids.product("TSHIRT").combinations.values())} - {shop.ids.product("MUG").ean13}
    with MiraklSimulator(api_key=KEY, accept_any_product=False, known_product_ids=known) as sim:
        app = make_app(shop, sim)
        first = run_task(app, "offers", CODE)
        assert first.status == "partial"
        assert [(e["ref"], e["code"]) for e in first.errors] == [("MUG", "rejected_by_mirakl")]
        assert "does not exist" in first.errors[0]["message"]
        assert (first.counts["accepted"], first.counts["rejected"]) == (6, 1)
        assert "MUG" not in sim.offers and state(shop, "MUG")["status"] == "rejected"
        second = run_task(app, "offers", CODE)
        assert list(rows_of(offer_uploads(sim)[-1].text)) == ["MUG"]
        assert second.counts["rejected"] == 1


def test_vanished_offer_is_sent_once_with_quantity_zero(shop: Any, sim: MiraklSimulator) -> None:
    app = make_app(shop, sim)
    run_task(app, "offers", CODE)
    ps = cached_metadata(shop.prefix).tables[shop.prefix + "product_shop"]
    with shop.engine.begin() as conn:
        conn.execute(update(ps).where(ps.c.id_product == shop.ids.product("SOCKS").id_product).values(active=0))
    report = run_task(app, "offers", CODE)
    assert report.counts["zeroed"] == 1
    assert rows_of(offer_uploads(sim)[-1].text)["SOCKS"]["quantity"] == "0"
    assert sim.offers["SOCKS"]["quantity"] == 0 and sim.offers["SOCKS"]["price"] == D("6.00")
    again = run_task(app, "offers", CODE)
    assert again.counts["sent"] == 0 and len(offer_uploads(sim)) == 2


def test_reduction_ending_moves_the_price_without_any_shop_change(shop: Any, sim: MiraklSimulator) -> None:
    now = datetime.now(timezone.utc)
    tz = shop_timezone(App(make_app(shop, sim).config).shop.context)
    end_local = (now + timedelta(days=2)).astimezone(tz).replace(tzinfo=None, microsecond=0)
    with shop.engine.begin() as conn:
        add_specific_price(conn, shop.ids, id_product=shop.ids.product("BOOK").id_product, reduction="0.5",
                           reduction_type="percentage", to=end_local)
    app = make_app(shop, sim, full_every_hours=24 * 365)
    first = run_task(app, "offers", CODE)
    # 10.55 before, 5.275 -> 5.28 (half up) until the end day
    book = rows_of(offer_uploads(sim)[-1].text)["BOOK"]
    assert (book["price"], book["discount-price"], book["discount-end-date"]) == (
        "10.55", "5.28", end_local.date().isoformat())
    assert first.extra["next_price_change_at"]
    later = make_app(shop, sim, clock=lambda: now + timedelta(days=3), full_every_hours=24 * 365)
    report = run_task(later, "offers", CODE)
    assert report.counts["sent"] == 1
    assert rows_of(offer_uploads(sim)[-1].text)["BOOK"]["discount-price"] == ""
    assert sim.offers["BOOK"]["discount-price"] is None and sim.offers["BOOK"]["price"] == D("10.55")


def test_dry_run_writes_the_file_and_sends_nothing(shop: Any, sim: MiraklSimulator) -> None:
    report = run_task(make_app(shop, sim), "offers", CODE, dry_run=True)
    path = Path(report.extra["csv_path"])
    try:
        assert set(rows_of(path.read_text(encoding="utf-8"))) == SKUS
        assert not sim.uploads and report.counts["sent"] == 0
    finally:
        path.unlink()
    assert run_task(make_app(shop, sim), "offers", CODE).counts["sent"] == 7  # nothing was recorded


@pytest.mark.parametrize(("bulk", "wait_s"), [(False, 1), (True, 1), (True, 0)])
def test_import_still_running_is_picked_up_by_the_next_run(shop: Any, monkeypatch: Any, bulk: bool,
                                                           wait_s: int) -> None:
    """``bulk``: the lines are loaded (LOAD DATA, forced from one line) while Mirakl processes the file,
    then rolled back when the import is still running at the end of the wait, and loaded as pending (as
    without, through the driver); with no wait (``wait_s`` 0) they are loaded as pending only."""
    from bridge.state.offers import OfferStateRepo

    monkeypatch.setattr(OfferStateRepo.__init__, "__kwdefaults__", {"bulk_load": bulk, "bulk_min_rows": 1})
    prepared: list[Any] = []
    real = OfferStateRepo.prepare_outcome

    def spy(self: Any, *args: Any) -> Any:
        prepared.append(real(self, *args))
        return prepared[-1]

    monkeypatch.setattr(OfferStateRepo, "prepare_outcome", spy)
    from bridge.state import offers_load

    loaded: list[str] = []  # the column each bulk load put the line digests in
    real_load = offers_load.load_rows
    monkeypatch.setattr(offers_load, "load_rows", lambda conn, table, cols, *a, **k: (
        loaded.append(cols[3]), real_load(conn, table, cols, *a, **k))[1])
    with MiraklSimulator(api_key=KEY, import_polls=1000) as sim:
        app = make_app(shop, sim, import_wait_s=wait_s)
        first = run_task(app, "offers", CODE)
        assert first.status == "ok" and first.extra["import_still_running"] == first.extra["import_id"]
        assert 0 < first.extra["mirakl_wait_s"] <= first.extra["duration_s"]  # the OF02 polls and pauses
        assert state(shop, "MUG")["status"] == "pending"
        second = run_task(app, "offers", CODE)
        assert second.status == "skipped" and "still running" in second.reason
        sim.advance()
        third = run_task(app, "offers", CODE)
        assert third.status == "ok" and third.counts["accepted"] == 7 and third.counts["sent"] == 0
        assert state(shop, "MUG")["status"] == "accepted" and len(offer_uploads(sim)) == 1
    assert loaded == ([] if not bulk else ["pending_hash"] if wait_s == 0 else ["hash", "pending_hash"])
    if wait_s == 0:
        assert prepared == []  # no wait to fill: nothing loaded before the outcome is known
        return
    assert len(prepared) == 1 and (prepared[0] is not None) == bulk  # only the first run had lines to load
    if bulk:
        assert not prepared[0].trans.is_active  # rolled back, closed


def _offer_state(db: Any) -> dict[str, dict[str, Any]]:
    """The offer-state rows of the platform without their timestamps (runs happen at other instants)."""
    o = bridge_tables(db.prefix).offer
    with db.engine.connect() as conn:
        rows = conn.execute(select(o).where(o.c.platform == CODE)).mappings().all()
    return {r["sku"]: {k: v for k, v in r.items() if k not in ("sent_at", "accepted_at", "updated_at")} for r in rows}


def _forget_platform(db: Any) -> None:
    t = bridge_tables(db.prefix)
    with db.engine.begin() as conn:
        for table in (t.offer, t.offer_import, t.cursor):
            conn.execute(table.delete().where(table.c.platform == CODE))


def test_the_bulk_state_write_leaves_the_state_of_the_row_by_row_write(shop: Any, monkeypatch: Any) -> None:
    """The task's outcome write through LOAD DATA (forced here from one line) and through executemany:
    same offer state after a first run with a line rejected, and after a stock change."""
    from bridge.state import offers_load
    from bridge.state.offers import OfferStateRepo

    known = {shop.ids.product("SOCKS").ean13, shop.ids.product("BOOK").ean13,
             *(c.ean13 for c in shop.ids.product("TSHIRT").combinations.values())}  # MUG unknown: rejected
    loads: list[bool] = []
    real = offers_load.load_rows

    def spy(*args: Any, direct: bool = False, **kwargs: Any) -> Any:
        loads.append(direct)
        return real(*args, direct=direct, **kwargs)

    monkeypatch.setattr(offers_load, "load_rows", spy)
    mug = shop.ids.product("MUG").id_product
    states = []
    for bulk in (True, False):
        monkeypatch.setattr(OfferStateRepo.__init__, "__kwdefaults__", {"bulk_load": bulk, "bulk_min_rows": 1})
        _forget_platform(shop)
        with shop.engine.begin() as conn:  # the seed's stock, for both runs
            set_stock(conn, mug, 0, 12, prefix=shop.prefix)
            set_stock(conn, shop.ids.product("SOCKS").id_product, 0, 40, prefix=shop.prefix)
        with MiraklSimulator(api_key=KEY, accept_any_product=False, known_product_ids=known) as sim:
            app = make_app(shop, sim)
            first = run_task(app, "offers", CODE)
            assert (first.counts["accepted"], first.counts["rejected"]) == (6, 1)
            after_first = _offer_state(shop)
            with shop.engine.begin() as conn:
                set_stock(conn, shop.ids.product("SOCKS").id_product, 0, 41, prefix=shop.prefix)
            second = run_task(app, "offers", CODE)
            assert (second.counts["accepted"], second.counts["rejected"]) == (1, 1)  # SOCKS, MUG again
            states.append((after_first, _offer_state(shop)))
    assert loads == [True, False]  # first run: no row yet, loaded straight; second: merged
    assert states[0] == states[1]
    assert states[0][0]["MUG"]["status"] == "rejected" and states[0][1]["SOCKS"]["quantity"] == 41


@pytest.mark.parametrize("first_read", ["digests", "every_row"])
def test_a_delta_run_reads_the_digests_first_then_only_the_products_left_to_build(
        shop: Any, sim: MiraklSimulator, monkeypatch: Any, first_read: str) -> None:
    """Same run with the first read of (ref, digest) only, and with that read given up (too many rows
    left to build: every row read again with its columns): same report, same file, same state."""
    from bridge.jobs import offers_pass

    reads: list[Any] = []
    real = offers_pass.stream_catalog

    def spy(*args: Any, **kwargs: Any) -> Any:
        reads.append(kwargs.get("products"))
        return real(*args, **kwargs)

    monkeypatch.setattr(offers_pass, "stream_catalog", spy)
    if first_read == "every_row":
        monkeypatch.setattr(offers_pass, "MIN_TODO", 0)
        monkeypatch.setattr(offers_pass, "MAX_TODO_SHARE", 0.0)
    now = datetime.now(timezone.utc)
    tz = shop_timezone(App(make_app(shop, sim).config).shop.context)
    ids = shop.ids
    with shop.engine.begin() as conn:  # BOOK's reduction ends in 2 days
        add_specific_price(conn, ids, id_product=ids.product("BOOK").id_product, reduction="0.5",
                           reduction_type="percentage",
                           to=(now + timedelta(days=2)).astimezone(tz).replace(tzinfo=None, microsecond=0))
    run_task(make_app(shop, sim, full_every_hours=24 * 365), "offers", CODE)
    assert reads == [None]
    with shop.engine.begin() as conn:
        set_stock(conn, ids.product("MUG").id_product, 0, 3, prefix=shop.prefix)
        set_stock(conn, ids.product("TSHIRT").id_product, ids.product("TSHIRT").combinations["TSHIRT-M-RED"].id_product_attribute,
                  4, prefix=shop.prefix)
    later = make_app(shop, sim, clock=lambda: now + timedelta(days=3), full_every_hours=24 * 365)
    report = run_task(later, "offers", CODE)
    assert report.status == "ok", report.to_json()
    c = report.counts
    assert (c["catalogue"], c["sellable"], c["changed"], c["unchanged"], c["sent"], c["excluded"]) == (13, 7, 3, 4, 3, 6)
    assert report.extra["excluded_by_reason"] == {"duplicate_sku": 2, "empty_sku": 1, "inactive": 1,
                                                  "not_available_for_order": 1, "virtual": 1}
    sent = rows_of(offer_uploads(sim)[-1].text)
    assert set(sent) == {"MUG", "TSHIRT-M-RED", "BOOK"}  # BOOK: its reduction is over (date alone)
    assert (sent["MUG"]["quantity"], sent["TSHIRT-M-RED"]["quantity"], sent["BOOK"]["discount-price"]) == ("3", "4", "")
    assert (state(shop, "MUG")["quantity"], state(shop, "BOOK")["status"]) == (3, "accepted")
    if first_read == "digests":  # only the products with a row to build: changed, or never stored (excluded)
        (products,) = reads[1:]
        assert {ids.product("MUG").id_product, ids.product("TSHIRT").id_product,
                ids.product("BOOK").id_product} <= set(products)
        assert ids.product("SOCKS").id_product not in products
    else:
        assert reads[1:] == [None]
    again = run_task(later, "offers", CODE)
    assert (again.counts["sent"], again.counts["unchanged"]) == (0, 7)
