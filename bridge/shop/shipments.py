"""Set-based read of imported orders as PrestaShop has them now, for the ship task.

One query joins the bridge's order map (same database, table handed in by the caller: ``shop`` does
not import ``state``) with ``orders``, the current ``order_state`` (``shipped`` flag), the latest
``order_carrier`` row (tracking number) and its ``carrier`` (``id_reference``, name, URL), plus three
correlated sub-queries: when the order entered a shipped state (first shipped history row after the
last non-shipped one, so that shipped -> processing -> shipped restarts the clock), and how many
units it still holds (ordered minus refunded).

PrestaShop dates are shop-local (``PS_TIMEZONE``): they are returned as aware UTC datetimes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Integer, Table, and_, cast, func, select
from sqlalchemy.engine import Connection

from bridge.domain.shipping import ShopShipment
from bridge.shop.shop import Shop


def shop_zone(shop: Shop) -> ZoneInfo:
    try:
        return ZoneInfo(shop.context.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_to_utc(value: datetime | None, zone: ZoneInfo) -> datetime | None:
    """A naive shop-local datetime as aware UTC (aware values are only converted)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def imported_shipments(
    conn: Connection, shop: Shop, order_map: Table, platform: str, *, statuses: Sequence[str]
) -> list[ShopShipment]:
    """The map's orders of ``platform`` in ``statuses`` that have a PrestaShop order, oldest first."""
    t, m = shop.tables, order_map
    o, state, oc, carrier = t.orders, t.order_state, t.order_carrier, t.carrier
    oc_last = t.order_carrier.alias("oc_last")
    last_oc = select(func.max(oc_last.c.id_order_carrier)).where(oc_last.c.id_order == o.c.id_order)
    id_carrier = func.coalesce(func.nullif(oc.c.id_carrier, 0), o.c.id_carrier)
    q = (
        select(
            m.c.mirakl_order_id,
            o.c.id_order,
            o.c.reference,
            o.c.current_state,
            state.c.shipped,
            o.c.date_upd,
            _shipped_since(shop, o).label("shipped_since"),
            oc.c.tracking_number,
            carrier.c.id_reference,
            carrier.c.name,
            carrier.c.url,
            _units(shop, o).label("units"),
        )
        .select_from(
            m.join(o, o.c.id_order == m.c.id_order)
            .outerjoin(state, state.c.id_order_state == o.c.current_state)
            .outerjoin(
                oc,
                and_(
                    oc.c.id_order == o.c.id_order,
                    oc.c.id_order_carrier == last_oc.correlate(o).scalar_subquery(),
                ),
            )
            .outerjoin(carrier, carrier.c.id_carrier == id_carrier)
        )
        .where(m.c.platform == platform, m.c.status.in_(list(statuses)))
        .order_by(m.c.id)
    )
    zone = shop_zone(shop)
    return [_shipment(row, zone) for row in conn.execute(q).mappings()]


def _shipped_since(shop: Shop, o: Table) -> Any:
    t = shop.tables
    h_out, s_out = t.order_history.alias("h_out"), t.order_state.alias("s_out")
    h_in, s_in = t.order_history.alias("h_in"), t.order_state.alias("s_in")
    last_unshipped = (
        select(func.coalesce(func.max(h_out.c.id_order_history), 0))
        .select_from(h_out.join(s_out, s_out.c.id_order_state == h_out.c.id_order_state))
        .where(h_out.c.id_order == o.c.id_order, s_out.c.shipped == 0)
        .correlate(o)
        .scalar_subquery()
    )
    return (
        select(func.min(h_in.c.date_add))
        .select_from(h_in.join(s_in, s_in.c.id_order_state == h_in.c.id_order_state))
        .where(h_in.c.id_order == o.c.id_order, s_in.c.shipped == 1, h_in.c.id_order_history > last_unshipped)
        .correlate(o)
        .scalar_subquery()
    )


def _units(shop: Shop, o: Table) -> Any:
    od = shop.tables.order_detail.alias("od_units")  # signed: UNSIGNED - UNSIGNED must not overflow
    return (
        select(
            func.coalesce(
                func.sum(
                    cast(od.c.product_quantity, Integer) - cast(od.c.product_quantity_refunded, Integer)
                ),
                0,
            )
        )
        .where(od.c.id_order == o.c.id_order)
        .correlate(o)
        .scalar_subquery()
    )


def _shipment(row: Any, zone: ZoneInfo) -> ShopShipment:
    shipped = bool(row["shipped"])
    since = local_to_utc(row["shipped_since"], zone)
    if shipped and since is None:  # current state set without a history row: its last update stands in
        since = local_to_utc(row["date_upd"], zone)
    return ShopShipment(
        mirakl_order_id=str(row["mirakl_order_id"]),
        id_order=int(row["id_order"]),
        reference=str(row["reference"] or ""),
        current_state=int(row["current_state"] or 0),
        shipped=shipped,
        shipped_since=since,
        tracking_number=str(row["tracking_number"] or "").strip(),
        carrier_reference=int(row["id_reference"]) if row["id_reference"] is not None else None,
        carrier_name=str(row["name"] or ""),
        carrier_url=str(row["url"] or ""),
        units=int(row["units"] or 0),
    )


def order_state_id(conn: Connection, shop: Shop, key_or_id: str) -> int:
    """A configured state (``PS_OS_*`` key or numeric id) as an existing, not deleted id; 0 if none."""
    raw = key_or_id.strip()
    wanted = int(raw) if raw.isdigit() else shop.context.config_int(raw)
    if wanted <= 0:
        return 0
    st = shop.tables.order_state
    found = conn.execute(
        select(st.c.id_order_state).where(st.c.id_order_state == wanted, st.c.deleted == 0)
    ).first()
    return wanted if found is not None else 0


def lock_order_state(conn: Connection, shop: Shop, id_order: int) -> tuple[int, bool] | None:
    """Inside the caller's transaction: the order's current state and its shipped flag, row locked."""
    o, st = shop.tables.orders, shop.tables.order_state
    q = select(o.c.current_state).where(o.c.id_order == id_order)
    if shop.dialect != "sqlite":
        q = q.with_for_update()
    row = conn.execute(q).first()
    if row is None:
        return None
    shipped = conn.execute(select(st.c.shipped).where(st.c.id_order_state == row[0])).scalar()
    return int(row[0]), bool(shipped)
