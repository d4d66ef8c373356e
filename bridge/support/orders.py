"""Support commands for one Mirakl order: ``orders show`` and ``orders retry``.

``orders show MIRAKL_ID --platform CODE`` prints three sides of one order: Mirakl (OR11 by id: state,
lines, amounts), PrestaShop (the order the bridge created: id, reference, current state, totals) and
the bridge (order-map row, acceptance decisions, attempts, last error, next retry, and the task runs
whose report mention the order). Each side is shown even when another cannot be read.

``orders retry MIRAKL_ID`` makes a *held* order due now (``next_attempt_at = now``, status kept
``held``): the next ``import`` run re-reads it by id and imports it, under the runner's locks. It
does not import on the spot, so a support action never races a scheduled run.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TextIO

from sqlalchemy import and_, select
from sqlalchemy.engine import Connection

from bridge.domain.orders import MiraklOrder
from bridge.errors import MiraklError, SkippableError
from bridge.jobs.report import json_default
from bridge.state import orders as omap

if TYPE_CHECKING:
    from bridge.wiring import App

HISTORY_RUNS = 20


def cmd_orders_show(app: App, code: str, mirakl_id: str, as_json: bool, out: TextIO) -> int:
    """Print the Mirakl, PrestaShop and bridge sides of one order; 1 when no side knows it."""
    app.config.platform(code)  # ConfigError for an unknown platform
    info: dict[str, Any] = {"platform": code, "order_id": mirakl_id}
    info["mirakl"] = _mirakl_side(app, code, mirakl_id)
    with app.engine.connect() as conn:
        row = omap.get_order(conn, app.state.t, code, mirakl_id)
        info["bridge"] = _bridge_side(conn, app, code, mirakl_id, row)
        info["prestashop"] = _shop_side(conn, app, row.id_order) if row and row.id_order else None
        info["history"] = _history(conn, app, code, mirakl_id)
    if as_json:
        out.write(json.dumps(info, indent=2, ensure_ascii=False, default=json_default) + "\n")
    else:
        _print(info, out)
    known = info["mirakl"].get("found") or info["bridge"] is not None
    return 0 if known else 1


def cmd_orders_retry(app: App, code: str, mirakl_id: str, out: TextIO) -> int:
    """A held order becomes due now; 1 when the order is not held."""
    app.config.platform(code)
    now = app.clock()
    with app.engine.begin() as conn:
        row = omap.get_order(conn, app.state.t, code, mirakl_id, for_update=True)
        if row is None:
            out.write(f"{code} {mirakl_id}: unknown to the bridge (never seen by accept or import)\n")
            return 1
        if row.status != omap.HELD:
            out.write(f"{code} {mirakl_id}: status is {row.status}, not held; nothing to retry\n")
            return 1
        omap.make_due(conn, app.state.t, code, mirakl_id, now=now)
    out.write(
        f"{code} {mirakl_id}: held ({row.error_code}: {row.last_error}); due now, attempt {row.attempts + 1} "
        f"happens at the next import run (mirakl-bridge run-task import --platform {code})\n"
    )
    return 0


# --- the three sides -----------------------------------------------------------------------------


def _mirakl_side(app: App, code: str, mirakl_id: str) -> dict[str, Any]:
    try:
        order = app.mirakl(code).get_order(mirakl_id)
    except SkippableError as exc:
        return {"found": True, "error": f"unreadable payload: {exc.reason}"}
    except MiraklError as exc:
        return {"found": False, "error": str(exc)}
    if order is None:
        return {"found": False}
    return {"found": True, **_order_dict(order)}


def _order_dict(o: MiraklOrder) -> dict[str, Any]:
    return {
        "state": o.state, "created_date": o.created_date, "last_updated_date": o.last_updated_date,
        "currency": o.currency_iso_code, "price": o.price, "shipping_price": o.shipping_price,
        "total_price": o.total_price, "customer": f"{o.customer.firstname} {o.customer.lastname}".strip(),
        "shipping_type": o.shipping_type_code,
        "lines": [
            {"order_line_id": ln.order_line_id, "offer_sku": ln.offer_sku, "quantity": ln.quantity,
             "state": ln.state, "price": ln.price, "shipping_price": ln.shipping_price}
            for ln in o.lines
        ],
    }


def _bridge_side(conn: Connection, app: App, code: str, mirakl_id: str,
                 row: omap.OrderRow | None) -> dict[str, Any] | None:
    if row is None:
        return None
    fields = ("status", "mirakl_state", "id_order", "reference", "attempts", "error_code", "last_error",
              "next_attempt_at", "accepted_at", "imported_at", "shipped_at", "created_at", "updated_at")
    side = {f: getattr(row, f) for f in fields}
    side["decisions"] = [
        {k: d[k] for k in ("order_line_id", "offer_sku", "quantity", "decision", "reason", "units_reserved",
                           "phase")}
        for d in omap.decisions_of(conn, app.state.t, code, mirakl_id)
    ]
    return side


def _shop_side(conn: Connection, app: App, id_order: int) -> dict[str, Any] | None:
    st = app.shop.tables
    o, osl = st.orders, st.order_state_lang
    q = (
        select(o.c.id_order, o.c.reference, o.c.current_state, o.c.total_paid_tax_incl, o.c.total_paid_tax_excl,
               o.c.total_shipping_tax_incl, o.c.total_products_wt, o.c.id_customer, o.c.id_currency, o.c.date_add,
               osl.c.name.label("state_name"))
        .select_from(o.outerjoin(osl, and_(osl.c.id_order_state == o.c.current_state,
                                           osl.c.id_lang == app.shop.context.id_lang)))
        .where(o.c.id_order == id_order)
    )
    m = conn.execute(q).mappings().first()
    if m is None:
        return {"id_order": id_order, "error": "the order-map row names an order that is not in ps_orders"}
    return dict(m)


def _history(conn: Connection, app: App, code: str, mirakl_id: str) -> list[dict[str, Any]]:
    """Import/accept/ship runs whose report mentions the order (newest first): what each run did with it."""
    tr = app.state.t.task_run
    quoted = json.dumps(mirakl_id, ensure_ascii=False)[1:-1]  # as it appears in the report JSON
    needle = "%" + quoted.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_") + "%"
    rows = conn.execute(
        select(tr.c.run_id, tr.c.task, tr.c.started_at, tr.c.status, tr.c.report)
        .where(tr.c.platform == code, tr.c.report.like(needle, escape="\\"))
        .order_by(tr.c.started_at.desc(), tr.c.id.desc()).limit(HISTORY_RUNS)
    ).mappings()
    history = []
    for r in rows:
        try:
            report = json.loads(r["report"])
        except ValueError:
            continue
        outcome = [kind for kind, items in (report.get("items") or {}).items()
                   if any(i.get("order_id") == mirakl_id for i in items)]
        errors = [e.get("message", "") for e in report.get("errors") or [] if e.get("ref") == f"order {mirakl_id}"]
        if outcome or errors:
            history.append({"run_id": r["run_id"], "task": r["task"], "started_at": r["started_at"],
                            "run_status": r["status"], "outcome": outcome, "errors": errors})
    return history


# --- rendering -----------------------------------------------------------------------------------


def _print(info: dict[str, Any], out: TextIO) -> None:
    w = out.write
    w(f"Order {info['order_id']} on {info['platform']}\n\nMirakl\n")
    m = info["mirakl"]
    if not m.get("found") or "state" not in m:
        w(f"  {m.get('error') or 'not found by OR11'}\n")
    else:
        w(f"  state {m['state']}, updated {_fmt(m['last_updated_date'])}, created {_fmt(m['created_date'])}\n")
        w(f"  customer {m['customer']}, shipping type {m['shipping_type'] or '-'}\n")
        w(f"  total {m['total_price']} {m['currency']} (products {m['price']}, shipping {m['shipping_price']})\n")
        for ln in m["lines"]:
            w(f"  - line {ln['order_line_id']}: {ln['quantity']} x {ln['offer_sku']} = {ln['price']} "
              f"+ shipping {ln['shipping_price']} [{ln['state']}]\n")
    w("\nPrestaShop\n")
    p = info["prestashop"]
    if p is None:
        w("  no PrestaShop order\n")
    elif "error" in p:
        w(f"  id_order {p['id_order']}: {p['error']}\n")
    else:
        w(f"  id_order {p['id_order']}, reference {p['reference']}, state {p['state_name'] or p['current_state']}\n")
        w(f"  total paid {p['total_paid_tax_incl']} tax incl. ({p['total_paid_tax_excl']} tax excl.), "
          f"shipping {p['total_shipping_tax_incl']}, added {_fmt(p['date_add'])} (shop time)\n")
    w("\nBridge\n")
    b = info["bridge"]
    if b is None:
        w("  no order-map row (never seen by accept or import)\n")
    else:
        w(f"  status {b['status']} (Mirakl state when last seen: {b['mirakl_state'] or '-'}), "
          f"attempts {b['attempts']}\n")
        if b["error_code"] or b["last_error"]:
            w(f"  last error [{b['error_code']}] {b['last_error']}\n")
        if b["status"] == omap.HELD:
            w(f"  next attempt {_fmt(b['next_attempt_at']) if b['next_attempt_at'] else 'at the next run'}\n")
        for d in b["decisions"]:
            w(f"  - decision {d['order_line_id']} {d['offer_sku']} x{d['quantity']}: {d['decision']} "
              f"{d['reason']} ({d['phase']})\n")
    if info["history"]:
        w("\nHistory (newest first)\n")
        for h in info["history"]:
            what = ", ".join(h["outcome"] + [f"error: {e}" for e in h["errors"]])
            w(f"  {_fmt(h['started_at'])} {h['task']} run {h['run_id']} ({h['run_status']}): {what}\n")


def _fmt(value: Any) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc)
            return str(value.strftime("%Y-%m-%d %H:%M:%S UTC"))
        return str(value.strftime("%Y-%m-%d %H:%M:%S"))
    return "-" if value is None else str(value)
