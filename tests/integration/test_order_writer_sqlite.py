"""The order writer and change_state on the SQLite test shop (the demo's database): no server needed."""

from __future__ import annotations

from pathlib import Path

from bridge.shop.db import make_engine
from bridge.shop.order_state import change_state
from bridge.shop.order_writer import OrderWriter
from bridge.shop.shop import Shop
from bridge.state.tables import bridge_tables
from bridge.testshop.seed import build_test_shop
from tests import invariants as inv
from tests.order_samples import NOW, line, order, platform


def test_an_order_is_written_and_cancelled_on_sqlite(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    try:
        ids = build_test_shop(engine, prefix="ps_")
        bridge_tables("ps_").metadata.create_all(engine)
        shop = Shop.from_engine(engine, "ps_", ids.id_shop)
        writer = OrderWriter(shop)
        with engine.begin() as conn:
            prepared = writer.prepare(conn, order("SQ1-A", line("TSHIRT-S-BLUE", 2, "24.00", shipping="4.90"),
                                                  line("MUG", 1, "9.90")), platform())
            before = inv.stock_snapshot(conn, "ps_", {k[0] for k in prepared.draft.quantities})
            written = writer.write(conn, prepared, flag_out_of_stock=True, now=NOW)
        with engine.connect() as conn:
            assert inv.order_invariants(conn, "ps_", written.id_order) == []
            assert inv.check_stock_decrement(conn, "ps_", written.id_order, before) == []
        with engine.begin() as conn:
            change = change_state(conn, shop, written.id_order, ids.order_states["PS_OS_CANCELED"], NOW)
        assert change.stock_delta == 3
        with engine.connect() as conn:
            assert inv.order_invariants(conn, "ps_", written.id_order) == []
            assert inv.check_stock_decrement(conn, "ps_", written.id_order, before, factor=0) == []
    finally:
        engine.dispose()
