"""Initial bridge tables: order map, acceptance decisions, customers, offer state, imports, runs, cursors.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

from bridge.state.tables import Id, LongText, UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _t(name: str) -> str:
    return f"{context.config.attributes['prefix']}mirakl_bridge_{name}"


def _stamps(*names: str, nullable: bool = True) -> list[sa.Column]:
    return [sa.Column(n, UtcDateTime, nullable=nullable) for n in names]


def upgrade() -> None:
    kw = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mariadb_engine": "InnoDB",
          "mariadb_charset": "utf8mb4"}
    op.create_table(
        _t("order"),
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("mirakl_order_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("mirakl_state", sa.String(32), nullable=False, server_default=""),
        sa.Column("id_order", sa.Integer, nullable=True),
        sa.Column("reference", sa.String(255), nullable=True),
        sa.Column("id_customer", sa.Integer, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        *_stamps("next_attempt_at", "mirakl_created_at", "accepted_at", "imported_at", "shipped_at",
                 "cancelled_at"),
        *_stamps("created_at", "updated_at", nullable=False),
        sa.UniqueConstraint("platform", "mirakl_order_id", name=_t("order_uq")),
        **kw,
    )
    op.create_index(_t("order_status_ix"), _t("order"), ["platform", "status"])
    op.create_index(_t("order_id_order_ix"), _t("order"), ["id_order"])
    op.create_table(
        _t("order_line"),
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("mirakl_order_id", sa.String(64), nullable=False),
        sa.Column("order_line_id", sa.String(100), nullable=False),
        sa.Column("offer_sku", sa.String(128), nullable=False),
        sa.Column("id_product", sa.Integer, nullable=True),
        sa.Column("id_product_attribute", sa.Integer, nullable=True),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False, server_default=""),
        sa.Column("units_reserved", sa.Integer, nullable=False, server_default="0"),
        sa.Column("phase", sa.String(16), nullable=False),
        *_stamps("created_at", "updated_at", nullable=False),
        sa.UniqueConstraint("platform", "mirakl_order_id", "order_line_id", name=_t("order_line_uq")),
        **kw,
    )
    op.create_index(_t("order_line_product_ix"), _t("order_line"), ["id_product", "id_product_attribute"])
    op.create_table(
        _t("customer"),
        sa.Column("platform", sa.String(32), primary_key=True),
        sa.Column("mirakl_customer_id", sa.String(128), primary_key=True),
        sa.Column("id_customer", sa.Integer, nullable=False),
        *_stamps("created_at", nullable=False),
        **kw,
    )
    op.create_table(
        _t("offer"),
        sa.Column("platform", sa.String(32), primary_key=True),
        sa.Column("sku", sa.String(128), primary_key=True),
        sa.Column("id_product", sa.Integer, nullable=False),
        sa.Column("id_product_attribute", sa.Integer, nullable=False, server_default="0"),
        sa.Column("hash", sa.String(32), nullable=True),
        sa.Column("quantity", sa.Integer, nullable=True),
        sa.Column("price", sa.Numeric(20, 6), nullable=True),
        sa.Column("discount_price", sa.Numeric(20, 6), nullable=True),
        *_stamps("discount_start", "discount_end"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("pending_hash", sa.String(32), nullable=True),
        sa.Column("pending_import_id", sa.String(64), nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        *_stamps("sent_at", "accepted_at"),
        *_stamps("updated_at", nullable=False),
        **kw,
    )
    op.create_table(
        _t("offer_import"),
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("import_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("full_sync", sa.Boolean, nullable=False, server_default="0"),
        sa.Column("lines", sa.Integer, nullable=False, server_default="0"),
        sa.Column("lines_in_error", sa.Integer, nullable=True),
        *_stamps("submitted_at", nullable=False),
        *_stamps("finished_at"),
        sa.UniqueConstraint("platform", "import_id", name=_t("offer_import_uq")),
        **kw,
    )
    op.create_table(
        _t("task_run"),
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("task", sa.String(16), nullable=False),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False, server_default="manual"),
        *_stamps("started_at", nullable=False),
        *_stamps("finished_at"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("duration_s", sa.Numeric(12, 3), nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("report", LongText, nullable=True),
        **kw,
    )
    op.create_index(_t("task_run_ix"), _t("task_run"), ["platform", "task", "started_at"])
    op.create_table(
        _t("cursor"),
        sa.Column("platform", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value_at", UtcDateTime, nullable=True),
        *_stamps("updated_at", nullable=False),
        **kw,
    )


def downgrade() -> None:
    for name in ("cursor", "task_run", "offer_import", "offer", "customer", "order_line", "order"):
        op.drop_table(_t(name))
