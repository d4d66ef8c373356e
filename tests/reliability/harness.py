"""The reliability harness: scenario set-up, runs, and the audit that computes each scenario's tallies.

A scenario puts Mirakl orders in the simulator, attacks the bridge while it runs its tasks (faults on
the HTTP side, connections killed, processes killed, clock jumps, concurrent bridges), then lets it
settle with clean runs and audits the end state with plain SQL on the shop database and the
simulator's own records, never with the bridge's code:

- **duplicates**: PrestaShop orders beyond the first for one Mirakl order (orders are linked through
  ``order_payment.transaction_id``), plus OR21 answers Mirakl applied more than once;
- **lost**: orders the bridge accepted on Mirakl (or that were already accepted) with no PrestaShop
  order after the clean runs, and orders still waiting for acceptance without a recorded reason;
- **partial**: PrestaShop orders that break an invariant of ``tests/invariants.py``, rows that belong
  to no order (carts, details, addresses, payments, history...), order-map rows left ``importing``,
  and PrestaShop orders whose order-map row does not say ``imported``;
- **oversold**: units accepted through OR21 beyond the stock the SKU had at the start;
- **stock drift**: SKUs whose stock is not ``initial - units of the imported orders``.

Each audit appends one JSON line to ``$BRIDGE_RELIABILITY_RESULTS`` when that variable is set;
``tests/reliability/summarize.py`` turns the file into the table of ``docs/reliability.md``.
"""

from __future__ import annotations

import json
import os
import random
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from bridge.config import config_from_dict
from bridge.jobs.report import TaskReport
from bridge.jobs.runner import run_task
from bridge.mirakl.client import MiraklClient
from bridge.sandbox.mirakl_sim import MiraklSimulator
from bridge.sandbox.orders_gen import ACCEPTED_LINE_STATES, generate_orders
from bridge.wiring import App, utcnow
from tests.e2e.import_support import (
    CODE,
    ENV,
    SKUS,
    config_dict,
    orphan_counts,
    ps_orders_by_mirakl_id,
    set_stock,
    stock_by_sku,
)
from tests.invariants import order_invariants

RESULTS_ENV = "BRIDGE_RELIABILITY_RESULTS"
# a small stock on purpose: a dozen orders of 1-3 lines of 1-3 units run several SKUs short
SCARCE_STOCK: dict[str, int] = {
    "TSHIRT-S-BLUE": 6, "TSHIRT-S-RED": 3, "TSHIRT-M-RED": 8, "MUG": 10, "SOCKS": 12, "BOOK": 5,
}
PLENTY_STOCK: dict[str, int] = dict.fromkeys(SKUS, 1000)
DEAD_LINE_STATES = ("REFUSED", "CANCELED")
MAX_TEST_SLEEP_S = 0.02


def short_sleep(seconds: float) -> None:
    """Back-off waits of the Mirakl client shortened for the tests (the retry *rules* are unchanged)."""
    import time

    time.sleep(min(seconds, MAX_TEST_SLEEP_S))


# --- set-up -------------------------------------------------------------------------------------


def raw_config(shop: Any, sim_url: str, *, platform: Mapping[str, Any] | None = None,
               **orders: Any) -> dict[str, Any]:
    """One platform ``sim`` doing accept and import on the test shop (carrier STD mapped)."""
    raw = config_dict(shop.url, sim_url, carrier_reference=shop.ids.carriers["colissimo"].id_reference, **orders)
    raw["platforms"][0].update({"max_attempts": 4, "max_retry_s": 30, "read_timeout_s": 5, "connect_timeout_s": 2,
                                **(platform or {})})
    return raw


def make_app(shop: Any, sim: MiraklSimulator, *, clock: Callable[[], datetime] = utcnow,
             platform: Mapping[str, Any] | None = None, url: str | None = None, **orders: Any) -> App:
    cfg = config_from_dict(raw_config(shop, url or sim.url, platform=platform, **orders), ENV)
    return App(cfg, clock=clock, mirakl_factory=lambda p: MiraklClient(p, sleep=short_sleep))


def waiting_orders(n: int, *, seed: int, start: datetime | None = None) -> list[dict[str, Any]]:
    """``n`` orders WAITING_ACCEPTANCE over the test shop's SKUs (Italy left out: no 22 % tax in the shop)."""
    return _orders(n, seed=seed, state="WAITING_ACCEPTANCE", start=start)


def shipping_orders(n: int, *, seed: int, start: datetime | None = None) -> list[dict[str, Any]]:
    """``n`` orders already accepted and debited (SHIPPING): the import task's input."""
    return _orders(n, seed=seed, state="SHIPPING", start=start)


def _orders(n: int, *, seed: int, state: str, start: datetime | None) -> list[dict[str, Any]]:
    start = start or datetime.now(UTC).replace(microsecond=0) - timedelta(hours=6)
    out = generate_orders(3 * n + 10, list(SKUS), seed=seed, state=state, start=start)
    return [o for o in out if o["customer"]["shipping_address"]["country_iso_code"] != "ITA"][:n]


def prepare(shop: Any, sim: MiraklSimulator, orders: Iterable[Mapping[str, Any]],
            stock: Mapping[str, int]) -> dict[str, int]:
    """Orders into the simulator, stock into the shop; returns the stock as read back (the audit's start)."""
    set_stock(shop.engine, shop.ids, stock)
    sim.add_orders(orders)
    return stock_by_sku(shop.engine, shop.ids, SKUS)


# --- runs ---------------------------------------------------------------------------------------


@dataclass
class Runs:
    """Counts the task runs of a scenario (crashed child processes included)."""

    n: int = 0
    failed: int = 0
    statuses: Counter[str] = field(default_factory=Counter)

    def run(self, app: App, task: str, **kw: Any) -> TaskReport:
        report = run_task(app, task, CODE, force=True, **kw)
        self.note(report.status)
        return report

    def note(self, status: str) -> None:
        self.n += 1
        self.statuses[status] += 1
        if status in ("failed", "killed"):
            self.failed += 1


def settle(app: App, sim: MiraklSimulator, runs: Runs, *, rounds: int = 2, accept: bool = True) -> list[TaskReport]:
    """Clean runs after an attack: accept, debit on Mirakl, import; twice (held orders are due at once)."""
    sim.clear_faults()
    reports = []
    for _ in range(rounds):
        if accept:
            reports.append(runs.run(app, "accept"))
        sim.advance()
        reports.append(runs.run(app, "import"))
    for r in reports:
        assert r.status != "failed", f"a clean run failed after the attack: {r.to_json()}"
    return reports


# --- audit --------------------------------------------------------------------------------------


@dataclass
class Tally:
    scenario: str
    runs: int
    orders: int
    duplicates: int = 0
    lost: int = 0
    partial: int = 0
    oversold: int = 0
    stock_drift: int = 0
    failed_runs: int = 0
    details: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return not (self.duplicates or self.lost or self.partial or self.oversold or self.stock_drift)

    def summary(self) -> str:
        return (f"{self.scenario}: runs={self.runs} orders={self.orders} duplicates={self.duplicates} "
                f"lost={self.lost} partial={self.partial} oversold={self.oversold} "
                f"stock_drift={self.stock_drift}\n  " + "\n  ".join(self.details[:40]))


def _accepted_lines(order: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [ln for ln in order.get("order_lines", []) if ln.get("order_line_state") in ACCEPTED_LINE_STATES]


def audit(shop: Any, sim: MiraklSimulator, *, scenario: str, runs: Runs, initial: Mapping[str, int],
          extra: Mapping[str, Any] | None = None, record: bool = True) -> Tally:
    """The end state, checked independently of the bridge's code (see the module docstring)."""
    mirakl = sim.orders
    decisions = sim.decisions
    tally = Tally(scenario=scenario, runs=runs.n, orders=len(mirakl), failed_runs=runs.failed,
                  extra=dict(extra or {}))
    d = tally.details
    with shop.engine.connect() as conn:
        per_order = ps_orders_by_mirakl_id(conn, shop.prefix)
        all_ps = [int(r[0]) for r in conn.execute(text(f"SELECT `id_order` FROM `{shop.prefix}orders`"))]
        map_rows = {r[0]: (r[1], r[2]) for r in conn.execute(text(
            f"SELECT `mirakl_order_id`, `status`, `id_order` FROM `{shop.prefix}mirakl_bridge_order` "
            f"WHERE `platform` = :p"), {"p": CODE})}
        left = {r[0]: r[1] for r in conn.execute(text(
            f"SELECT `mirakl_order_id`, `error_code` FROM `{shop.prefix}mirakl_bridge_order` "
            f"WHERE `platform` = :p AND `status` = 'seen'"), {"p": CODE})}
        # duplicates ------------------------------------------------------------------------------
        for oid, n in per_order.items():
            if n > 1:
                tally.duplicates += n - 1
                d.append(f"duplicate: {oid} has {n} PrestaShop orders")
        for oid, answers in decisions.items():
            if len(answers) > 1:
                tally.duplicates += len(answers) - 1
                d.append(f"duplicate: OR21 applied {len(answers)} times to {oid}")
        # partial ---------------------------------------------------------------------------------
        for id_order in all_ps:
            problems = order_invariants(conn, shop.prefix, id_order)
            if problems:
                tally.partial += 1
                d.append(f"partial: order {id_order}: {problems[:3]}")
        for name, n in orphan_counts(conn, shop.prefix).items():
            if n:
                tally.partial += n
                d.append(f"partial: {n} {name} row(s) belong to no order")
        unknown = set(per_order) - set(mirakl)
        if unknown:
            tally.partial += len(unknown)
            d.append(f"partial: PrestaShop orders for unknown Mirakl ids {sorted(unknown)[:5]}")
        for oid in per_order:
            status = map_rows.get(oid, (None, None))[0]
            if status not in ("imported", "shipped"):
                tally.partial += 1
                d.append(f"partial: {oid} has a PrestaShop order but its order-map row is {status!r}")
    # lost ----------------------------------------------------------------------------------------
    for oid, order in mirakl.items():
        if _accepted_lines(order) and per_order.get(oid, 0) == 0:
            tally.lost += 1
            d.append(f"lost: {oid} is accepted on Mirakl ({order['order_state']}) but not in PrestaShop "
                     f"(order map: {map_rows.get(oid)})")
        elif order["order_state"] == "WAITING_ACCEPTANCE" and not left.get(oid):
            tally.lost += 1
            d.append(f"lost: {oid} still waits for acceptance with no reason recorded (map: {map_rows.get(oid)})")
    # oversold: units accepted through OR21, per SKU, against the stock at the start --------------
    accepted: Counter[str] = Counter()
    for oid, answers in decisions.items():
        lines = {ln["order_line_id"]: ln for ln in mirakl[oid]["order_lines"]}
        for line_id, ok in _answered(answers).items():
            if ok:
                accepted[lines[line_id]["offer_sku"]] += int(lines[line_id]["quantity"])
    for sku, units in accepted.items():
        if units > initial.get(sku, 0):
            tally.oversold += units - initial.get(sku, 0)
            d.append(f"oversold: {units} units of {sku} accepted, stock was {initial.get(sku, 0)}")
    # stock = initial - units of the imported orders ------------------------------------------------
    imported_units: Counter[str] = Counter()
    for oid in per_order:
        if oid in mirakl:
            for ln in mirakl[oid]["order_lines"]:
                if ln.get("order_line_state") not in DEAD_LINE_STATES:
                    imported_units[ln["offer_sku"]] += int(ln["quantity"]) * per_order[oid]
    now_stock = stock_by_sku(shop.engine, shop.ids, SKUS)
    for sku in SKUS:
        want = initial[sku] - imported_units[sku]
        if now_stock[sku] != want:
            tally.stock_drift += 1
            d.append(f"stock drift: {sku} is {now_stock[sku]}, expected {initial[sku]} - {imported_units[sku]}")
    tally.extra.setdefault("imported", sum(1 for n in per_order.values() if n))
    tally.extra.setdefault("accepted_by_bridge", sum(1 for a in decisions.values() if any(_answered(a).values())))
    if record:
        record_tally(tally)
    return tally


def _answered(answers: list[dict[str, Any]]) -> dict[str, bool]:
    """OR21 bodies as Mirakl applied them -> {line id: accepted} (every application counted once per line)."""
    out: dict[str, bool] = {}
    for body in answers:
        for ln in body["order_lines"]:
            out[ln["id"]] = bool(ln["accepted"])
    return out


def record_tally(tally: Tally) -> None:
    path = os.environ.get(RESULTS_ENV)
    if not path:
        return
    row = {k: v for k, v in asdict(tally).items() if k != "details"}
    row["group"] = tally.scenario.split(":")[0]
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(row, default=str) + "\n")


def assert_clean(tally: Tally) -> None:
    assert tally.clean, tally.summary()


def rng_for(seed: int, salt: str) -> random.Random:
    return random.Random(f"{salt}:{seed}")
