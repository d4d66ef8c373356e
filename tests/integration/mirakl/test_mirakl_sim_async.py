"""The simulator's asynchronous imports (``async_imports=True``), over real HTTP through MiraklClient.

OF01/STO01 answer 201 with the import id before the file is processed; one worker processes the
queued files in arrival order; OF02/STO02 say WAITING (queued) or RUNNING (processing) until then.
Waits are bounded (``wait_imports``, thread joins); nothing asserts how long anything took.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from bridge.config import PlatformConfig
from bridge.mirakl import MiraklClient
from bridge.sandbox import MiraklSimulator
from bridge.sandbox.__main__ import build_parser

KEY = "sim-key-async-0123"
WAIT_S = 30.0
OFFER_HEADER = "sku;product-id;product-id-type;price;quantity;state"


def _client(sim: MiraklSimulator) -> MiraklClient:
    fields: dict[str, Any] = {"code": "simshop", "api_url": sim.url, "api_key": KEY, "read_timeout_s": 10.0}
    return MiraklClient(PlatformConfig(**fields))


@pytest.fixture
def sim() -> Iterator[MiraklSimulator]:
    with MiraklSimulator(api_key=KEY, async_imports=True, import_polls=0) as simulator:
        yield simulator


@pytest.fixture
def client(sim: MiraklSimulator) -> Iterator[MiraklClient]:
    with _client(sim) as c:
        yield c


def _offers_csv(n: int, price: str = "12.50", prefix: str = "SKU") -> str:
    lines = [f"{prefix}-{i};{3700000 + i};EAN;{price};{i % 7};11" for i in range(n)]
    return "\n".join([OFFER_HEADER, *lines]) + "\n"


# --- answered before processing ----------------------------------------------------------------------


def test_an_upload_is_answered_before_its_file_is_processed(
    sim: MiraklSimulator, client: MiraklClient
) -> None:
    sim.hold_imports()
    import_id = client.import_offers(_offers_csv(3000))

    queued = client.offer_import_status(import_id)
    assert queued.status == "WAITING"
    assert (queued.lines_read, queued.lines_in_success, queued.lines_in_error) == (0, 0, 0)
    assert sim.queued_imports == 1 and sim.offers == {}
    assert [u.import_id for u in sim.uploads] == [import_id]  # the file is kept from the upload on

    sim.hold_imports(False)
    assert sim.wait_imports(WAIT_S)
    done = client.offer_import_status(import_id)
    assert done.status == "COMPLETE"
    assert (done.lines_read, done.lines_in_success, done.lines_in_error) == (3000, 3000, 0)
    assert len(sim.offers) == 3000 and sim.offers["SKU-10"]["price"] == Decimal("12.50")


def test_a_large_file_goes_waiting_running_complete_in_that_order(
    sim: MiraklSimulator, client: MiraklClient
) -> None:
    import_id = client.import_offers(_offers_csv(20000))
    order = ["WAITING", "RUNNING", "COMPLETE"]
    seen = [client.offer_import_status(import_id).status]
    for _ in range(10_000):  # bounded; each poll is a real round trip
        if seen[-1] == "COMPLETE":
            break
        sim.wait_imports(0.01)
        seen.append(client.offer_import_status(import_id).status)
    assert seen[-1] == "COMPLETE"
    assert [order.index(s) for s in seen] == sorted(order.index(s) for s in seen)
    assert client.offer_import_status(import_id).lines_in_success == 20000


def test_import_polls_still_apply_after_processing() -> None:
    with MiraklSimulator(api_key=KEY, async_imports=True, import_polls=1) as sim, _client(sim) as client:
        sim.hold_imports()
        polled_while_queued = client.offer_import_status(client.import_offers(_offers_csv(2))).import_id
        assert client.offer_import_status(polled_while_queued).status == "WAITING"
        sim.hold_imports(False)
        never_polled = client.import_offers(_offers_csv(2, prefix="OTHER"))
        assert sim.wait_imports(WAIT_S)
        # processed AND polled more than import_polls times -> final
        assert client.offer_import_status(polled_while_queued).status == "COMPLETE"
        assert client.offer_import_status(never_polled).status == "RUNNING"
        assert client.offer_import_status(never_polled).status == "COMPLETE"


def test_advance_processes_what_is_queued_and_completes_it() -> None:
    with MiraklSimulator(api_key=KEY, async_imports=True, import_polls=5) as sim, _client(sim) as client:
        import_id = client.import_offers(_offers_csv(500))
        sim.advance()
        assert client.offer_import_status(import_id).status == "COMPLETE"
        assert len(sim.offers) == 500

        sim.hold_imports()
        client.import_offers(_offers_csv(1, prefix="HELD"))
        with pytest.raises(TimeoutError):
            sim.advance(timeout=0.2)
        sim.hold_imports(False)
        sim.advance()
        assert "HELD-0" in sim.offers


# --- order ------------------------------------------------------------------------------------------------


def test_queued_imports_are_processed_in_arrival_order_and_the_later_wins(
    sim: MiraklSimulator, client: MiraklClient
) -> None:
    sim.hold_imports()
    create = client.import_offers(f"{OFFER_HEADER}\nMUG-1;370001;EAN;10.00;4;11\n")
    # no product-id: valid only once the first import has created the offer
    update = client.import_offers("sku;price\nMUG-1;20.00\n")
    last = client.import_offers("sku;price;quantity\nMUG-1;30.00;9\n")
    assert sim.queued_imports == 3
    sim.hold_imports(False)
    assert sim.wait_imports(WAIT_S)

    for import_id in (create, update, last):
        status = client.offer_import_status(import_id)
        assert (status.status, status.lines_in_success, status.lines_in_error) == ("COMPLETE", 1, 0)
    assert sim.offers["MUG-1"]["price"] == Decimal("30.00") and sim.offers["MUG-1"]["quantity"] == 9


# --- errors: reported as in synchronous mode -------------------------------------------------------------

BAD_OFFERS = (
    f"{OFFER_HEADER}\n"
    "MUG-1;370001;EAN;9.90;4;11\n"
    "MUG-2;370002;EAN;-3;4;11\n"  # negative price
    "MUG-1;370001;EAN;9.90;4;11\n"  # duplicate sku
    "POT-3;370003;EAN;5.00;x;11\n"  # bad quantity
    "SHORT;1\n"  # wrong column count
)


def _outcome(sim: MiraklSimulator, csv_text: str, *, stock: str | None = None) -> tuple[Any, ...]:
    """Status (import id blanked) and error report of one offer (or, with ``stock``, stock) import."""
    with _client(sim) as client:
        if stock is None:
            import_id = client.import_offers(csv_text)
            sim.wait_imports(WAIT_S)
            status = client.offer_import_status(import_id)
            errors = client.offer_import_errors(import_id) if status.has_error_report else []
        else:
            import_id = client.import_stock(stock)
            sim.wait_imports(WAIT_S)
            status = client.stock_import_status(import_id)
            errors = client.stock_import_errors(import_id) if status.has_error_report else []
        return dataclasses.replace(status, import_id=""), errors, sim.offers


@pytest.mark.parametrize(
    "csv_text",
    [BAD_OFFERS, "product-id;price\n370001;9.90\n", "sku;sku\nA;B\n"],
    ids=["line-errors", "no-sku-column", "duplicate-columns"],
)
def test_errors_are_reported_the_same_way_as_in_synchronous_mode(csv_text: str) -> None:
    outcomes = []
    for async_imports in (False, True):
        with MiraklSimulator(api_key=KEY, async_imports=async_imports, import_polls=0) as sim:
            outcomes.append(_outcome(sim, csv_text))
    assert outcomes[0] == outcomes[1]
    status, errors, _offers = outcomes[1]
    assert status.status in ("COMPLETE", "FAILED")
    assert status.status == "FAILED" or status.lines_in_error == len(errors) == 4


# --- STO01 --------------------------------------------------------------------------------------------------

STOCK = "offer-sku;quantity\nMUG-1;7\nNOPE;3\nMUG-1;-1\n"


def test_stock_imports_are_queued_too_and_report_errors_as_in_synchronous_mode() -> None:
    outcomes = []
    for async_imports in (False, True):
        with MiraklSimulator(api_key=KEY, async_imports=async_imports, import_polls=0) as sim:
            sim.set_offer("MUG-1", price=Decimal("9.90"), quantity=1)
            outcomes.append(_outcome(sim, "", stock=STOCK))
    assert outcomes[0] == outcomes[1]
    status, errors, offers = outcomes[1]
    assert (status.status, status.lines_in_success, status.lines_in_error) == ("COMPLETE", 1, 2)
    assert [e.line for e in errors] == [3, 4] and offers["MUG-1"]["quantity"] == 7


def test_a_queued_stock_import_says_waiting_on_sto02(sim: MiraklSimulator, client: MiraklClient) -> None:
    sim.set_offer("MUG-1", price=Decimal("9.90"), quantity=1)
    sim.hold_imports()
    import_id = client.import_stock("offer-sku;quantity\nMUG-1;5\n")
    assert client.stock_import_status(import_id).status == "WAITING"
    assert sim.offers["MUG-1"]["quantity"] == 1
    sim.hold_imports(False)
    assert sim.wait_imports(WAIT_S)
    assert client.stock_import_status(import_id).status == "COMPLETE"
    assert sim.offers["MUG-1"]["quantity"] == 5


# --- lifecycle ----------------------------------------------------------------------------------------------


def _stops(sim: MiraklSimulator) -> bool:
    stopper = threading.Thread(target=sim.stop, daemon=True)
    stopper.start()
    stopper.join(WAIT_S)
    return not stopper.is_alive()


def test_stop_with_a_queued_import_does_not_hang() -> None:
    sim = MiraklSimulator(api_key=KEY, async_imports=True).start()
    with _client(sim) as client:
        sim.hold_imports()
        client.import_offers(_offers_csv(10))
    assert _stops(sim)
    assert sim.queued_imports == 1  # still queued: stop does not process it


def test_stop_while_a_large_file_is_processed_does_not_hang() -> None:
    sim = MiraklSimulator(api_key=KEY, async_imports=True).start()
    with _client(sim) as client:
        client.import_offers(_offers_csv(20000))
        client.import_offers(_offers_csv(20000, prefix="MORE"))
    assert _stops(sim)


def test_a_worker_failure_fails_the_import_instead_of_leaving_it_waiting(
    sim: MiraklSimulator, client: MiraklClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(_text: str) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr("bridge.sandbox.mirakl_sim.read_csv", broken)
    import_id = client.import_offers(_offers_csv(1))
    assert sim.wait_imports(WAIT_S)
    status = client.offer_import_status(import_id)
    assert (status.status, status.reason_status) == ("FAILED", "simulator internal error")
    assert sim.internal_errors == [f"OF01 import {import_id}: RuntimeError: boom"]


def test_the_default_stays_synchronous() -> None:
    with MiraklSimulator(api_key=KEY, import_polls=0) as sim, _client(sim) as client:
        sim.hold_imports()  # no worker involved: the upload request processes the file
        import_id = client.import_offers(_offers_csv(2))
        assert sim.queued_imports == 0
        assert client.offer_import_status(import_id).status == "COMPLETE"


def test_the_sandbox_cli_has_an_async_imports_flag() -> None:
    assert build_parser().parse_args(["--async-imports"]).async_imports is True
    assert build_parser().parse_args([]).async_imports is False
