"""``orders pending --platform CODE [--json]``: what waits for acceptance and what the next run would do.

Read-only: the same gather and plan as the ``accept`` task (all ``WAITING_ACCEPTANCE`` pages, SKU
rule, stock rows, reservations of every platform, the platform's policy), no write and no OR21.
Per order: how long it has waited, the decision the next run would take and why; per line the
units wanted, in stock, already reserved (accepted-not-imported, plus older orders of the list)
and available. Orders the bridge already answered (a run is confirming them) and payloads that do
not parse are listed too. The figures are those of this instant: stock may move before the run.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO

from bridge.jobs.accept_plan import gather, line_figures, plan, policy_of
from bridge.state import orders as omap

if TYPE_CHECKING:
    from bridge.wiring import App

# (field, heading, alignment) of the per-line table
COLUMNS = (
    ("order_line_id", "line", "<"),
    ("sku", "sku", "<"),
    ("wanted", "wanted", ">"),
    ("stock", "stock", ">"),
    ("reserved", "reserved", ">"),
    ("available", "available", ">"),
    ("decision", "decision", "<"),
    ("reason", "reason", "<"),
)


def pending_orders(app: App, code: str, now: datetime) -> list[dict[str, Any]]:
    """One dict per order waiting for acceptance on the platform, oldest first."""
    platform = app.config.platform(code)
    g = gather(app, platform, app.mirakl(code))
    out: list[dict[str, Any]] = []
    for d in plan(g, platform):
        row = g.rows.get(d.order_id)
        out.append(
            {
                **_age(now, d.order.created_date),
                "order_id": d.order_id,
                "next_run": d.outcome,
                "reason": d.reason,
                "reasons": d.reasons,
                "bridge_status": row.status if row else None,
                "lines": [line_figures(ln) for ln in d.lines],
            }
        )
    for order, row in g.answered:
        out.append(
            {
                **_age(now, order.created_date),
                "order_id": order.order_id,
                "next_run": "reconcile" if row.status == omap.ACCEPTING else "none",
                "reason": f"already answered by the bridge (status {row.status})",
                "reasons": [],
                "bridge_status": row.status,
                "lines": [],
            }
        )
    for err in g.invalid:
        out.append(
            {
                "order_id": err.item_ref.removeprefix("order "),
                "created_date": None,
                "waited_s": None,
                "waited": "",
                "next_run": "error",
                "reason": f"{err.code}: {err.reason}",
                "reasons": [err.code],
                "bridge_status": None,
                "lines": [],
            }
        )
    return out


def cmd_orders_pending(app: App, code: str, as_json: bool, out: TextIO) -> int:
    platform = app.config.platform(code)
    orders = pending_orders(app, code, app.clock())
    policy = policy_of(platform)
    header = {
        "platform": code,
        "acceptance_enabled": platform.acceptance.enabled,
        "policy": {
            "on_shortage": policy.on_shortage,
            "partial": policy.partial,
            "on_unknown_sku": policy.on_unknown_sku,
            "stock_buffer": policy.stock_buffer,
        },
    }
    if as_json:
        out.write(json.dumps({**header, "orders": orders}, indent=2, ensure_ascii=False) + "\n")
    else:
        out.write(render_pending(header, orders))
    return 0


def render_pending(header: dict[str, Any], orders: list[dict[str, Any]]) -> str:
    p = header["policy"]
    title = (
        f"{header['platform']}: {len(orders)} order(s) waiting for acceptance "
        f"(on_shortage={p['on_shortage']}, partial={'yes' if p['partial'] else 'no'}, "
        f"unknown SKU={p['on_unknown_sku']}, stock buffer={p['stock_buffer']})"
    )
    lines = [title]
    if not header["acceptance_enabled"]:
        lines.append("acceptance.enabled = false for this platform: no run answers these orders")
    for o in orders:
        created = f"created {o['created_date']}, waiting {o['waited']}" if o["created_date"] else "unreadable"
        reasons = ", ".join(o["reasons"]) or o["reason"]
        lines.append("")
        lines.append(f"{o['order_id']}  {created}  -> next run: {o['next_run']} ({reasons})")
        if o["lines"]:
            lines.extend("    " + row for row in _table(o["lines"]))
    return "\n".join(lines) + "\n"


def _table(rows: list[dict[str, Any]]) -> list[str]:
    cells = [[h for _, h, _ in COLUMNS]] + [[str(r[k]) for k, _, _ in COLUMNS] for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(COLUMNS))]
    aligns = [a for _, _, a in COLUMNS]
    return ["  ".join(f"{cell:{a}{w}}" for cell, a, w in zip(c, aligns, widths)).rstrip() for c in cells]


def _age(now: datetime, created: datetime) -> dict[str, Any]:
    waited = max(0, int((now - created).total_seconds()))
    return {"created_date": created.isoformat(), "waited_s": waited, "waited": human_duration(waited)}


def human_duration(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min"
