"""Delivery and invoice addresses (``ps_address``), cleaned for PrestaShop's validators and column limits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Connection

from bridge.domain.order_draft import DraftAddress
from bridge.domain.order_text import (
    clean_address_line,
    clean_city,
    clean_generic,
    clean_message,
    clean_name,
    clean_phone,
    clean_postcode,
)
from bridge.shop.rows import column_length, complete, fit, insert_row, storable
from bridge.shop.schema import ShopTables


@dataclass(frozen=True)
class PlacedAddress:
    """A draft address with the shop's country and state ids."""

    address: DraftAddress
    id_country: int
    id_state: int


def address_row(t: ShopTables, placed: PlacedAddress, *, id_customer: int, alias: str, now_local: datetime,
                warnings: list[str], label: str) -> dict[str, object]:
    a, tbl = placed.address, t.address
    phone, mobile = clean_phone(a.phone), clean_phone(a.phone_mobile)
    if not phone and mobile:
        phone, mobile = mobile, ""
    row = {
        "id_country": placed.id_country, "id_state": placed.id_state, "id_customer": id_customer,
        "id_manufacturer": 0, "id_supplier": 0, "id_warehouse": 0,
        "alias": fit(tbl, "alias", clean_generic(alias)),
        "company": fit(tbl, "company", clean_generic(a.company), warnings, f"{label} company"),
        "lastname": clean_name(storable(tbl, a.lastname), column_length(tbl, "lastname") or 255),
        "firstname": clean_name(storable(tbl, a.firstname), column_length(tbl, "firstname") or 255),
        "address1": fit(tbl, "address1", clean_address_line(a.address1) or "-", warnings, f"{label} address1"),
        "address2": fit(tbl, "address2", clean_address_line(a.address2), warnings, f"{label} address2"),
        "postcode": fit(tbl, "postcode", clean_postcode(a.postcode), warnings, f"{label} postcode"),
        "city": fit(tbl, "city", clean_city(a.city) or "-", warnings, f"{label} city"),
        "other": fit(tbl, "other", clean_message(a.other), warnings, f"{label} other"),
        "phone": fit(tbl, "phone", phone, warnings, f"{label} phone"),
        "phone_mobile": fit(tbl, "phone_mobile", mobile, warnings, f"{label} phone_mobile"),
        "vat_number": "", "dni": "", "date_add": now_local, "date_upd": now_local, "active": 1, "deleted": 0,
    }
    for field in ("lastname", "firstname"):
        raw = storable(tbl, a.lastname if field == "lastname" else a.firstname)
        if row[field] != clean_name(raw, 0):
            warnings.append(f"{label} {field} truncated to {column_length(tbl, field)} characters")
    return complete(tbl, row)


def insert_address(conn: Connection, t: ShopTables, row: dict[str, object]) -> int:
    return insert_row(conn, t.address, row)
