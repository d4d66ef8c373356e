"""Customers of imported orders: one per platform + Mirakl customer id (bridge table), as ``Customer::add``.

A guest by default (``is_guest = 1``, default group ``PS_GUEST_GROUP``), otherwise a regular customer
in ``PS_CUSTOMER_GROUP``. The password is a random hash nobody can log in with; the secure key is 32
hex characters like ``md5(uniqid())``. The mapping row in ``<prefix>mirakl_bridge_customer`` is written
in the same transaction, so a rolled-back order leaves no orphan mapping.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, and_, bindparam, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.types import DateTime

from bridge.domain.order_text import clean_name
from bridge.shop.context import ShopContext
from bridge.shop.rows import cached, column_length, complete, execute, fit, insert_row, storable
from bridge.shop.schema import ShopTables


@dataclass(frozen=True)
class KnownCustomer:
    id_customer: int
    secure_key: str
    mapped: bool  # a mapping row exists (possibly pointing to a deleted customer)


def customer_columns(t: ShopTables, mapping: Table) -> list[Any]:
    """Scalar subqueries (parameters ``b_platform``, ``b_cid``) giving the mapping of a Mirakl customer:
    ``map_id`` (the mapping row's id_customer), ``cust_id``, ``cust_key``, ``cust_deleted`` (the live
    customer row, NULL when it is gone). Selected with other per-order reads in one round trip."""
    c = t.customer
    joined = mapping.outerjoin(c, c.c.id_customer == mapping.c.id_customer)
    where = (mapping.c.platform == bindparam("b_platform"), mapping.c.mirakl_customer_id == bindparam("b_cid"))
    return [select(col).select_from(joined).where(*where).scalar_subquery().label(name) for name, col in
            (("map_id", mapping.c.id_customer), ("cust_id", c.c.id_customer), ("cust_key", c.c.secure_key),
             ("cust_deleted", c.c.deleted))]


def known_customer(row: Any, mirakl_customer_id: str) -> KnownCustomer | None:
    """The live customer mapped to this Mirakl customer, or a marker that the mapping is stale (from a
    row holding the :func:`customer_columns`)."""
    if not mirakl_customer_id or row.map_id is None:
        return None
    if row.cust_id is None or row.cust_deleted:
        return KnownCustomer(0, "", mapped=True)
    return KnownCustomer(int(row.cust_id), str(row.cust_key), mapped=True)


def find_customer(conn: Connection, t: ShopTables, mapping: Table, *, platform: str,
                  mirakl_customer_id: str) -> KnownCustomer | None:
    """The live customer mapped to this Mirakl customer, or a marker that the mapping is stale."""
    if not mirakl_customer_id:
        return None
    q = cached(mapping, ("find_customer", t.customer.name), lambda: select(*customer_columns(t, mapping)))
    return known_customer(conn.execute(q, {"b_platform": platform, "b_cid": mirakl_customer_id}).one(),
                          mirakl_customer_id)


def _unusable_password(t: ShopTables) -> str:
    """A hash no password matches: 32 hex (md5 width) on 1.6, a bcrypt-shaped string otherwise."""
    width = column_length(t.customer, "passwd") or 32
    if width <= 32:
        return secrets.token_hex(16)
    # bcrypt's layout ($2y$10$ + 53 characters of ./A-Za-z0-9) filled with random bytes: matches no password
    return "$2y$10$" + secrets.token_urlsafe(40)[:53].replace("-", ".").replace("_", "/")


def create_customer(conn: Connection, t: ShopTables, ctx: ShopContext, *, firstname: str, lastname: str,
                    email: str, guest: bool, now_local: datetime, warnings: list[str]) -> tuple[int, str]:
    c = t.customer
    group = ctx.config_int("PS_GUEST_GROUP", 2) if guest else ctx.config_int("PS_CUSTOMER_GROUP", 3)
    secure_key = secrets.token_hex(16)
    firstname, lastname = storable(c, firstname), storable(c, lastname)
    passwd_minutes = ctx.config_int("PS_PASSWD_TIME_FRONT", 360)
    row = {
        "id_shop_group": ctx.id_shop_group, "id_shop": ctx.id_shop, "id_gender": 0, "id_default_group": group,
        "id_lang": ctx.id_lang, "id_risk": 1, "company": "", "siret": "", "ape": "",
        "firstname": clean_name(firstname, column_length(c, "firstname") or 255),
        "lastname": clean_name(lastname, column_length(c, "lastname") or 255),
        "email": fit(c, "email", email, warnings, "customer e-mail"),
        "passwd": _unusable_password(t), "last_passwd_gen": now_local - timedelta(minutes=passwd_minutes),
        "birthday": None, "newsletter": 0, "ip_registration_newsletter": None, "newsletter_date_add": None,
        "optin": 0, "website": None, "outstanding_allow_amount": 0, "show_public_prices": 0,
        "max_payment_days": 0, "secure_key": secure_key, "note": None, "active": 1,
        "is_guest": 1 if guest else 0, "deleted": 0, "date_add": now_local, "date_upd": now_local,
    }
    for field, raw in (("firstname", firstname), ("lastname", lastname)):
        if row[field] != clean_name(raw, 0):
            warnings.append(f"customer {field}: truncated to {column_length(c, field)} characters "
                            f"({c.name}.{field})")
    if t.has_column("customer", "reset_password_validity"):
        row["reset_password_token"] = None
        row["reset_password_validity"] = None
    id_customer = insert_row(conn, c, complete(c, row))
    if id_customer:
        insert_row(conn, t.customer_group, {"id_customer": id_customer, "id_group": group})
    else:  # queued in a Batch (MariaDB/MySQL): the id is LAST_INSERT_ID() until the next auto-increment insert
        cg = t.customer_group
        execute(conn, cg, ("customer_group_last",), lambda: insert(cg).values(
            id_customer=func.last_insert_id(), id_group=bindparam("b_group")), {"b_group": group})
    return id_customer, secure_key


def remember_customer(conn: Connection, mapping: Table, *, platform: str, mirakl_customer_id: str,
                      id_customer: int, stale: bool, now_utc: datetime) -> None:
    if not mirakl_customer_id:
        return
    if stale:
        conn.execute(update(mapping).where(and_(mapping.c.platform == platform,
                                                mapping.c.mirakl_customer_id == mirakl_customer_id))
                     .values(id_customer=id_customer))
        return
    if conn.dialect.name == "mysql":
        # the same row, through the driver: created_at converted here as ``UtcDateTime`` does (naive UTC);
        # id_customer 0: the customer insert is queued in a Batch just before, its id is LAST_INSERT_ID()
        last = not id_customer
        execute(conn, mapping, ("remember_customer_sent", last), lambda: insert(mapping).values(
            platform=bindparam("b_platform"), mirakl_customer_id=bindparam("b_cid"),
            id_customer=func.last_insert_id() if last else bindparam("b_customer"),
            created_at=bindparam("b_at", type_=DateTime())),
            {"b_platform": platform, "b_cid": mirakl_customer_id, "b_at": now_utc.astimezone(UTC).replace(tzinfo=None),
             **({} if last else {"b_customer": id_customer})})
        return
    insert_row(conn, mapping, {"platform": platform, "mirakl_customer_id": mirakl_customer_id,
                               "id_customer": id_customer, "created_at": now_utc.astimezone(UTC)})
