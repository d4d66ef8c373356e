"""Reserved units read for a few products give the same figures as the whole read, for those products."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from bridge.state import orders as omap
from bridge.state.tables import bridge_tables


def _order(conn: Any, t: Any, order_id: str, status: str, lines: list[tuple[str, int, int, int]]) -> None:
    now = datetime(2025, 6, 1, 10, 0, tzinfo=timezone.utc)
    omap.insert_order(conn, t, "p1", order_id, status=omap.SEEN, now=now)
    omap.record_decisions(conn, t, "p1", order_id, [
        omap.LineDecision(order_line_id=f"{order_id}-{i}", offer_sku=f"S{pid}-{ipa}", quantity=units,
                          decision="accept", reason="", units_reserved=units, id_product=pid, id_product_attribute=ipa)
        for i, (_, pid, ipa, units) in enumerate(lines, 1)], phase="confirmed", now=now)
    omap.set_status(conn, t, "p1", order_id, status=status, now=now)


@pytest.mark.db
def test_reserved_units_of_some_products_match_the_full_read_for_them(shop: Any) -> None:
    t = bridge_tables(shop.prefix)
    with shop.engine.begin() as conn:
        _order(conn, t, "A", omap.ACCEPTED, [("", 10, 0, 2), ("", 11, 5, 1)])
        _order(conn, t, "B", omap.ACCEPTING, [("", 10, 0, 3), ("", 12, 7, 4)])
        _order(conn, t, "C", omap.IMPORTED, [("", 10, 0, 9)])  # already in PrestaShop's stock: not reserved
        everything = omap.reserved_units(conn, t)
        some = omap.reserved_units(conn, t, products=[10, 12, 99])
        none = omap.reserved_units(conn, t, products=[])
        without_b = omap.reserved_units(conn, t, products=[10], exclude=("p1", "B"))
    assert everything == {(10, 0): 5, (11, 5): 1, (12, 7): 4}
    assert some == {(10, 0): 5, (12, 7): 4}
    assert none == {}
    assert without_b == {(10, 0): 2}
