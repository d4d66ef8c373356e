"""SQLAlchemy Core definitions of the bridge-owned tables, named ``<prefix>mirakl_bridge_*``.

Timestamps are stored as naive UTC DATETIME and come back as aware UTC datetimes
(:class:`UtcDateTime`). PrestaShop tables are never altered and never referenced by foreign keys.
The alembic revisions in ``migrations/versions`` create exactly these tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.types import TypeDecorator

PREFIX_SUFFIX = "mirakl_bridge_"
VERSION_TABLE_SUFFIX = "mirakl_bridge_alembic_version"

LongText = Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
Id = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetime in Python, naive UTC DATETIME in the database."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)


def table_name(prefix: str, name: str) -> str:
    return f"{prefix}{PREFIX_SUFFIX}{name}"


@dataclass(frozen=True)
class BridgeTables:
    metadata: MetaData
    order: Table
    order_line: Table
    customer: Table
    offer: Table
    offer_import: Table
    task_run: Table
    cursor: Table


def bridge_tables(prefix: str) -> BridgeTables:
    md = MetaData()
    n = lambda name: table_name(prefix, name)  # noqa: E731

    order = Table(
        n("order"), md,
        Column("id", Id, primary_key=True, autoincrement=True),
        Column("platform", String(32), nullable=False),
        Column("mirakl_order_id", String(64), nullable=False),
        # seen | accepting | accepted | refused | importing | imported | held | shipped | cancelled
        Column("status", String(24), nullable=False),
        Column("mirakl_state", String(32), nullable=False, server_default=""),
        Column("id_order", Integer, nullable=True),
        Column("reference", String(255), nullable=True),
        Column("id_customer", Integer, nullable=True),
        Column("attempts", Integer, nullable=False, server_default="0"),
        Column("error_code", String(64), nullable=True),
        Column("last_error", Text, nullable=True),
        Column("next_attempt_at", UtcDateTime, nullable=True),
        Column("mirakl_created_at", UtcDateTime, nullable=True),
        Column("accepted_at", UtcDateTime, nullable=True),
        Column("imported_at", UtcDateTime, nullable=True),
        Column("shipped_at", UtcDateTime, nullable=True),
        Column("cancelled_at", UtcDateTime, nullable=True),
        Column("created_at", UtcDateTime, nullable=False),
        Column("updated_at", UtcDateTime, nullable=False),
        UniqueConstraint("platform", "mirakl_order_id", name=n("order_uq")),
        Index(n("order_status_ix"), "platform", "status"),
        Index(n("order_id_order_ix"), "id_order"),
    )
    order_line = Table(
        n("order_line"), md,
        Column("id", Id, primary_key=True, autoincrement=True),
        Column("platform", String(32), nullable=False),
        Column("mirakl_order_id", String(64), nullable=False),
        Column("order_line_id", String(100), nullable=False),
        Column("offer_sku", String(128), nullable=False),
        Column("id_product", Integer, nullable=True),
        Column("id_product_attribute", Integer, nullable=True),
        Column("quantity", Integer, nullable=False),
        Column("decision", String(16), nullable=False),  # accept | refuse | leave
        Column("reason", String(64), nullable=False, server_default=""),
        Column("units_reserved", Integer, nullable=False, server_default="0"),
        Column("phase", String(16), nullable=False),  # intended | sent | confirmed | failed
        Column("created_at", UtcDateTime, nullable=False),
        Column("updated_at", UtcDateTime, nullable=False),
        UniqueConstraint("platform", "mirakl_order_id", "order_line_id", name=n("order_line_uq")),
        Index(n("order_line_product_ix"), "id_product", "id_product_attribute"),
    )
    customer = Table(
        n("customer"), md,
        Column("platform", String(32), primary_key=True),
        Column("mirakl_customer_id", String(128), primary_key=True),
        Column("id_customer", Integer, nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
    )
    offer = Table(
        n("offer"), md,
        Column("platform", String(32), primary_key=True),
        Column("sku", String(128), primary_key=True),
        Column("id_product", Integer, nullable=False),
        Column("id_product_attribute", Integer, nullable=False, server_default="0"),
        Column("hash", String(32), nullable=True),  # hash of the line Mirakl last accepted
        Column("quantity", Integer, nullable=True),
        Column("price", Numeric(20, 6), nullable=True),
        Column("discount_price", Numeric(20, 6), nullable=True),
        Column("discount_start", UtcDateTime, nullable=True),
        Column("discount_end", UtcDateTime, nullable=True),
        Column("status", String(16), nullable=False),  # accepted | pending | rejected
        Column("pending_hash", String(32), nullable=True),
        Column("pending_import_id", String(64), nullable=True),
        # values sent and not yet confirmed (0002): copied to quantity/price/... when Mirakl accepts the line
        Column("pending_quantity", Integer, nullable=True),
        Column("pending_price", Numeric(20, 6), nullable=True),
        Column("pending_discount_price", Numeric(20, 6), nullable=True),
        Column("pending_discount_start", UtcDateTime, nullable=True),
        Column("pending_discount_end", UtcDateTime, nullable=True),
        Column("last_error", Text, nullable=True),
        Column("sent_at", UtcDateTime, nullable=True),
        Column("accepted_at", UtcDateTime, nullable=True),
        Column("updated_at", UtcDateTime, nullable=False),
        Index(n("offer_pending_ix"), "platform", "pending_import_id"),
    )
    offer_import = Table(
        n("offer_import"), md,
        Column("id", Id, primary_key=True, autoincrement=True),
        Column("platform", String(32), nullable=False),
        Column("import_id", String(64), nullable=False),
        Column("status", String(32), nullable=False),
        Column("full_sync", Boolean, nullable=False, server_default="0"),
        Column("lines", Integer, nullable=False, server_default="0"),
        Column("lines_in_error", Integer, nullable=True),
        Column("submitted_at", UtcDateTime, nullable=False),
        Column("finished_at", UtcDateTime, nullable=True),
        UniqueConstraint("platform", "import_id", name=n("offer_import_uq")),
    )
    task_run = Table(
        n("task_run"), md,
        Column("id", Id, primary_key=True, autoincrement=True),
        Column("platform", String(32), nullable=False),
        Column("task", String(16), nullable=False),
        Column("run_id", String(32), nullable=False),
        Column("trigger", String(16), nullable=False, server_default="manual"),
        Column("started_at", UtcDateTime, nullable=False),
        Column("finished_at", UtcDateTime, nullable=True),
        Column("status", String(16), nullable=False),
        Column("duration_s", Numeric(12, 3), nullable=True),
        Column("error", Text, nullable=True),
        Column("report", LongText, nullable=True),
        Index(n("task_run_ix"), "platform", "task", "started_at"),
    )
    cursor = Table(
        n("cursor"), md,
        Column("platform", String(32), primary_key=True),
        Column("name", String(64), primary_key=True),
        Column("value_at", UtcDateTime, nullable=True),
        Column("updated_at", UtcDateTime, nullable=False),
    )
    return BridgeTables(md, order, order_line, customer, offer, offer_import, task_run, cursor)
