"""The pending-line write of the offer state (driver executemany fast path) stores exactly what it is given."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from bridge.state.offers import OfferStateRepo, PendingLine


def _pending_rows(engine: Any, repo: OfferStateRepo) -> dict[str, tuple[Any, ...]]:
    o = repo.offer
    with engine.connect() as conn:
        rows = conn.execute(
            select(o.c.sku, o.c.id_product, o.c.id_product_attribute, o.c.status, o.c.pending_hash,
                   o.c.pending_import_id, o.c.pending_quantity, o.c.pending_price, o.c.pending_discount_price,
                   o.c.pending_discount_start, o.c.pending_discount_end, o.c.sent_at, o.c.updated_at)
        ).all()
    return {r[0]: tuple(r[1:]) for r in rows}


@pytest.mark.db
def test_pending_lines_read_back_with_their_money_dates_and_empty_cells(shop: Any) -> None:
    repo = OfferStateRepo(shop.engine, shop.prefix)
    now = datetime(2025, 3, 30, 1, 30, 15, 250000, tzinfo=timezone.utc)
    lines = [
        PendingLine("A-1", 7, 0, bytes(range(16)), 3, Decimal("19.90")),
        PendingLine("B-2", 8, 41, b"\xff" * 16, 0, Decimal("1234.50"), Decimal("999.99"), date(2025, 3, 30),
                    date(2025, 4, 2)),
    ]
    assert repo.write_pending("p1", lines, "run:abc", now) == 2
    got = _pending_rows(shop.engine, repo)
    stamp = datetime(2025, 3, 30, 1, 30, 15, tzinfo=timezone.utc)  # DATETIME keeps whole seconds
    assert got["A-1"] == (7, 0, "pending", "000102030405060708090a0b0c0d0e0f", "run:abc", 3, Decimal("19.900000"),
                          None, None, None, stamp, stamp)
    assert got["B-2"] == (8, 41, "pending", "ff" * 16, "run:abc", 0, Decimal("1234.500000"), Decimal("999.990000"),
                          datetime(2025, 3, 30, tzinfo=timezone.utc), datetime(2025, 4, 2, tzinfo=timezone.utc),
                          stamp, stamp)


@pytest.mark.db
def test_writing_a_line_again_replaces_its_pending_values(shop: Any) -> None:
    repo = OfferStateRepo(shop.engine, shop.prefix)
    now = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    repo.write_pending("p1", [PendingLine("A-1", 7, 0, b"\x01" * 16, 3, Decimal("5.00"))], "run:one", now)
    repo.write_pending("p1", [PendingLine("A-1", 7, 2, b"\x02" * 16, 9, Decimal("6.00"))], "run:two", now)
    got = _pending_rows(shop.engine, repo)
    assert list(got) == ["A-1"]
    assert got["A-1"][:7] == (7, 2, "pending", "02" * 16, "run:two", 9, Decimal("6.000000"))
