"""Offer state: the values of a line sent and not yet confirmed by Mirakl, and an index to find them.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

from bridge.state.tables import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_COLUMNS = ("pending_quantity", "pending_price", "pending_discount_price", "pending_discount_start",
            "pending_discount_end")


def _t(name: str) -> str:
    return f"{context.config.attributes['prefix']}mirakl_bridge_{name}"


def upgrade() -> None:
    op.add_column(_t("offer"), sa.Column("pending_quantity", sa.Integer, nullable=True))
    op.add_column(_t("offer"), sa.Column("pending_price", sa.Numeric(20, 6), nullable=True))
    op.add_column(_t("offer"), sa.Column("pending_discount_price", sa.Numeric(20, 6), nullable=True))
    op.add_column(_t("offer"), sa.Column("pending_discount_start", UtcDateTime, nullable=True))
    op.add_column(_t("offer"), sa.Column("pending_discount_end", UtcDateTime, nullable=True))
    op.create_index(_t("offer_pending_ix"), _t("offer"), ["platform", "pending_import_id"])


def downgrade() -> None:
    op.drop_index(_t("offer_pending_ix"), table_name=_t("offer"))
    for name in reversed(_COLUMNS):
        op.drop_column(_t("offer"), name)
