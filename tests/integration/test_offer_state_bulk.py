"""The bulk outcome write (LOAD DATA LOCAL from a spooled file) leaves exactly the rows of the executemany path."""

from __future__ import annotations

import os
import tempfile
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from bridge.state import offers_load
from bridge.state.offers import OfferStateRepo, PendingLine

# SKUs that the file format must carry unchanged: its separators and escape, quotes, unicode, "\N"
AWKWARD = ["TAB\tX", "BACK\\SLASH", "NEW\nLINE", "CR\rX", "QUOTE'S \"Q\"", "ÉTÉ-☃-日本", "\\N", "N", "",
           "END\\", "NUL\0X", "%s %(x)s", "MiXed", "mixed"]


def _lines(digest: int, skus: list[str]) -> list[PendingLine]:
    lines = [PendingLine(sku or "EMPTY", 10 + n, n, bytes([digest, n]) * 8, n, Decimal(f"{n}.{n % 10}5"))
             for n, sku in enumerate(skus)]
    lines += [PendingLine("DISCOUNTED", 50, 7, bytes([digest]) * 16, 0, Decimal("1234.50"), Decimal("999.99"),
                          date(2025, 3, 30), date(2025, 4, 2)),
              PendingLine("OPEN-END", 51, 0, bytes([digest]) * 16, 3, Decimal("10.00"), Decimal("9.00"),
                          date(2025, 3, 30), None),
              PendingLine("REJECTED-NEW", 52, 0, bytes([digest]) * 16, 1, Decimal("5.00")),
              PendingLine("REJECTED-KNOWN", 53, 0, bytes([digest]) * 16, 1, Decimal("6.00"))]
    return lines


def _rows(engine: Any, repo: OfferStateRepo, platform: str) -> dict[str, tuple[Any, ...]]:
    o = repo.offer
    cols = [c for c in o.c if c.name not in ("platform", "sku")]
    with engine.connect() as conn:
        rows = conn.execute(select(o.c.sku, *cols).where(o.c.platform == platform)).all()
    return {r[0]: tuple(r[1:]) for r in rows}


def _write_both_ways(shop: Any, repos: dict[str, OfferStateRepo], skus: list[str] = AWKWARD) -> None:
    """The same history for two platforms: a first import, lines left pending, then a second import."""
    t1 = datetime(2025, 5, 1, 12, 0, tzinfo=timezone.utc)
    t2 = datetime(2025, 5, 2, 8, 30, tzinfo=timezone.utc)
    for platform, repo in repos.items():
        first = _lines(1, skus)
        repo.record_import(platform, import_id=f"{platform}-1", lines=len(first), full_sync=True, now=t1)
        repo.record_outcome(platform, f"{platform}-1", [first[:5], first[5:]], status="COMPLETE",
                            rejected=[("REJECTED-KNOWN", "was fine")], lines_in_error=1, now=t1)
        # a pending value left by an import still running, then recorded by the next outcome
        repo.write_pending(platform, first[:2], f"{platform}-0", t1)
        second = _lines(2, skus)
        repo.record_import(platform, import_id=f"{platform}-2", lines=len(second), full_sync=False, now=t2)
        accepted = repo.record_outcome(platform, f"{platform}-2", [second[:3], second[3:]], status="COMPLETE",
                                       rejected=[("REJECTED-NEW", "unknown product"),
                                                 ("REJECTED-KNOWN", "bad price\twith\ttabs"),
                                                 ("NOT-SENT", "resent unchanged")],
                                       lines_in_error=3, now=t2)
        assert accepted == len(second) - 2


@pytest.mark.db
def test_the_bulk_path_and_the_executemany_path_leave_identical_rows(shop: Any) -> None:
    bulk = OfferStateRepo(shop.engine, shop.prefix, bulk_min_rows=1)
    rows = OfferStateRepo(shop.engine, shop.prefix, bulk_load=False)
    assert bulk.bulk_load, "MariaDB/MySQL through PyMySQL takes the bulk path"
    _write_both_ways(shop, {"bulk": bulk, "rows": rows})
    assert bulk.bulk_load, "the server accepted LOAD DATA LOCAL (else this test proves nothing)"
    got, expected = _rows(shop.engine, bulk, "bulk"), _rows(shop.engine, rows, "rows")
    # "MiXed" and "mixed" are one row under the column's case-insensitive collation: the later line's values
    assert set(got) == {sku or "EMPTY" for sku in AWKWARD if sku != "mixed"} | {
        "DISCOUNTED", "OPEN-END", "REJECTED-NEW", "REJECTED-KNOWN"}
    assert got == expected
    # what the rows hold, by hand, for a few of them
    stamp = datetime(2025, 5, 2, 8, 30, tzinfo=timezone.utc)
    o = [c.name for c in bulk.offer.c if c.name not in ("platform", "sku")]
    tab = dict(zip(o, got["TAB\tX"], strict=True))
    assert (tab["status"], tab["hash"], tab["quantity"], tab["price"], tab["pending_hash"], tab["accepted_at"]) == (
        "accepted", "0200" * 8, 0, Decimal("0.050000"), None, stamp)
    disc = dict(zip(o, got["DISCOUNTED"], strict=True))
    assert (disc["discount_price"], disc["discount_start"], disc["discount_end"]) == (
        Decimal("999.990000"), datetime(2025, 3, 30, tzinfo=timezone.utc), datetime(2025, 4, 2, tzinfo=timezone.utc))
    open_end = dict(zip(o, got["OPEN-END"], strict=True))
    assert open_end["discount_end"] is None and open_end["last_error"] is None
    known = dict(zip(o, got["REJECTED-KNOWN"], strict=True))
    assert (known["status"], known["hash"], known["last_error"]) == ("rejected", None, "bad price\twith\ttabs")
    mixed = dict(zip(o, got["MiXed"], strict=True))
    assert (mixed["id_product"], mixed["quantity"]) == (10 + AWKWARD.index("mixed"), AWKWARD.index("mixed"))
    backslash = dict(zip(o, got["\\N"], strict=True))
    assert backslash["status"] == "accepted" and backslash["price"] == Decimal("6.650000")


@pytest.mark.db
def test_a_first_export_is_loaded_straight_into_the_table_with_the_same_rows(shop: Any, monkeypatch: Any) -> None:
    calls: list[tuple[bool, str]] = []
    real = offers_load.load_rows

    def spy(*args: Any, direct: bool = False, **kwargs: Any) -> Any:
        try:
            loaded = real(*args, direct=direct, **kwargs)
        except offers_load.NotAllNew:
            calls.append((direct, "not all new"))
            raise
        calls.append((direct, "done"))
        return loaded

    monkeypatch.setattr(offers_load, "load_rows", spy)
    skus = [sku for sku in AWKWARD if sku != "mixed"]
    bulk = OfferStateRepo(shop.engine, shop.prefix, bulk_min_rows=1)
    rows = OfferStateRepo(shop.engine, shop.prefix, bulk_load=False)
    _write_both_ways(shop, {"bulk": bulk, "rows": rows}, skus)
    assert calls == [(True, "done"), (False, "done")]  # first import: no row yet; second: merged
    assert _rows(shop.engine, bulk, "bulk") == _rows(shop.engine, rows, "rows")


def _queue_both_ways(repos: dict[str, OfferStateRepo], skus: list[str]) -> list[int]:
    """The same history for each platform: a first import accepted, then a second one still running at
    the end of the wait (its lines queued as pending, from the spool: ``record_pending``), then its
    outcome applied by a later run (``finish_import``). Returns what ``record_pending`` counted."""
    from bridge.state.offers_sent import SentLines

    t1 = datetime(2025, 5, 1, 12, 0, tzinfo=timezone.utc)
    t2 = datetime(2025, 5, 2, 8, 30, tzinfo=timezone.utc)
    t3 = datetime(2025, 5, 2, 9, 45, tzinfo=timezone.utc)
    queued = []
    for platform, repo in repos.items():
        first = _lines(1, skus)
        repo.record_import(platform, import_id=f"{platform}-1", lines=len(first), full_sync=True, now=t1)
        repo.record_outcome(platform, f"{platform}-1", [first], status="COMPLETE", rejected=[], lines_in_error=0,
                            now=t1)
        second = _lines(2, [*skus, "ONLY-IN-SECOND"])
        repo.record_import(platform, import_id="2", lines=len(second), full_sync=False, now=t2)
        spool = SentLines()
        try:
            for ln in second:
                spool.add_pending(ln)
            queued.append(repo.record_pending(platform, spool, "2", t2))
        finally:
            spool.close()
        repo.finish_import(platform, "2", status="COMPLETE", rejected=[("REJECTED-NEW", "unknown")],
                           lines_in_error=1, now=t3)
    return queued


@pytest.mark.db
@pytest.mark.parametrize("first_export", [False, True])
def test_lines_left_pending_are_loaded_with_the_rows_of_write_pending(shop: Any, monkeypatch: Any,
                                                                      first_export: bool) -> None:
    """An import still running at the end of the wait: its lines loaded as pending (LOAD DATA) leave the rows
    ``write_pending`` leaves, before and after the outcome (``first_export``: nothing accepted before, so the
    load goes straight into the table; else staged and merged over accepted rows)."""
    loads: list[bool] = []
    real = offers_load.load_rows

    def spy(*args: Any, direct: bool = False, **kwargs: Any) -> Any:
        loaded = real(*args, direct=direct, **kwargs)
        loads.append(direct)
        return loaded

    monkeypatch.setattr(offers_load, "load_rows", spy)
    skus = [sku for sku in AWKWARD if sku != "mixed"]
    bulk = OfferStateRepo(shop.engine, shop.prefix, bulk_min_rows=1)
    rows = OfferStateRepo(shop.engine, shop.prefix, bulk_load=False)
    if first_export:  # no accepted import before: the pending lines are the platform's first rows
        monkeypatch.setattr(OfferStateRepo, "record_outcome", lambda *a, **k: 0)
    pending: dict[str, dict[str, tuple[Any, ...]]] = {}
    real_finish = OfferStateRepo.finish_import

    def finish(self: OfferStateRepo, platform: str, *args: Any, **kwargs: Any) -> int:
        pending[platform] = _rows(shop.engine, self, platform)
        return real_finish(self, platform, *args, **kwargs)

    monkeypatch.setattr(OfferStateRepo, "finish_import", finish)
    assert _queue_both_ways({"bulk": bulk, "rows": rows}, skus) == [len(skus) + 5, len(skus) + 5]
    # the first outcome loaded straight into the table (when recorded), then the pending lines
    assert bulk.bulk_load and loads == ([True] if first_export else [True, False]), "pending lines through LOAD DATA"
    assert pending["bulk"] == pending["rows"]
    o = [c.name for c in bulk.offer.c if c.name not in ("platform", "sku")]
    disc = dict(zip(o, pending["bulk"]["DISCOUNTED"], strict=True))
    assert (disc["status"], disc["pending_import_id"], disc["pending_hash"], disc["pending_discount_price"],
            disc["pending_discount_end"]) == ("pending", "2", "02" * 16, Decimal("999.990000"),
                                              datetime(2025, 4, 2, tzinfo=timezone.utc))
    assert disc["hash"] == (None if first_export else "01" * 16)  # the last accepted values kept
    assert _rows(shop.engine, bulk, "bulk") == _rows(shop.engine, rows, "rows")
    done = dict(zip(o, _rows(shop.engine, bulk, "bulk")["DISCOUNTED"], strict=True))
    assert (done["status"], done["hash"], done["pending_hash"]) == ("accepted", "02" * 16, None)


@pytest.mark.db
def test_pending_lines_fall_back_to_write_pending_when_the_server_refuses_local_files(shop: Any,
                                                                                     monkeypatch: Any) -> None:
    monkeypatch.setattr(offers_load, "local_infile_engine", lambda engine: create_engine(
        engine.url, poolclass=NullPool, connect_args={"charset": "utf8mb4"}))  # LOCAL not announced: refused
    tried: list[str] = []
    real = offers_load.load_rows
    monkeypatch.setattr(offers_load, "load_rows", lambda conn, table, cols, *a, **k: (
        tried.append(cols[3]), real(conn, table, cols, *a, **k))[1])
    monkeypatch.setattr(OfferStateRepo, "record_outcome", lambda *a, **k: 0)  # the pending lines come first
    skus = [sku for sku in AWKWARD if sku != "mixed"]
    bulk = OfferStateRepo(shop.engine, shop.prefix, bulk_min_rows=1)
    rows = OfferStateRepo(shop.engine, shop.prefix, bulk_load=False)
    assert _queue_both_ways({"bulk": bulk, "rows": rows}, skus) == [len(skus) + 5, len(skus) + 5]
    assert tried == ["pending_hash"] and not bulk.bulk_load  # tried once, refused, then through the driver
    assert _rows(shop.engine, bulk, "bulk") == _rows(shop.engine, rows, "rows")


@pytest.mark.db
def test_a_server_refusing_local_files_falls_back_to_the_same_rows(shop: Any, monkeypatch: Any) -> None:
    def without_local_files(engine: Any) -> Any:
        # a connection that did not announce LOCAL files: the server refuses the statement (1148), as it
        # does for every client when its local_infile is OFF
        return create_engine(engine.url, poolclass=NullPool, connect_args={"charset": "utf8mb4"})

    monkeypatch.setattr(offers_load, "local_infile_engine", without_local_files)
    bulk = OfferStateRepo(shop.engine, shop.prefix, bulk_min_rows=1)
    rows = OfferStateRepo(shop.engine, shop.prefix, bulk_load=False)
    _write_both_ways(shop, {"bulk": bulk, "rows": rows})
    assert not bulk.bulk_load
    assert _rows(shop.engine, bulk, "bulk") == _rows(shop.engine, rows, "rows")


@pytest.mark.db
def test_the_load_connection_sends_only_the_file_the_bridge_named(shop: Any) -> None:
    engine = offers_load.local_infile_engine(shop.engine)
    fd, secret = tempfile.mkstemp(suffix=".txt")
    os.write(fd, b"secret\n")
    os.close(fd)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("CREATE TEMPORARY TABLE `probe` (v VARCHAR(20))")
            raw = conn.connection.driver_connection
            raw.bridge_load_file = b"/tmp/some-other-file.tsv"
            with pytest.raises(DBAPIError, match="did not name"):
                conn.exec_driver_sql("LOAD DATA LOCAL INFILE %s INTO TABLE `probe`", (secret,))
            raw.bridge_load_file = None
            with pytest.raises(DBAPIError):
                conn.exec_driver_sql("LOAD DATA LOCAL INFILE %s INTO TABLE `probe`", (secret,))
            assert conn.exec_driver_sql("SELECT COUNT(*) FROM `probe`").scalar() == 0
            raw.bridge_load_file = os.fsencode(secret)
            conn.exec_driver_sql("LOAD DATA LOCAL INFILE %s INTO TABLE `probe`", (secret,))
            assert conn.exec_driver_sql("SELECT v FROM `probe`").scalar() == "secret"
    finally:
        engine.dispose()
        os.unlink(secret)


def test_cells_are_escaped_for_load_data() -> None:
    assert offers_load.tsv_cell(None) == "\\N"
    assert offers_load.tsv_cell("\\N") == "\\\\N"
    assert offers_load.tsv_cell("a\tb\nc\rd\\e\0f") == "a\\tb\\nc\\rd\\\\e\\0f"
    assert offers_load.tsv_cell(Decimal("1E+1")) == "10"
    assert offers_load.tsv_cell(Decimal("12.50")) == "12.50"
    assert offers_load.tsv_cell(7) == "7"


def test_a_pymysql_without_the_guarded_internals_never_gets_local_infile(monkeypatch: Any) -> None:
    import pymysql.connections

    engine = create_engine("mysql+pymysql://bridge@127.0.0.1/none", poolclass=NullPool)
    assert offers_load.supported(engine)
    monkeypatch.delattr(pymysql.connections.MySQLResult, "_read_load_local_packet")
    assert not offers_load.supported(engine)
    assert not offers_load.supported(create_engine("sqlite://"))
