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


def _accepted_values(engine: Any, repo: OfferStateRepo, sku: str) -> tuple[Any, ...]:
    o = repo.offer
    with engine.connect() as conn:
        return tuple(conn.execute(select(o.c.status, o.c.hash, o.c.quantity, o.c.price, o.c.pending_hash,
                                         o.c.pending_import_id, o.c.last_error).where(o.c.sku == sku)).one())


@pytest.mark.db
def test_an_outcome_writes_accepted_values_and_rejected_lines_keep_the_last_accepted_ones(shop: Any) -> None:
    repo = OfferStateRepo(shop.engine, shop.prefix)
    now = datetime(2025, 5, 1, 12, 0, tzinfo=timezone.utc)
    first = [PendingLine("A", 1, 0, b"\x01" * 16, 4, Decimal("10.00")),
             PendingLine("B", 2, 0, b"\x02" * 16, 5, Decimal("20.00"))]
    repo.record_import("p1", import_id="1", lines=2, full_sync=True, now=now)
    assert repo.record_outcome("p1", "1", [first], status="COMPLETE", rejected=[], lines_in_error=0, now=now) == 2
    second = [PendingLine("A", 1, 0, b"\x03" * 16, 7, Decimal("11.00")),
              PendingLine("B", 2, 0, b"\x04" * 16, 8, Decimal("21.00")),
              PendingLine("C", 3, 0, b"\x05" * 16, 9, Decimal("30.00"))]
    repo.record_import("p1", import_id="2", lines=3, full_sync=False, now=now)
    accepted = repo.record_outcome("p1", "2", [second[:1], second[1:]], status="COMPLETE",
                                   rejected=[("B", "bad price"), ("C", "unknown product")], lines_in_error=2, now=now)
    assert accepted == 1
    assert _accepted_values(shop.engine, repo, "A") == ("accepted", "03" * 16, 7, Decimal("11.000000"), None, None,
                                                        None)
    assert _accepted_values(shop.engine, repo, "B") == ("rejected", "02" * 16, 5, Decimal("20.000000"), None, None,
                                                        "bad price")
    assert _accepted_values(shop.engine, repo, "C") == ("rejected", None, None, None, None, None, "unknown product")
    assert repo.load_digests("p1") == {"A": b"\x03" * 16, "B": b"", "C": None}


@pytest.mark.db
def test_a_failed_import_rejects_every_line_it_carried(shop: Any) -> None:
    repo = OfferStateRepo(shop.engine, shop.prefix)
    now = datetime(2025, 5, 1, 12, 0, tzinfo=timezone.utc)
    repo.record_import("p1", import_id="9", lines=1, full_sync=False, now=now)
    lines = [PendingLine("A", 1, 0, b"\x01" * 16, 4, Decimal("10.00"))]
    assert repo.record_outcome("p1", "9", [lines], status="FAILED", rejected=[], lines_in_error=None, now=now,
                               reason="file unreadable") == 0
    assert _accepted_values(shop.engine, repo, "A") == ("rejected", None, None, None, None, None,
                                                        "import 9 FAILED: file unreadable")
    assert repo.open_imports("p1") == []


def test_withdrawn_skus_leave_the_lines_spooled_before_but_not_later_ones() -> None:
    from bridge.state.offers_sent import SentLines

    spool = SentLines()
    try:
        for ln in (PendingLine("DUP", 1, 0, b"\x01" * 16, 1, Decimal("1.00")),
                   PendingLine("X", 2, 0, b"\x02" * 16, 2, Decimal("2.00"))):
            spool.add_pending(ln)
        spool.withdraw(frozenset({"DUP"}))
        spool.add_pending(PendingLine("DUP", 0, 0, bytes(16), 0, Decimal("1.00")))  # zeroed later: kept
        batches = list(spool.batches())
    finally:
        spool.close()
    assert [[ln.sku for ln in b] for b in batches] == [["X", "DUP"]]
    assert batches[0][0] == PendingLine("X", 2, 0, b"\x02" * 16, 2, Decimal("2.00"))


def test_spooled_lines_read_back_as_sent_and_the_file_is_loaded_as_is_unless_some_were_withdrawn() -> None:
    from datetime import date

    from bridge.domain.offers import OfferLine, line_cells
    from bridge.state.offers_sent import SentLines

    awkward = ["tab\there", "back\\slash\\t", "new\nline", "cr\rnul\0", "plain", "é€😀"]
    lines = [OfferLine(sku, "", "", Decimal("12.50"), i, Decimal("9.99") if i % 2 else None,
                       date(2025, 6, 1) if i % 2 else None, date(2025, 6, 30) if i % 2 else None, 10 + i, i)
             for i, sku in enumerate(awkward)]
    spool = SentLines()
    try:
        for i, line in enumerate(lines):
            spool.add(line, bytes([i]) * 16, line_cells(line))
        back = [ln for batch in spool.batches() for ln in batch]
        with spool.load_file() as (path, count):
            assert (path, count) == (spool.path, len(lines))  # no copy
        assert [ln.sku for ln in spool.lines_of({"new\nline", "unknown"})] == ["new\nline"]
        spool.withdraw(frozenset({"plain"}))
        with spool.load_file() as (path, count):
            assert path != spool.path and count == len(lines) - 1
            with open(path, encoding="utf-8") as f:
                assert len(f.readlines()) == count
    finally:
        spool.close()
    assert back == [PendingLine(ln.sku, ln.id_product, ln.id_product_attribute, bytes([i]) * 16, ln.quantity, ln.price,
                                ln.discount_price, ln.discount_start, ln.discount_end) for i, ln in enumerate(lines)]


def test_a_spool_left_behind_by_an_error_leaves_no_file() -> None:
    import gc
    import os

    from bridge.state.offers_sent import SentLines

    spool = SentLines()
    spool.add_pending(PendingLine("A", 1, 0, bytes(16), 1, Decimal("1.00")))
    path = spool.path
    assert os.path.exists(path)
    del spool  # e.g. the pass raised before the job could close it
    gc.collect()
    assert not os.path.exists(path)
    closed = SentLines()
    closed.close()
    assert not os.path.exists(closed.path)
