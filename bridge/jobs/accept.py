"""Task ``accept``: answer Mirakl orders waiting for acceptance, never beyond the shop's stock.

gather -> plan -> apply, with every decision recorded around the OR21 call:

0. reconcile: order-map rows left ``accepting`` by an earlier run (a crash or an unverifiable OR21
   between the call and its record) are re-read on Mirakl and recorded as Mirakl has them; those
   still ``WAITING_ACCEPTANCE`` are sent (OR21) with their recorded decision, whose units are still
   reserved — never released to be decided again, since the row may belong to a run that is
   sending it right now (two runs without their named locks). Only a refused call releases one.
1. gather: every ``WAITING_ACCEPTANCE`` page (payloads that do not parse are reported, naming the
   order), the order-map rows, SKU matches (``offers.sku`` rule); for a dry run also the
   ``stock_available`` rows and the units reserved by accepted-not-imported orders of every
   platform of the shop (a real run reads them per batch, step 3a).
2. plan (dry run only): :func:`bridge.domain.acceptance.decide`, oldest order first.
3. apply, in batches of ``acceptance.batch_size`` orders (default 100), oldest first; stop requests
   are honoured between batches and between OR21 calls:
   a. one transaction for the whole batch: insert the missing order-map rows and lock every row of
      the batch (orders another run already answered are skipped), read stock and reservations of
      the batch's products, re-decide the batch oldest first against them (earlier batches are
      already recorded; inside the batch an order counts the units of the older ones), record the
      ``leave`` orders and every line of the others with phase ``intended``, status
      ``accepting`` — their reservations count from this commit on;
   b. OR21 order by order, each with every waiting line;
   c. one transaction for the orders whose OR21 was applied: phase ``confirmed``, status
      ``accepted`` (``refused`` when no line accepted).
   ``already_decided``: the order is re-read and recorded as Mirakl has it. A refused call (4xx, or
   429 after the retry budget) is recorded phase ``failed`` and releases the reservation; an
   unverifiable failure (timeout/5xx whose re-read failed) keeps the order ``accepting`` so the next
   run's reconcile settles it. 401/403 stops the run.
   When the batch stops early (stop request, 401/403, unexpected error) the orders already answered
   are confirmed (c) and those whose OR21 was certainly not sent are released (decisions
   ``failed``, status ``seen``: decided again next run) before the error goes up; the order whose
   call was in flight stays ``accepting``. A crash (or a database failure) between (a) and (c)
   leaves the whole batch ``accepting``/``intended``: nothing is sold twice meanwhile (the units
   stay reserved), and the next run's reconcile (step 0) records the answered ones as Mirakl has
   them and releases the others.

Orders left pending (policy ``leave``) get an order-map row ``seen`` carrying the reason, no line
rows and no reservation. The runner holds the shop-wide ``orders`` lock, so accept/import/ship of
every platform of the shop never run at the same time.

Test hook: with ``BRIDGE_FAULT_POINT=accept.after_or21`` in the environment the process kills itself
right after a successful OR21, before the batch's confirmation is recorded (bridge.faults;
``accept.after_or21:N``: after the N-th). Inert otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import structlog
from sqlalchemy.engine import Connection

from bridge.domain.acceptance import Key, OrderDecision, decide
from bridge.domain.orders import (
    CANCELED,
    DEAD_LINE_STATES,
    REFUSED,
    WAITING_ACCEPTANCE,
    MiraklOrder,
    OrderLine,
)
from bridge.errors import MiraklAuthError, MiraklError, MiraklFatalError, SkippableError
from bridge.faults import fault_point
from bridge.shop.skus import SkuMatch
from bridge.jobs.accept_plan import DECIDABLE, gather, line_figures, plan, policy_of, read_shop_figures
from bridge.state import orders as omap

if TYPE_CHECKING:
    from bridge.jobs.context import TaskContext

log = structlog.get_logger(__name__)

FAULT_AFTER_OR21 = "accept.after_or21"
DECIDED_ELSEWHERE = "decided_elsewhere"
LINE_CANCELED = "line_canceled"
LOG_EVENTS = {
    "accept": "order.accepted",
    "partial": "order.accepted",
    "refuse": "order.refused",
    "leave": "order.left_pending",
}
REPORT_KINDS = {"accept": "accepted", "partial": "accepted", "refuse": "refused", "leave": "left_pending"}


# --- the task --------------------------------------------------------------------------------


def run(ctx: TaskContext) -> None:
    if not ctx.dry_run:
        reconcile(ctx)
    # the task re-decides each batch against fresh figures: the run-wide stock read serves dry runs only
    g = gather(ctx.app, ctx.platform, ctx.mirakl, ctx.check_stop, figures=ctx.dry_run)
    for err in g.invalid:
        ctx.report.error(err.item_ref, err.reason, code=err.code)
    ctx.report.count("waiting", len(g.orders) + len(g.answered))
    for o, row in g.answered:
        ctx.report.count("already_answered")
        ctx.report.add("already_answered", order_id=o.order_id, status=row.status)
    if ctx.dry_run:
        decisions = plan(g, ctx.platform)
        for i, planned in enumerate(decisions, 1):
            ctx.check_stop()
            ctx.progress.step("accept", i, len(decisions))
            _report_decision(ctx, planned)
    else:
        size = ctx.platform.acceptance.batch_size
        for start in range(0, len(g.orders), size):  # g.orders: oldest first
            ctx.check_stop()
            batch = g.orders[start : start + size]
            apply_batch(ctx, batch, g.matches)
            ctx.progress.step("accept", start + len(batch), len(g.orders))
    ctx.progress.done()


def apply_one(ctx: TaskContext, planned: OrderDecision, matches: Mapping[str, SkuMatch]) -> None:
    """One order through the batch path (a batch of one)."""
    apply_batch(ctx, [planned.order], matches)


def apply_batch(ctx: TaskContext, orders: Sequence[MiraklOrder], matches: Mapping[str, SkuMatch]) -> None:
    """Steps 3a-3c of the module docstring for a batch of orders (oldest first)."""
    decisions = _record_intended(ctx, orders, matches)
    if not decisions:
        return
    sent: list[OrderDecision] = []  # OR21 applied, confirmation not recorded yet
    unsent = list(decisions)  # OR21 certainly not sent yet: released if the batch stops early
    try:
        while unsent:
            ctx.check_stop()
            decision = unsent[0]
            try:
                result = ctx.mirakl.accept_order(decision.order_id, decision.answers)
            except MiraklError as exc:
                unsent.pop(0)
                _call_failed(ctx, decision, exc)
                continue
            except BaseException:
                unsent.pop(0)  # maybe sent: stays ``accepting``, reconcile settles it
                raise
            unsent.pop(0)
            fault_point(FAULT_AFTER_OR21)
            if result == "already_decided":
                _already_decided(ctx, decision)
            else:
                sent.append(decision)
    except BaseException:
        _wind_down(ctx, sent, unsent)
        raise
    _confirm(ctx, sent)


def _record_intended(
    ctx: TaskContext, orders: Sequence[MiraklOrder], matches: Mapping[str, SkuMatch]
) -> list[OrderDecision]:
    """Step 3a for the batch, one transaction; returns the decisions whose OR21 is to be sent.

    Locks (inserting the missing ones) the order-map rows, skips the rows another run answered,
    re-decides the rest against fresh stock and reservations, records ``leave`` (``seen`` with the
    reason) and the others (lines ``intended``, status ``accepting``). Commits before returning.
    """
    app, code, t, now = ctx.app, ctx.platform.code, ctx.app.state.t, ctx.now()
    left: list[OrderDecision] = []
    with app.engine.begin() as conn:
        rows = omap.lock_orders(
            conn,
            t,
            code,
            [omap.NewOrder(o.order_id, o.state, o.created_date) for o in orders],
            now=now,
        )
        todo = []
        for order in orders:
            row = rows.get(order.order_id)
            if row is None or row.status not in DECIDABLE:
                ctx.report.count("already_answered")
                ctx.report.add("already_answered", order_id=order.order_id, status=row.status if row else None)
            else:
                todo.append(order)
        if not todo:
            return []
        # stock locked first: the serialisation point between runs (read_shop_figures); the order-map
        # statements above are locking ones, so the reservations are read in a snapshot taken after it
        _, stock, reserved = read_shop_figures(conn, app, ctx.platform, todo, matches, lock_stock=True)
        decided = decide(todo, stock, reserved, matches, policy_of(ctx.platform))
        answer = [d for d in decided if d.outcome != "leave"]
        left = [d for d in decided if d.outcome == "leave"]
        for state in sorted({d.order.state for d in left}):
            omap.set_batch_problems(
                conn,
                t,
                code,
                {d.order_id: (d.reason, _why(d)) for d in left if d.order.state == state},
                status=omap.SEEN,
                now=now,
                expected=[omap.SEEN],
                mirakl_state=state,
            )
        omap.record_batch_decisions(
            conn, t, code, {d.order_id: _line_rows(d) for d in answer}, phase="intended", now=now
        )
        for state in sorted({d.order.state for d in answer}):
            omap.set_batch_status(
                conn,
                t,
                code,
                [d.order_id for d in answer if d.order.state == state],
                status=omap.ACCEPTING,
                now=now,
                expected=[omap.SEEN],
                mirakl_state=state,
                error_code=None,
                last_error=None,
            )
    for d in left:
        _report_decision(ctx, d)
    return answer


def _confirm(ctx: TaskContext, sent: Sequence[OrderDecision]) -> None:
    """Step 3c for the batch: every order whose OR21 was applied, one transaction."""
    if not sent:
        return
    app, code, t, now = ctx.app, ctx.platform.code, ctx.app.state.t, ctx.now()
    accepted = [d.order_id for d in sent if any(ln.decision == "accept" for ln in d.lines)]
    refused = [d.order_id for d in sent if not any(ln.decision == "accept" for ln in d.lines)]
    with app.engine.begin() as conn:
        omap.set_batch_decisions_phase(conn, t, code, [d.order_id for d in sent], phase="confirmed", now=now)
        omap.set_batch_status(
            conn, t, code, accepted, status=omap.ACCEPTED, now=now, expected=[omap.ACCEPTING], accepted_at=now
        )
        omap.set_batch_status(conn, t, code, refused, status=omap.REFUSED, now=now, expected=[omap.ACCEPTING])
    for d in sent:
        _report_decision(ctx, d)


def _release(ctx: TaskContext, unsent: Sequence[OrderDecision]) -> None:
    """Orders whose OR21 was never sent: decisions ``failed``, status ``seen`` (no reservation left)."""
    if not unsent:
        return
    app, code, t, now = ctx.app, ctx.platform.code, ctx.app.state.t, ctx.now()
    ids = [d.order_id for d in unsent]
    with app.engine.begin() as conn:
        omap.set_batch_decisions_phase(conn, t, code, ids, phase="failed", now=now)
        omap.set_batch_status(conn, t, code, ids, status=omap.SEEN, now=now, expected=[omap.ACCEPTING])
    ctx.report.count("released", len(ids))
    log.info("order.batch_released", orders=len(ids), order_ids=ids)


def _wind_down(ctx: TaskContext, sent: Sequence[OrderDecision], unsent: Sequence[OrderDecision]) -> None:
    """The batch stops early (stop request, 401/403, unexpected error): record what is known for sure.

    Best effort: when the database fails too, the rows stay ``accepting`` and the next run's
    reconcile settles them from Mirakl (the original exception is the one re-raised).
    """
    try:
        _confirm(ctx, sent)
        _release(ctx, unsent)
    except Exception as exc:  # noqa: BLE001 - the caller re-raises the first error
        log.warning("order.batch_wind_down_failed", error=str(exc), sent=len(sent), unsent=len(unsent))


def _line_rows(decision: OrderDecision) -> list[omap.LineDecision]:
    return [
        omap.LineDecision(
            order_line_id=ln.order_line_id,
            offer_sku=ln.offer_sku,
            quantity=ln.wanted,
            decision=ln.decision,
            reason=ln.reason,
            units_reserved=ln.units_reserved,
            id_product=ln.key[0] if ln.key else None,
            id_product_attribute=ln.key[1] if ln.key else None,
        )
        for ln in decision.lines
    ]


def _why(decision: OrderDecision) -> str:
    parts = [
        f"{ln.order_line_id} {ln.offer_sku}: {ln.reason} (wanted {ln.wanted}, available {ln.available})"
        for ln in decision.lines
        if ln.reason in decision.reasons
    ]
    return "; ".join(parts) or decision.reason


def _report_decision(ctx: TaskContext, decision: OrderDecision) -> None:
    kind = REPORT_KINDS[decision.outcome]
    lines = [line_figures(ln) for ln in decision.lines]
    ctx.report.count(kind)
    if decision.outcome == "partial":
        ctx.report.count("partially_accepted")
    ctx.report.add(
        kind,
        order_id=decision.order_id,
        outcome=decision.outcome,
        reasons=decision.reasons,
        created_date=decision.order.created_date,
        lines=lines,
    )
    log.info(
        LOG_EVENTS[decision.outcome],
        order_id=decision.order_id,
        outcome=decision.outcome,
        reason=decision.reason,
        lines=lines,
        dry_run=ctx.dry_run,
    )


def _call_failed(ctx: TaskContext, decision: OrderDecision, exc: MiraklError) -> None:
    """OR21 raised. Refused for sure (4xx, 429): release. Maybe applied (5xx/timeout unverified): keep."""
    app, code, order_id, now = ctx.app, ctx.platform.code, decision.order_id, ctx.now()
    certain = _certainly_refused(exc)
    with app.engine.begin() as conn:
        if certain:
            omap.set_decisions_phase(conn, app.state.t, code, order_id, phase="failed", now=now)
            omap.note_failure(
                conn,
                app.state.t,
                code,
                order_id,
                status=omap.SEEN,
                code="or21_failed",
                message=str(exc),
                now=now,
            )
        else:
            omap.set_decisions_phase(conn, app.state.t, code, order_id, phase="sent", now=now)
            omap.note_failure(
                conn,
                app.state.t,
                code,
                order_id,
                status=omap.ACCEPTING,
                code="or21_unverified",
                message=str(exc),
                now=now,
            )
    ctx.report.error(
        f"order {order_id}",
        str(exc),
        code="or21_failed" if certain else "or21_unverified",
        reservation_kept=not certain,
    )
    log.warning("order.accept_failed", order_id=order_id, error=str(exc), reservation_kept=not certain)
    if isinstance(exc, MiraklAuthError):
        raise exc


def _certainly_refused(exc: MiraklError) -> bool:
    """The OR21 was not applied (4xx, or 429 after the retry budget); else it may have been (5xx, timeout)."""
    return isinstance(exc, MiraklFatalError) or exc.status == 429


def _already_decided(ctx: TaskContext, decision: OrderDecision) -> None:
    order_id = decision.order_id
    current = _reread(ctx, order_id)
    if current is None:  # stays ``accepting`` (reservation kept): the next run's reconcile settles it
        return
    status = _settle_if_accepting(ctx, current, {ln.order_line_id: ln.key for ln in decision.lines}, {})
    ctx.report.count("already_decided")
    ctx.report.add("already_decided", order_id=order_id, mirakl_state=current.state, status=status)
    log.info("order.already_decided", order_id=order_id, mirakl_state=current.state, status=status)


def _reread(ctx: TaskContext, order_id: str) -> MiraklOrder | None:
    """The order as Mirakl has it after an OR21 found it answered; None (reported) when it cannot be read."""
    try:
        current = ctx.mirakl.get_order(order_id)
        problem = "not found"
    except MiraklAuthError:
        raise
    except (MiraklError, SkippableError) as exc:
        current, problem = None, str(exc)
    if current is None:
        ctx.report.error(f"order {order_id}", f"already decided on Mirakl, re-read failed: {problem}",
                         code="reread_failed")
    return current


def _settle_if_accepting(
    ctx: TaskContext, order: MiraklOrder, keys: Mapping[str, Key | None], intended: Mapping[str, tuple[str, str]]
) -> str | None:
    """:func:`settle` in its own transaction, if the row is still ``accepting`` (else another run did: None)."""
    with ctx.app.engine.begin() as conn:
        return settle(conn, ctx, order, keys, intended) if _still_accepting(conn, ctx, order.order_id) else None


# --- recording what Mirakl says --------------------------------------------------------------


def settle(
    conn: Connection,
    ctx: TaskContext,
    order: MiraklOrder,
    keys: Mapping[str, Key | None],
    intended: Mapping[str, tuple[str, str]],
) -> str:
    """Record ``order`` as Mirakl has it (row must be ``accepting``); returns the new map status.

    Still waiting on Mirakl -> decisions ``failed``, status ``seen`` (decided again normally).
    Otherwise each line: accepted (units reserved) unless refused/cancelled; phase ``confirmed``.
    ``intended`` (line id -> (decision, reason)) keeps our reason where Mirakl agrees with us.
    """
    t, code, now = ctx.app.state.t, ctx.platform.code, ctx.now()
    if any(ln.state == WAITING_ACCEPTANCE for ln in order.lines):
        omap.set_decisions_phase(conn, t, code, order.order_id, phase="failed", now=now)
        omap.set_status(
            conn,
            t,
            code,
            order.order_id,
            status=omap.SEEN,
            now=now,
            expected=[omap.ACCEPTING],
            mirakl_state=order.state,
        )
        return omap.SEEN
    rows = [
        _line_as_mirakl_has_it(ln, keys.get(ln.order_line_id), intended.get(ln.order_line_id))
        for ln in order.lines
    ]
    omap.record_decisions(conn, t, code, order.order_id, rows, phase="confirmed", now=now)
    accepted_any = any(r.decision == "accept" for r in rows)
    status = omap.ACCEPTED if accepted_any else (omap.CANCELLED if order.state == CANCELED else omap.REFUSED)
    omap.set_status(
        conn,
        t,
        code,
        order.order_id,
        status=status,
        now=now,
        expected=[omap.ACCEPTING],
        mirakl_state=order.state,
        accepted_at=now if accepted_any else None,
    )
    return status


def _line_as_mirakl_has_it(ln: OrderLine, key: Key | None, ours: tuple[str, str] | None) -> omap.LineDecision:
    accepted = ln.state not in DEAD_LINE_STATES
    decision = "accept" if accepted else "refuse"
    if ours is not None and ours[0] == decision:
        reason = ours[1]
    else:
        reason = DECIDED_ELSEWHERE if accepted or ln.state == REFUSED else LINE_CANCELED
    return omap.LineDecision(
        order_line_id=ln.order_line_id,
        offer_sku=ln.offer_sku,
        quantity=ln.quantity,
        decision=decision,
        reason=reason,
        units_reserved=ln.quantity if accepted else 0,
        id_product=key[0] if key else None,
        id_product_attribute=key[1] if key else None,
    )


def reconcile(ctx: TaskContext) -> None:
    """Settle order-map rows left ``accepting`` (see the module docstring, step 0).

    Answered on Mirakl: recorded as Mirakl has it. Still waiting: the recorded decision is sent
    (its units are still reserved, so it is still within the stock), never released to be decided
    again — the row may belong to a run that is sending it right now (two runs whose named locks
    are gone): releasing it would let its units be given to another order while that run's OR21
    lands. A refused call releases it, as in step 3.
    """
    app, code, t = ctx.app, ctx.platform.code, ctx.app.state.t
    with app.engine.connect() as conn:
        rows = omap.orders_with_status(conn, t, code, [omap.ACCEPTING])
    if not rows:
        return
    found, invalid = ctx.mirakl.list_orders(order_ids=[r.mirakl_order_id for r in rows])
    by_id = {o.order_id: o for o in found}
    for err in invalid:
        ctx.report.error(err.item_ref, f"cannot reconcile: {err.reason}", code=err.code)
    for row in rows:
        ctx.check_stop()
        order = by_id.get(row.mirakl_order_id)
        if order is None:
            ctx.report.error(
                f"order {row.mirakl_order_id}",
                "answered by an earlier run but not found on Mirakl",
                code="reconcile_not_found",
            )
            continue
        with app.engine.begin() as conn:
            locked = omap.get_order(conn, t, code, row.mirakl_order_id, for_update=True)
            if locked is None or locked.status != omap.ACCEPTING:
                continue
            keys, intended = _recorded(conn, ctx, row.mirakl_order_id)
            answers = _resend_answers(order, intended)
            settled = settle(conn, ctx, order, keys, intended) if answers is None else None
        status = settled if answers is None else _resend(ctx, order, answers, keys, intended)  # OR21 out of the lock
        if status is None:
            continue
        ctx.report.count("reconciled")
        ctx.report.add("reconciled", order_id=row.mirakl_order_id, mirakl_state=order.state, status=status)
        log.info("order.reconciled", order_id=row.mirakl_order_id, mirakl_state=order.state, status=status)


def _recorded(
    conn: Connection, ctx: TaskContext, order_id: str
) -> tuple[dict[str, Key | None], dict[str, tuple[str, str]]]:
    """The recorded line decisions of an order: line id -> product key, line id -> (decision, reason)."""
    ours = omap.decisions_of(conn, ctx.app.state.t, ctx.platform.code, order_id)
    keys: dict[str, Key | None] = {
        d["order_line_id"]: (int(d["id_product"]), int(d["id_product_attribute"] or 0))
        for d in ours
        if d["id_product"] is not None
    }
    return keys, {d["order_line_id"]: (d["decision"], d["reason"]) for d in ours}


def _resend_answers(order: MiraklOrder, intended: Mapping[str, tuple[str, str]]) -> dict[str, bool] | None:
    """OR21 answers from the recorded decisions when the order still waits and every waiting line has one."""
    waiting = [ln.order_line_id for ln in order.lines if ln.state == WAITING_ACCEPTANCE]
    if not waiting or any(lid not in intended for lid in waiting):
        return None
    return {lid: intended[lid][0] == "accept" for lid in waiting}


def _resend(
    ctx: TaskContext,
    order: MiraklOrder,
    answers: Mapping[str, bool],
    keys: Mapping[str, Key | None],
    intended: Mapping[str, tuple[str, str]],
) -> str | None:
    """OR21 with the recorded decision of an order still waiting; the new map status (None: left as is)."""
    app, code, t, order_id = ctx.app, ctx.platform.code, ctx.app.state.t, order.order_id
    try:
        result = ctx.mirakl.accept_order(order_id, answers)
    except MiraklAuthError:
        raise
    except MiraklError as exc:
        certain = _certainly_refused(exc)
        ctx.report.error(f"order {order_id}", f"reconcile: {exc}", code="or21_failed" if certain else "or21_unverified",
                         reservation_kept=not certain)
        if not certain:
            return None
        return _settle_if_accepting(ctx, order, keys, intended)  # refused for sure: released, decided again later
    fault_point(FAULT_AFTER_OR21)
    if result == "already_decided":
        current = _reread(ctx, order_id)
        return None if current is None else _settle_if_accepting(ctx, current, keys, intended)
    accepted = any(answers.values())
    now = ctx.now()
    with app.engine.begin() as conn:
        if not _still_accepting(conn, ctx, order_id):
            return None
        omap.set_decisions_phase(conn, t, code, order_id, phase="confirmed", now=now)
        status = omap.ACCEPTED if accepted else omap.REFUSED
        omap.set_status(conn, t, code, order_id, status=status, now=now, expected=[omap.ACCEPTING],
                        accepted_at=now if accepted else None)
    return status


def _still_accepting(conn: Connection, ctx: TaskContext, order_id: str) -> bool:
    row = omap.get_order(conn, ctx.app.state.t, ctx.platform.code, order_id, for_update=True)
    return row is not None and row.status == omap.ACCEPTING


__all__ = ["FAULT_AFTER_OR21", "apply_batch", "apply_one", "reconcile", "run", "settle"]
