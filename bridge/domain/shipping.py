"""Ship task rules (pure): what to tell Mirakl about each imported order, and what to do about
cancellations seen on Mirakl.

Inputs are values: the order as PrestaShop has it (:class:`ShopShipment`, read by
``bridge.shop.shipments``), the order as Mirakl has it now (:class:`~bridge.domain.orders.MiraklOrder`,
or None when OR11 did not return it), the platform's rules and ``now`` (aware UTC). Output: the
decisions for that order, in the order they are to be applied.

Rules:

* cancelled on Mirakl (every line CANCELED/REFUSED) -> :class:`CancelOrder`; PrestaShop is changed only
  with ``sync_cancellations``, when the order is neither shipped nor already in the cancelled state;
  shipped in PrestaShop but cancelled on Mirakl is a conflict for a human;
* fewer units live on Mirakl than PrestaShop still holds -> :class:`PartialCancellation`: reported
  only. PrestaShop is left as it is (no line-level refund is written); the merchant refunds the
  missing units in the back office, which makes the units match and the report stop;
* not shipped in PrestaShop -> nothing else;
* already SHIPPED (or later) on Mirakl -> :class:`AlreadyShipped` (counts as done, no call);
* tracking number and carrier -> :class:`Confirm` with the mapped SH21 code, or with the carrier's
  name + tracking URL (PrestaShop ``carrier.url`` with ``@`` replaced) when the carrier is not mapped
  (reported ``unmapped_carrier``) or mapped to a code the platform does not list;
* no tracking number (or no carrier) -> :class:`WaitForTracking` until ``wait_for_tracking`` has
  passed since the order entered a shipped state, then :class:`Confirm` without tracking when
  ``allow_without_tracking``, else it keeps waiting (``overdue``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bridge.domain.orders import (
    CANCELED,
    CLOSED,
    DEAD_LINE_STATES,
    RECEIVED,
    SHIPPED,
    TO_COLLECT,
    MiraklOrder,
)

SHIPPED_OR_LATER = frozenset({SHIPPED, TO_COLLECT, RECEIVED, CLOSED})
TRACKING_PLACEHOLDER = "@"  # PrestaShop's carrier URL placeholder for the tracking number


@dataclass(frozen=True)
class ShopShipment:
    """An imported order as PrestaShop has it now."""

    mirakl_order_id: str
    id_order: int
    reference: str
    current_state: int
    shipped: bool  # the current state has shipped = 1
    shipped_since: datetime | None  # aware UTC: when it entered a shipped state (None: unknown)
    tracking_number: str = ""
    carrier_reference: int | None = None  # carrier id_reference (stable across carrier edits)
    carrier_name: str = ""
    carrier_url: str = ""
    units: int = 0  # ordered minus refunded units of the PrestaShop order


@dataclass(frozen=True)
class ShipRules:
    carriers: Mapping[str, str] = field(default_factory=dict)  # str(id_reference) -> SH21 code
    wait_for_tracking: timedelta = timedelta(minutes=180)
    allow_without_tracking: bool = False
    sync_cancellations: bool = False
    cancelled_state: int = 0  # PrestaShop state cancellations go to (0: unknown)
    known_carrier_codes: frozenset[str] | None = None  # SH21 codes; None: list not available


@dataclass(frozen=True)
class Tracking:
    """OR23 body: ``carrier_code`` for a registered carrier, else ``carrier_name`` (+ ``carrier_url``)."""

    tracking_number: str
    carrier_code: str | None = None
    carrier_name: str | None = None
    carrier_url: str | None = None


@dataclass(frozen=True)
class Confirm:
    """OR23 (when ``tracking``) then OR24."""

    order_id: str
    id_order: int
    tracking: Tracking | None
    unmapped_carrier: bool = False  # sent by name + URL: the integrator may add a mapping
    unknown_code: str = ""  # mapped code missing from the platform's SH21 list (sent by name instead)
    carrier_reference: int | None = None
    carrier_name: str = ""


@dataclass(frozen=True)
class AlreadyShipped:
    order_id: str
    id_order: int
    mirakl_state: str


@dataclass(frozen=True)
class WaitForTracking:
    order_id: str
    id_order: int
    remaining_min: int  # 0 once the wait is over (overdue)
    overdue: bool  # waited long enough, but confirming without tracking is not allowed
    reason: str  # "no_tracking" | "no_carrier"


@dataclass(frozen=True)
class CancelOrder:
    """Every line is cancelled/refused on Mirakl: the order map becomes ``cancelled``."""

    order_id: str
    id_order: int
    mirakl_state: str
    change_shop: bool  # move the PrestaShop order to ``cancelled_state``
    note: str  # why PrestaShop is (not) changed
    conflict: bool = False  # shipped in PrestaShop although cancelled on Mirakl


@dataclass(frozen=True)
class PartialCancellation:
    order_id: str
    id_order: int
    shop_units: int
    live_units: int
    cancelled_lines: tuple[str, ...]


Decision = Confirm | AlreadyShipped | WaitForTracking | CancelOrder | PartialCancellation


def tracking_url(template: str, number: str) -> str | None:
    """PrestaShop's carrier URL with ``@`` replaced by the tracking number; None when there is none."""
    template = template.strip()
    if not template:
        return None
    return template.replace(TRACKING_PLACEHOLDER, number)


def is_cancelled(order: MiraklOrder) -> bool:
    """Every line is cancelled or refused (an order without lines: its own state says so)."""
    if order.lines:
        return all(line.is_dead for line in order.lines)
    return order.state in DEAD_LINE_STATES


def live_units(order: MiraklOrder) -> int:
    return sum(line.quantity for line in order.live_lines)


def decide(
    shipment: ShopShipment, mirakl: MiraklOrder | None, rules: ShipRules, now: datetime
) -> list[Decision]:
    """Decisions for one imported order (see module docstring for the rules)."""
    ref, id_order = shipment.mirakl_order_id, shipment.id_order
    if mirakl is not None and is_cancelled(mirakl):
        return [_cancel(shipment, mirakl, rules)]
    out: list[Decision] = []
    if mirakl is not None and shipment.units > live_units(mirakl):
        dead = tuple(line.order_line_id for line in mirakl.lines if line.state == CANCELED)
        out.append(PartialCancellation(ref, id_order, shipment.units, live_units(mirakl), dead))
    if not shipment.shipped:
        return out
    if mirakl is not None and mirakl.state in SHIPPED_OR_LATER:
        return [*out, AlreadyShipped(ref, id_order, mirakl.state)]
    number = shipment.tracking_number.strip()
    has_carrier = shipment.carrier_reference is not None and bool(shipment.carrier_name.strip())
    if number and has_carrier:
        return [*out, confirm_with_tracking(shipment, number, rules)]
    return [*out, _without_tracking(shipment, rules, now, "no_tracking" if not number else "no_carrier")]


def confirm_with_tracking(shipment: ShopShipment, number: str, rules: ShipRules) -> Confirm:
    ref, id_order = shipment.mirakl_order_id, shipment.id_order
    key = str(shipment.carrier_reference)
    code = (rules.carriers.get(key) or "").strip()
    known = rules.known_carrier_codes
    carrier_ref, name = shipment.carrier_reference, shipment.carrier_name.strip()
    if code and (known is None or code in known):
        return Confirm(
            ref,
            id_order,
            Tracking(number, carrier_code=code),
            carrier_reference=carrier_ref,
            carrier_name=name,
        )
    by_name = Tracking(number, carrier_name=name, carrier_url=tracking_url(shipment.carrier_url, number))
    return Confirm(
        ref,
        id_order,
        by_name,
        unmapped_carrier=not code,
        unknown_code=code,
        carrier_reference=carrier_ref,
        carrier_name=name,
    )


def _without_tracking(shipment: ShopShipment, rules: ShipRules, now: datetime, reason: str) -> Decision:
    since = shipment.shipped_since or now
    left = rules.wait_for_tracking - (now - since)
    if left > timedelta(0):
        remaining = math.ceil(left.total_seconds() / 60)
        return WaitForTracking(shipment.mirakl_order_id, shipment.id_order, remaining, False, reason)
    if rules.allow_without_tracking:
        return Confirm(
            shipment.mirakl_order_id,
            shipment.id_order,
            None,
            carrier_reference=shipment.carrier_reference,
            carrier_name=shipment.carrier_name,
        )
    return WaitForTracking(shipment.mirakl_order_id, shipment.id_order, 0, True, reason)


def _cancel(shipment: ShopShipment, mirakl: MiraklOrder, rules: ShipRules) -> CancelOrder:
    ref, id_order, state = shipment.mirakl_order_id, shipment.id_order, mirakl.state
    if shipment.shipped:
        return CancelOrder(ref, id_order, state, False, "shipped in PrestaShop: left as it is", conflict=True)
    if not rules.sync_cancellations:
        return CancelOrder(ref, id_order, state, False, "sync_cancellations is off: PrestaShop unchanged")
    if rules.cancelled_state and shipment.current_state == rules.cancelled_state:
        return CancelOrder(ref, id_order, state, False, "already in the cancelled state in PrestaShop")
    return CancelOrder(ref, id_order, state, True, "moved to the cancelled state in PrestaShop")
