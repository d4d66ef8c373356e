"""Order state of the simulator: OR11 listing, OR21 / OR23 / OR24 and the order lifecycle.

Orders are kept as Mirakl-shaped dicts in their own tax mode (normally TAX_INCLUDED) and rendered
per request: tax mode conversion, addresses hidden before SHIPPING, totals over live lines.
Not thread-safe by itself: the simulator calls it under its lock.
"""

from __future__ import annotations

import copy
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bridge.sandbox.orders_gen import iso

MAX_IDS = 100
MAX_PAGE = 100
DEFAULT_PAGE = 10
ADDRESS_STATES = frozenset({"SHIPPING", "SHIPPED", "TO_COLLECT", "RECEIVED", "CLOSED", "INCIDENT_OPEN"})
DEAD = frozenset({"REFUSED", "CANCELED"})
CENT = Decimal("0.01")
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class SimError(Exception):
    """An HTTP error answer with Mirakl's JSON body ``{"message", "status"}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class _Meta:
    polls_waiting_debit: int = 0
    addresses_visible: bool = False


def _dec(value: object) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if value is None or isinstance(value, bool):
        return Decimal("0")
    return Decimal(str(value))


def _tax_sum(taxes: object) -> Decimal:
    if not isinstance(taxes, list):
        return Decimal("0")
    return sum((_dec(t.get("amount")) for t in taxes if isinstance(t, dict)), Decimal("0"))


def _date_of(order: Mapping[str, Any], key: str) -> datetime:
    """A date field of a stored order; missing or unreadable dates sort first (hostile fixtures)."""
    value = order.get(key)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return EPOCH
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


class OrderBook:
    def __init__(self, clock: Callable[[], datetime], *, debit_after_polls: int = 1) -> None:
        self.clock = clock
        self.debit_after_polls = debit_after_polls
        self.default_tax_mode = "TAX_INCLUDED"
        self.orders: dict[str, dict[str, Any]] = {}
        self.meta: dict[str, _Meta] = {}
        self.decisions: dict[str, list[dict[str, Any]]] = {}
        self.tracking: dict[str, dict[str, Any]] = {}
        self.carriers: list[dict[str, Any]] = []

    # --- loading and test controls -----------------------------------------------------------

    def add(self, order: Mapping[str, Any]) -> None:
        order_id = order.get("order_id")
        if not isinstance(order_id, str) or not order_id:
            raise ValueError("an order needs a non-empty string order_id")
        if order_id in self.orders:
            raise ValueError(f"order {order_id} is already in the simulator")
        stored = copy.deepcopy(dict(order))
        self.orders[order_id] = stored
        self.meta[order_id] = _Meta(addresses_visible=stored.get("order_state") in ADDRESS_STATES)

    def _get(self, order_id: str) -> dict[str, Any]:
        try:
            return self.orders[order_id]
        except KeyError:
            raise SimError(404, f"Order with id {order_id} not found") from None

    def _bump(self, order: dict[str, Any], lines: list[dict[str, Any]] | None = None) -> str:
        now = iso(self.clock())
        order["last_updated_date"] = now
        for line in lines if lines is not None else order.get("order_lines", []):
            line["last_updated_date"] = now
        return now

    def set_state(self, order_id: str, state: str, *, line_state: str | None = None) -> None:
        order = self._get(order_id)
        order["order_state"] = state
        for line in order["order_lines"]:
            if line.get("order_line_state") not in DEAD:
                line["order_line_state"] = line_state or state
        if state in ADDRESS_STATES:
            self.meta[order_id].addresses_visible = True
        self._bump(order)

    def cancel_line(self, order_id: str, line_id: str, *, reason_code: str = "OPERATOR_CANCEL") -> None:
        order = self._get(order_id)
        line = next((ln for ln in order["order_lines"] if ln.get("order_line_id") == line_id), None)
        if line is None:
            raise ValueError(f"order {order_id} has no line {line_id}")
        line["order_line_state"] = "CANCELED"
        line["cancelations"] = [
            *line.get("cancelations", []),
            {
                "id": f"C-{line_id}",
                "amount": line.get("price"),
                "quantity": line.get("quantity"),
                "reason_code": reason_code,
                "shipping_amount": line.get("shipping_price"),
                "taxes": [],
                "shipping_taxes": [],
                "created_date": iso(self.clock()),
            },
        ]
        self._settle(order)
        self._bump(order)

    def _settle(self, order: dict[str, Any]) -> None:
        states = [ln.get("order_line_state") for ln in order["order_lines"]]
        if all(s in DEAD for s in states):
            order["order_state"] = "REFUSED" if all(s == "REFUSED" for s in states) else "CANCELED"

    def advance(self) -> None:
        """Every order waiting for its debit becomes SHIPPING now."""
        for order_id, order in self.orders.items():
            if order.get("order_state") in ("WAITING_DEBIT", "WAITING_DEBIT_PAYMENT"):
                self._to_shipping(order_id, order)

    def _to_shipping(self, order_id: str, order: dict[str, Any]) -> None:
        now = self._bump(order)
        order["order_state"] = "SHIPPING"
        order["customer_debited_date"] = now
        order["can_shop_ship"] = True
        for line in order["order_lines"]:
            if line.get("order_line_state") not in DEAD:
                line["order_line_state"] = "SHIPPING"
                line["debited_date"] = now
                line["can_refund"] = True
        self.meta[order_id].addresses_visible = True

    def after_poll(self) -> None:
        """Called after each OR11 answer: the operator debits customers of accepted orders."""
        for order_id, order in self.orders.items():
            if order.get("order_state") not in ("WAITING_DEBIT", "WAITING_DEBIT_PAYMENT"):
                continue
            meta = self.meta[order_id]
            meta.polls_waiting_debit += 1
            if meta.polls_waiting_debit >= self.debit_after_polls:
                self._to_shipping(order_id, order)

    # --- OR11 ----------------------------------------------------------------------------------

    def list_orders(self, query: Mapping[str, str], *, repeat_page: bool = False) -> dict[str, Any]:
        selected = list(self.orders.values())
        ids = [i for i in query.get("order_ids", "").split(",") if i]
        if len(ids) > MAX_IDS:
            raise SimError(400, "The limit of 100 is exceeded for the parameter : order_ids")
        if "order_ids" in query:
            wanted = set(ids)
            selected = [o for o in selected if o["order_id"] in wanted]
        states = [s for s in query.get("order_state_codes", "").split(",") if s]
        if states:
            selected = [o for o in selected if o.get("order_state") in states]
        for param, key, keep in (
            ("start_update_date", "last_updated_date", operator.ge),
            ("end_update_date", "last_updated_date", operator.le),
            ("start_date", "created_date", operator.ge),
            ("end_date", "created_date", operator.le),
        ):
            if param in query:
                limit = self._query_date(query[param], param)
                selected = [o for o in selected if keep(_date_of(o, key), limit)]
        selected.sort(
            key=lambda o: (_date_of(o, "created_date"), o["order_id"]), reverse=query.get("order") == "desc"
        )
        size, offset = self._int(query, "max", DEFAULT_PAGE), self._int(query, "offset", 0)
        if size > MAX_PAGE or size < 1:
            raise SimError(400, "Parameter 'max' must be between 1 and 100")
        tax_mode = query.get("order_tax_mode", self.default_tax_mode)
        if tax_mode not in ("TAX_INCLUDED", "TAX_EXCLUDED"):
            raise SimError(400, f"Invalid value for parameter order_tax_mode: {tax_mode}")
        page = selected[:size] if repeat_page else selected[offset : offset + size]
        return {"orders": [self.render(o, tax_mode) for o in page], "total_count": len(selected)}

    @staticmethod
    def _int(query: Mapping[str, str], name: str, default: int) -> int:
        value = query.get(name)
        if value is None:
            return default
        if not value.isdigit():
            raise SimError(400, f"Invalid value for parameter {name}: {value}")
        return int(value)

    @staticmethod
    def _query_date(value: str, name: str) -> datetime:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise SimError(400, f"Invalid date format for parameter {name}: {value}") from None
        if parsed.tzinfo is None:
            raise SimError(400, f"Invalid date format for parameter {name}: {value} (no time zone)")
        return parsed

    def render(self, order: Mapping[str, Any], tax_mode: str) -> dict[str, Any]:
        out = copy.deepcopy(dict(order))
        base_mode = out.get("order_tax_mode") or "TAX_INCLUDED"
        if base_mode != tax_mode:
            sign = Decimal(-1) if tax_mode == "TAX_EXCLUDED" else Decimal(1)
            for line in out["order_lines"]:
                qty = int(line.get("quantity") or 1)
                line["price"] = _dec(line.get("price")) + sign * _tax_sum(line.get("taxes"))
                line["shipping_price"] = _dec(line.get("shipping_price")) + sign * _tax_sum(
                    line.get("shipping_taxes")
                )
                unit = (line["price"] / qty).quantize(CENT, rounding=ROUND_HALF_UP)
                line["price_unit"] = unit
                line["origin_unit_price"] = unit
                line["total_price"] = line["price"] + line["shipping_price"]
            out["order_tax_mode"] = tax_mode
        live = [ln for ln in out["order_lines"] if ln.get("order_line_state") not in DEAD] or out[
            "order_lines"
        ]
        out["price"] = sum((_dec(ln.get("price")) for ln in live), Decimal("0"))
        out["shipping_price"] = sum((_dec(ln.get("shipping_price")) for ln in live), Decimal("0"))
        out["total_price"] = out["price"] + out["shipping_price"]
        if not self.meta[out["order_id"]].addresses_visible and isinstance(out.get("customer"), dict):
            out["customer"]["billing_address"] = None
            out["customer"]["shipping_address"] = None
        return out

    # --- OR21 / OR23 / OR24 --------------------------------------------------------------------

    def accept(self, order_id: str, body: object) -> None:
        order = self._get(order_id)
        if (
            not isinstance(body, dict)
            or not isinstance(body.get("order_lines"), list)
            or not body["order_lines"]
        ):
            raise SimError(400, "The request body must contain a non-empty 'order_lines' list")
        state = order.get("order_state")
        if state != "WAITING_ACCEPTANCE":
            raise SimError(
                400, f"The order {order_id} cannot be accepted or refused. Current status is {state}"
            )
        waiting = {
            ln["order_line_id"]: ln
            for ln in order["order_lines"]
            if ln.get("order_line_state") == "WAITING_ACCEPTANCE"
        }
        answers: dict[str, bool] = {}
        for item in body["order_lines"]:
            if (
                not isinstance(item, dict)
                or not isinstance(item.get("accepted"), bool)
                or not isinstance(item.get("id"), str)
            ):
                raise SimError(400, "Each order line needs 'id' (string) and 'accepted' (boolean)")
            if item["id"] not in waiting:
                raise SimError(
                    400, f"The order line {item['id']} is not waiting for acceptance in order {order_id}"
                )
            answers[item["id"]] = item["accepted"]
        missing = sorted(set(waiting) - set(answers))
        if missing:
            raise SimError(400, f"All order lines must be accepted or refused; missing: {', '.join(missing)}")
        self.decisions.setdefault(order_id, []).append(copy.deepcopy(body))
        for line_id, accepted in answers.items():
            waiting[line_id]["order_line_state"] = "WAITING_DEBIT_PAYMENT" if accepted else "REFUSED"
        now = self._bump(order)
        order["acceptance_decision_date"] = now
        if any(answers.values()):
            order["order_state"] = "WAITING_DEBIT_PAYMENT"
            self.meta[order_id].polls_waiting_debit = 0
            if self.debit_after_polls <= 0:
                self._to_shipping(order_id, order)
        else:
            self._settle(order)

    def update_tracking(self, order_id: str, body: object) -> None:
        order = self._get(order_id)
        if not isinstance(body, dict):
            raise SimError(400, "The request body must be a JSON object")
        state = order.get("order_state")
        if state not in ("SHIPPING", "SHIPPED"):
            raise SimError(400, f"Tracking cannot be updated for order {order_id}. Current status is {state}")
        code, name = body.get("carrier_code"), body.get("carrier_name")
        carrier = next((c for c in self.carriers if c["code"] == code), None) if code else None
        if code and carrier is None:
            raise SimError(400, f"The carrier with code {code} does not exist")
        if not code and not name:
            raise SimError(400, "carrier_code or carrier_name is required")
        number = body.get("tracking_number")
        self.tracking[order_id] = copy.deepcopy(body)
        order["shipping_carrier_code"] = code or None
        order["shipping_company"] = carrier["label"] if carrier else name
        order["shipping_tracking"] = number
        template = carrier.get("tracking_url") if carrier else body.get("carrier_url")
        order["shipping_tracking_url"] = template.replace("{trackingId}", number or "") if template else None
        self._bump(order)

    def ship(self, order_id: str) -> None:
        order = self._get(order_id)
        state = order.get("order_state")
        if state != "SHIPPING":
            raise SimError(400, f"The order {order_id} cannot be shipped. Current status is {state}")
        now = self._bump(order)
        order["order_state"] = "SHIPPED"
        order["can_shop_ship"] = False
        for line in order["order_lines"]:
            if line.get("order_line_state") == "SHIPPING":
                line["order_line_state"] = "SHIPPED"
                line["shipped_date"] = now
