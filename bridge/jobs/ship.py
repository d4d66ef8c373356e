"""Task ``ship``: tell Mirakl about imported orders the merchant shipped, and follow Mirakl cancellations.

1. gather: the platform's ``imported`` orders as PrestaShop has them (one query,
   ``bridge.shop.shipments``), the same orders on Mirakl (OR11 ``order_ids``, 100 per call), the
   PrestaShop cancelled state, and — only when a confirmation may use a mapped code — the SH21
   carrier list once (a failing SH21 is reported and the mapping is then trusted as it is);
2. plan: :func:`bridge.domain.shipping.decide` per order;
3. apply, order by order (stop requests honoured between orders):
   - confirm: OR23 (carrier + tracking, when there is a tracking number) then OR24; ``already_shipped``
     counts as done; success -> order map ``shipped`` + ``shipped_at`` in one small transaction. A
     refused call (4xx) is reported with Mirakl's message and the run goes on; the order stays
     ``imported`` and is tried again next run. 401/403 and exhausted retries stop the run;
   - cancelled on Mirakl: ONE transaction: order map ``imported -> cancelled`` (conditional: only the
     run that wins it goes on, so a re-run never cancels twice) and, with ``ship.sync_cancellations``,
     :func:`bridge.shop.order_state.change_state` to the cancelled state (PrestaShop gives the stock
     back). The PrestaShop order is re-read under a row lock first: shipped meanwhile -> left alone.
     Without ``sync_cancellations`` the map row still becomes ``cancelled`` (the cancellation is
     reported once) and PrestaShop is not touched;
   - partial cancellations are reported on every run until the merchant refunds the missing units in
     PrestaShop (no line-level refund is written by the bridge).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta

import structlog

from bridge.domain.orders import SHIPPED, MiraklOrder
from bridge.domain.shipping import (
    AlreadyShipped,
    CancelOrder,
    Confirm,
    Decision,
    PartialCancellation,
    ShipRules,
    ShopShipment,
    WaitForTracking,
    decide,
)
from bridge.errors import MiraklAuthError, MiraklError, MiraklFatalError
from bridge.jobs.context import TaskContext
from bridge.shop.order_state import change_state
from bridge.shop.shipments import imported_shipments, lock_order_state, order_state_id
from bridge.state import orders as omap

log = structlog.get_logger(__name__)


def run(ctx: TaskContext) -> None:
    p, app = ctx.platform, ctx.app
    with app.engine.connect() as conn:
        shipments = imported_shipments(conn, app.shop, app.state.t.order, p.code, statuses=[omap.IMPORTED])
        cancelled_state = order_state_id(conn, app.shop, p.ship.cancelled_state)
    ctx.report.count("checked", len(shipments))
    if not shipments:
        return
    on_mirakl = _mirakl_orders(ctx, [s.mirakl_order_id for s in shipments])
    for missing in (s for s in shipments if s.mirakl_order_id not in on_mirakl):
        ctx.report.count("not_found_on_mirakl")
        ctx.report.add("not_found_on_mirakl", order_id=missing.mirakl_order_id, id_order=missing.id_order)
    rules = ShipRules(
        carriers=dict(p.ship.carriers),
        wait_for_tracking=timedelta(minutes=p.ship.wait_for_tracking_min),
        allow_without_tracking=p.ship.allow_without_tracking,
        sync_cancellations=p.ship.sync_cancellations,
        cancelled_state=cancelled_state,
        known_carrier_codes=_carrier_codes(ctx, shipments),
    )
    for done, shipment in enumerate(shipments, 1):
        ctx.check_stop()
        for decision in decide(shipment, on_mirakl.get(shipment.mirakl_order_id), rules, ctx.now()):
            _apply(ctx, decision, cancelled_state)
        ctx.progress.step("ship", done, len(shipments))
    ctx.progress.done()


def _mirakl_orders(ctx: TaskContext, ids: list[str]) -> dict[str, MiraklOrder]:
    """OR11 by id (the client sends 100 ids per call); unparseable orders are reported, not fatal."""
    found: dict[str, MiraklOrder] = {}
    for page in ctx.mirakl.iter_order_pages(order_ids=ids):
        for bad in page.invalid:
            ctx.report.error(bad.item_ref, bad.reason, code=bad.code)
        found.update((o.order_id, o) for o in page.orders)
    return found


def _carrier_codes(ctx: TaskContext, shipments: list[ShopShipment]) -> frozenset[str] | None:
    """SH21 codes, fetched only when a mapped code may be sent; None (mapping trusted) when unavailable."""
    if not ctx.platform.ship.carriers or not any(s.shipped and s.tracking_number for s in shipments):
        return None
    try:
        return frozenset(c.code for c in ctx.mirakl.carriers())
    except MiraklAuthError:
        raise
    except MiraklError as exc:
        log.warning("ship.carriers_unavailable", error=exc.mirakl_message, status=exc.status)
        ctx.report.extra["carriers_unavailable"] = exc.mirakl_message
        return None


def _apply(ctx: TaskContext, decision: Decision, cancelled_state: int) -> None:
    if isinstance(decision, Confirm):
        _confirm(ctx, decision)
    elif isinstance(decision, AlreadyShipped):
        _record_shipped(ctx, decision.order_id, decision.id_order, already=True)
    elif isinstance(decision, WaitForTracking):
        _waiting(ctx, decision)
    elif isinstance(decision, CancelOrder):
        _cancel(ctx, decision, cancelled_state)
    elif isinstance(decision, PartialCancellation):
        ctx.report.count("partially_cancelled")
        ctx.report.add(
            "partially_cancelled",
            order_id=decision.order_id,
            id_order=decision.id_order,
            prestashop_units=decision.shop_units,
            live_units=decision.live_units,
            cancelled_lines=list(decision.cancelled_lines),
            prestashop="unchanged",
        )
        log.warning(
            "order.cancelled_on_mirakl",
            order_id=decision.order_id,
            id_order=decision.id_order,
            partial=True,
            prestashop_units=decision.shop_units,
            live_units=decision.live_units,
        )


def _confirm(ctx: TaskContext, d: Confirm) -> None:
    carrier = {"carrier_reference": d.carrier_reference, "carrier_name": d.carrier_name}
    if d.unmapped_carrier:
        ctx.report.count("unmapped_carrier")
        ctx.report.add("unmapped_carrier", order_id=d.order_id, id_order=d.id_order, **carrier)
    if d.unknown_code:
        ctx.report.count("unknown_carrier_code")
        ctx.report.add("unknown_carrier_code", order_id=d.order_id, code=d.unknown_code, **carrier)
    tracking = d.tracking
    if ctx.dry_run:
        ctx.report.count("would_confirm")
        ctx.report.add(
            "would_confirm",
            order_id=d.order_id,
            id_order=d.id_order,
            tracking=asdict(tracking) if tracking else None,
        )
        return
    try:
        if tracking is not None:
            ctx.mirakl.update_tracking(
                d.order_id,
                carrier_code=tracking.carrier_code,
                carrier_name=tracking.carrier_name,
                carrier_url=tracking.carrier_url,
                tracking_number=tracking.tracking_number,
            )
        outcome = ctx.mirakl.ship_order(d.order_id)
    except MiraklAuthError:
        raise
    except MiraklFatalError as exc:
        ctx.report.error(
            f"order {d.order_id}",
            exc.mirakl_message,
            code="ship_failed",
            endpoint=exc.endpoint,
            status=exc.status,
            id_order=d.id_order,
        )
        log.warning(
            "order.ship_failed",
            order_id=d.order_id,
            id_order=d.id_order,
            endpoint=exc.endpoint,
            status=exc.status,
            error=exc.mirakl_message,
        )
        return
    _record_shipped(
        ctx,
        d.order_id,
        d.id_order,
        already=outcome == "already_shipped",
        tracking=tracking.tracking_number if tracking else None,
    )


def _record_shipped(
    ctx: TaskContext, order_id: str, id_order: int, *, already: bool, tracking: str | None = None
) -> None:
    if already:
        ctx.report.count("already_shipped")
    if ctx.dry_run:
        return
    now = ctx.now()
    with ctx.app.engine.begin() as conn:
        omap.set_status(
            conn,
            ctx.app.state.t,
            ctx.platform.code,
            order_id,
            status=omap.SHIPPED,
            now=now,
            expected=[omap.IMPORTED],
            shipped_at=now,
            mirakl_state=SHIPPED,
        )
    ctx.report.count("confirmed")
    ctx.report.add(
        "confirmed", order_id=order_id, id_order=id_order, tracking=tracking, already_shipped=already
    )
    log.info(
        "order.ship_confirmed",
        order_id=order_id,
        id_order=id_order,
        with_tracking=tracking is not None,
        already_shipped=already,
    )


def _waiting(ctx: TaskContext, d: WaitForTracking) -> None:
    ctx.report.count("waiting_for_tracking")
    ctx.report.add(
        "waiting_for_tracking",
        order_id=d.order_id,
        id_order=d.id_order,
        reason=d.reason,
        remaining_min=d.remaining_min,
        overdue=d.overdue,
    )
    (log.warning if d.overdue else log.info)(
        "order.waiting_for_tracking",
        order_id=d.order_id,
        id_order=d.id_order,
        reason=d.reason,
        remaining_min=d.remaining_min,
        overdue=d.overdue,
    )


def _cancel(ctx: TaskContext, d: CancelOrder, cancelled_state: int) -> None:
    """One transaction: map imported -> cancelled (the guard), then the PrestaShop state when asked."""
    ref = f"order {d.order_id}"
    if d.change_shop and not cancelled_state:
        key = ctx.platform.ship.cancelled_state
        ctx.report.error(
            ref,
            f"ship.cancelled_state {key!r} is not an order state of the shop",
            code="cancelled_state_unknown",
        )
        return
    if ctx.dry_run:
        ctx.report.add(
            "would_cancel", order_id=d.order_id, id_order=d.id_order, change_prestashop=d.change_shop
        )
        return
    now, note, changed = ctx.now(), d.note, d.change_shop
    conflict = d.conflict
    with ctx.app.engine.begin() as conn:
        if not omap.set_status(
            conn,
            ctx.app.state.t,
            ctx.platform.code,
            d.order_id,
            status=omap.CANCELLED,
            now=now,
            expected=[omap.IMPORTED],
            cancelled_at=now,
            mirakl_state=d.mirakl_state,
        ):
            return  # another run recorded it first
        if changed:
            current = lock_order_state(conn, ctx.app.shop, d.id_order)
            if current is None or current[1] or current[0] == cancelled_state:
                changed, conflict = False, bool(current and current[1])
                note = "PrestaShop order changed meanwhile: left as it is"
            else:
                change_state(conn, ctx.app.shop, d.id_order, cancelled_state, now)
    ctx.report.count("cancelled")
    ctx.report.add(
        "cancelled",
        order_id=d.order_id,
        id_order=d.id_order,
        mirakl_state=d.mirakl_state,
        prestashop="cancelled" if changed else "unchanged",
        note=note,
    )
    if conflict:
        ctx.report.error(
            ref,
            "cancelled on Mirakl but shipped in PrestaShop: check with the customer",
            code="cancelled_after_shipping",
            id_order=d.id_order,
        )
    log.warning(
        "order.cancelled_on_mirakl",
        order_id=d.order_id,
        id_order=d.id_order,
        mirakl_state=d.mirakl_state,
        prestashop_changed=changed,
        conflict=conflict,
    )
