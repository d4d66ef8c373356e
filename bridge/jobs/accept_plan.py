"""Accept task, read-only half: gather the waiting orders and the shop's figures, plan the decisions.

Shared by the accept task (bridge.jobs.accept) and ``orders pending`` (bridge.support.pending), so the
prediction shown to support is the decision the next run takes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from bridge.domain.acceptance import AcceptancePolicy, Key, LinePlan, OrderDecision, decide, oldest_first
from bridge.domain.orders import WAITING_ACCEPTANCE, MiraklOrder
from bridge.errors import SkippableError
from bridge.shop.skus import SkuMatch, StockLevel, resolve_skus, stock_levels
from bridge.state import orders as omap

if TYPE_CHECKING:
    from bridge.config import PlatformConfig
    from bridge.mirakl.client import MiraklClient
    from bridge.wiring import App

DECIDABLE = (None, omap.SEEN)  # order-map statuses the accept task may still answer


@dataclass
class Gathered:
    orders: list[MiraklOrder]  # waiting on Mirakl, not answered by the bridge yet, oldest first
    invalid: list[SkippableError]
    answered: list[tuple[MiraklOrder, omap.OrderRow]]  # waiting on Mirakl, but the bridge has a decision
    rows: dict[str, omap.OrderRow]
    matches: dict[str, SkuMatch]
    stock: dict[Key, StockLevel]
    reserved: dict[Key, int]


def policy_of(platform: PlatformConfig) -> AcceptancePolicy:
    a = platform.acceptance
    return AcceptancePolicy(
        on_shortage=a.on_shortage,
        partial=a.partial,
        on_unknown_sku=a.on_unknown_sku,
        stock_buffer=platform.offers.stock_buffer,
    )


def list_waiting(
    client: MiraklClient, check_stop: Callable[[], None] | None = None
) -> tuple[list[MiraklOrder], list[SkippableError]]:
    """Every WAITING_ACCEPTANCE order (all pages, each once), oldest first, and the unreadable ones."""
    orders: dict[str, MiraklOrder] = {}
    invalid: list[SkippableError] = []
    for page in client.iter_order_pages(states=[WAITING_ACCEPTANCE]):
        for o in page.orders:  # offset pages may repeat an order when the list moves: keep one
            if o.state == WAITING_ACCEPTANCE:
                orders[o.order_id] = o
        invalid.extend(page.invalid)
        if check_stop is not None:
            check_stop()
    return oldest_first(orders.values()), invalid


def match_skus(
    conn: Connection, app: App, platform: PlatformConfig, orders: Iterable[MiraklOrder]
) -> Mapping[str, SkuMatch]:
    """The product each SKU of these orders' lines matches (``offers.sku`` rule), or its problem."""
    shop = app.shop
    skus = {ln.offer_sku for o in orders for ln in o.lines}
    return resolve_skus(conn, shop.tables, id_shop=shop.context.id_shop, rule=platform.offers.sku, skus=skus)


def read_shop_figures(
    conn: Connection,
    app: App,
    platform: PlatformConfig,
    orders: Iterable[MiraklOrder],
    matches: Mapping[str, SkuMatch] | None = None,
    *,
    lock_stock: bool = False,
) -> tuple[dict[str, SkuMatch], dict[Key, StockLevel], dict[Key, int]]:
    """SKU matches, stock rows and reserved units for these orders, read in the caller's transaction.

    ``lock_stock``: the stock rows are read ``FOR UPDATE`` before the reservations. That lock is what
    keeps two runs deciding orders of the same products apart when their named locks are gone: the
    second waits for the first's commit, and its reservation read (a consistent read, whose snapshot
    InnoDB takes at the transaction's first non-locking read, so after the lock was granted) then
    sees the first run's decisions. The caller must not read anything without a lock before it.
    """
    shop = app.shop
    ctx = shop.context
    skus = {ln.offer_sku for o in orders for ln in o.lines if ln.offer_sku}  # resolve_skus skips empty ones
    if matches is None or not skus <= matches.keys():
        matches = match_skus(conn, app, platform, orders)
    refs = [m.ref for m in (matches.get(s) for s in skus) if m is not None and m.ref is not None]
    stock = stock_levels(
        conn,
        shop.tables,
        id_shop=ctx.id_shop,
        id_shop_group=ctx.id_shop_group,
        share_stock=ctx.share_stock,
        refs=refs,
        default_out_of_stock=ctx.config_int("PS_ORDER_OUT_OF_STOCK", 0),
        for_update=lock_stock,
    )
    if not ctx.config_bool("PS_STOCK_MANAGEMENT", True):  # PrestaShop sells without counting: so do we
        stock = {k: StockLevel(v.quantity, 1, v.id_stock_available) for k, v in stock.items()}
    reserved = omap.reserved_units(conn, app.state.t, products={r.id_product for r in refs})
    return dict(matches), stock, reserved


def gather(
    app: App,
    platform: PlatformConfig,
    client: MiraklClient,
    check_stop: Callable[[], None] | None = None,
    *,
    figures: bool = True,
) -> Gathered:
    """The waiting orders and what deciding them needs. ``figures=False``: SKU matches only, no stock
    or reservations (the accept task reads those again per batch, under the batch's row locks)."""
    waiting, invalid = list_waiting(client, check_stop)
    with app.engine.connect() as conn:
        rows = omap.get_orders(conn, app.state.t, platform.code, [o.order_id for o in waiting])
        todo = [o for o in waiting if (rows[o.order_id].status if o.order_id in rows else None) in DECIDABLE]
        answered = [(o, rows[o.order_id]) for o in waiting if o.order_id in rows and o not in todo]
        if figures:
            matches, stock, reserved = read_shop_figures(conn, app, platform, todo)
        else:
            matches, stock, reserved = dict(match_skus(conn, app, platform, todo)), {}, {}
    return Gathered(todo, invalid, answered, rows, matches, stock, reserved)


def plan(g: Gathered, platform: PlatformConfig) -> list[OrderDecision]:
    return decide(g.orders, g.stock, g.reserved, g.matches, policy_of(platform))


def line_figures(ln: LinePlan) -> dict[str, Any]:
    return {
        "order_line_id": ln.order_line_id,
        "sku": ln.offer_sku,
        "id_product": ln.key[0] if ln.key else None,
        "id_product_attribute": ln.key[1] if ln.key else None,
        "wanted": ln.wanted,
        "stock": ln.stock,
        "reserved": ln.reserved_before,
        "available": ln.available,
        "decision": ln.decision,
        "reason": ln.reason,
    }
