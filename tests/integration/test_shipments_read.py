"""The ship task's read of imported orders, on the test shop (orders written here by plain SQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Table, insert
from sqlalchemy.engine import Connection

from bridge.shop.shipments import imported_shipments, lock_order_state, order_state_id
from bridge.shop.shop import Shop
from bridge.state import orders as omap
from bridge.state.tables import bridge_tables

pytestmark = pytest.mark.db

PLATFORM = "sim"
NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)


def _neutral(col: Any) -> Any:
    name = type(col.type).__name__.upper()
    if "INT" in name or "NUMERIC" in name or "DECIMAL" in name or "FLOAT" in name or "BOOL" in name:
        return 0
    if "DATE" in name or "TIME" in name:
        return datetime(2025, 1, 1)
    return ""


def _insert(conn: Connection, table: Table, **values: Any) -> int:
    """Insert a row, giving every other NOT NULL column without default a neutral value."""
    row = {
        c.name: _neutral(c)
        for c in table.c
        if not c.nullable and c.server_default is None and not c.primary_key
    }
    row.update(values)
    res = conn.execute(insert(table).values(**row))
    return int(res.inserted_primary_key[0]) if res.inserted_primary_key else 0


def _order(
    conn: Connection,
    shop: Shop,
    *,
    state: int,
    history: list[tuple[int, datetime]],
    carriers: list[tuple[int, str]],
    details: list[tuple[int, int]],
    id_carrier: int = 2,
) -> int:
    """A PrestaShop order; history = (state, shop-local date); carriers = (id_carrier, tracking);
    details = (quantity, refunded)."""
    t = shop.tables
    id_order = _insert(
        conn,
        t.orders,
        reference="REFABCDEF",
        id_carrier=id_carrier,
        current_state=state,
        id_shop=1,
        id_shop_group=1,
        id_lang=1,
        id_currency=1,
        payment="Mirakl",
        date_add=datetime(2025, 6, 1, 9, 0),
        date_upd=datetime(2025, 6, 1, 9, 30),
    )
    for st, when in history:
        _insert(conn, t.order_history, id_order=id_order, id_order_state=st, id_employee=0, date_add=when)
    for carrier, tracking in carriers:
        _insert(conn, t.order_carrier, id_order=id_order, id_carrier=carrier, tracking_number=tracking)
    for qty, refunded in details:
        _insert(
            conn,
            t.order_detail,
            id_order=id_order,
            product_id=1,
            product_name="x",
            product_quantity=qty,
            product_quantity_refunded=refunded,
            id_shop=1,
        )
    return id_order


def _map(
    conn: Connection,
    prefix: str,
    order_id: str,
    id_order: int,
    *,
    status: str = omap.IMPORTED,
    platform: str = PLATFORM,
) -> None:
    t = bridge_tables(prefix)
    omap.insert_order(conn, t, platform, order_id, status=status, now=NOW)
    omap.set_status(conn, t, platform, order_id, status=status, now=NOW, id_order=id_order)


@pytest.fixture
def ps(shop: Any) -> Shop:
    return Shop.from_engine(shop.engine, shop.prefix, 1)


def read(shop: Any, ps: Shop) -> dict[str, Any]:
    with shop.engine.connect() as conn:
        order_map = bridge_tables(shop.prefix).order
        rows = imported_shipments(conn, ps, order_map, PLATFORM, statuses=[omap.IMPORTED])
    return {r.mirakl_order_id: r for r in rows}


def test_a_shipped_order_has_tracking_carrier_reference_and_shipping_time_in_utc(shop: Any, ps: Shop) -> None:
    with shop.engine.begin() as conn:
        # Paris is UTC+2 in June: 16:05 local is 14:05 UTC
        history = [(2, datetime(2025, 6, 1, 9, 0)), (4, datetime(2025, 6, 1, 16, 5))]
        id_order = _order(
            conn, ps, state=4, history=history, carriers=[(2, " 6A123 ")], details=[(1, 0), (2, 0)]
        )
        _map(conn, shop.prefix, "M-1", id_order)
    s = read(shop, ps)["M-1"]
    assert (s.id_order, s.reference, s.current_state, s.shipped) == (id_order, "REFABCDEF", 4, True)
    assert s.shipped_since == datetime(2025, 6, 1, 14, 5, tzinfo=UTC)
    assert (s.tracking_number, s.carrier_reference, s.carrier_name) == ("6A123", 1, "Colissimo")
    assert s.carrier_url == "https://www.laposte.fr/outils/suivre-vos-envois?code=@"
    assert s.units == 3


def test_an_order_on_a_deleted_carrier_version_has_the_carrier_reference(shop: Any, ps: Shop) -> None:
    with shop.engine.begin() as conn:
        id_order = _order(
            conn,
            ps,
            state=4,
            history=[(4, datetime(2025, 6, 1, 10, 0))],
            carriers=[(1, "X")],
            details=[(1, 0)],
            id_carrier=1,
        )
        _map(conn, shop.prefix, "M-1", id_order)
    assert read(shop, ps)["M-1"].carrier_reference == 1


def test_the_latest_order_carrier_row_gives_the_tracking(shop: Any, ps: Shop) -> None:
    with shop.engine.begin() as conn:
        id_order = _order(
            conn,
            ps,
            state=4,
            history=[(4, datetime(2025, 6, 1, 10, 0))],
            carriers=[(2, ""), (3, "JD0001")],
            details=[(1, 0)],
        )
        _map(conn, shop.prefix, "M-1", id_order)
    s = read(shop, ps)["M-1"]
    assert (s.tracking_number, s.carrier_reference, s.carrier_name) == ("JD0001", 3, "DHL Express")


def test_going_back_to_an_unshipped_state_restarts_the_shipping_time(shop: Any, ps: Shop) -> None:
    with shop.engine.begin() as conn:
        id_order = _order(
            conn,
            ps,
            state=5,
            history=[
                (4, datetime(2025, 1, 10, 10, 0)),
                (3, datetime(2025, 1, 10, 11, 0)),
                (4, datetime(2025, 1, 10, 12, 0)),
                (5, datetime(2025, 1, 10, 13, 0)),
            ],
            carriers=[(2, "")],
            details=[(1, 0)],
        )
        _map(conn, shop.prefix, "M-1", id_order)
    # Paris is UTC+1 in January; the second entry into a shipped state (12:00 local) counts
    assert read(shop, ps)["M-1"].shipped_since == datetime(2025, 1, 10, 11, 0, tzinfo=UTC)


def test_an_unshipped_order_has_no_shipping_time_and_refunds_lower_the_units(shop: Any, ps: Shop) -> None:
    with shop.engine.begin() as conn:
        id_order = _order(
            conn,
            ps,
            state=2,
            history=[(2, datetime(2025, 6, 1, 10, 0))],
            carriers=[(2, "")],
            details=[(3, 1), (1, 0)],
        )
        _map(conn, shop.prefix, "M-1", id_order)
    s = read(shop, ps)["M-1"]
    assert (s.shipped, s.shipped_since, s.units, s.tracking_number) == (False, None, 3, "")


def test_a_shipped_state_without_history_uses_the_order_update_time(shop: Any, ps: Shop) -> None:
    with shop.engine.begin() as conn:
        id_order = _order(conn, ps, state=4, history=[], carriers=[(2, "")], details=[(1, 0)])
        _map(conn, shop.prefix, "M-1", id_order)
    assert read(shop, ps)["M-1"].shipped_since == datetime(2025, 6, 1, 7, 30, tzinfo=UTC)


def test_only_imported_orders_of_the_platform_are_read(shop: Any, ps: Shop) -> None:
    with shop.engine.begin() as conn:
        for ref, status, platform in (
            ("M-1", omap.IMPORTED, PLATFORM),
            ("M-2", omap.SHIPPED, PLATFORM),
            ("M-3", omap.CANCELLED, PLATFORM),
            ("M-4", omap.IMPORTED, "other"),
        ):
            id_order = _order(conn, ps, state=4, history=[], carriers=[(2, "T")], details=[(1, 0)])
            _map(conn, shop.prefix, ref, id_order, status=status, platform=platform)
    assert list(read(shop, ps)) == ["M-1"]


def test_the_cancelled_state_is_found_by_configuration_key_or_id(shop: Any, ps: Shop) -> None:
    with shop.engine.connect() as conn:
        assert order_state_id(conn, ps, "PS_OS_CANCELED") == 6
        assert order_state_id(conn, ps, "6") == 6
        assert order_state_id(conn, ps, "PS_OS_NOT_A_KEY") == 0
        assert order_state_id(conn, ps, "999") == 0


def test_the_locked_re_read_gives_the_current_state_and_its_shipped_flag(shop: Any, ps: Shop) -> None:
    with shop.engine.begin() as conn:
        id_order = _order(conn, ps, state=4, history=[], carriers=[], details=[])
        assert lock_order_state(conn, ps, id_order) == (4, True)
        assert lock_order_state(conn, ps, id_order + 1000) is None
