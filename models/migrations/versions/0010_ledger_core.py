"""The rectification ledger: finding and visit review, ledger items and their history.

Written by hand. Findings may now come without a visit (added by hand from a document check or a
call). It alters the finding and visit tables of 0005, so it depends on that branch's head (0002).

Revision ID: 0010_ledger
Revises: 0009_offline2
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0010_ledger"
down_revision: str | None = "0009_offline2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = "0002"


def upgrade() -> None:
    op.create_table(
        "ledger_item",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("village_code", sa.String(length=12), nullable=False),
        sa.Column("round_id", sa.Uuid(), nullable=True),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("route", sa.String(length=30), nullable=False),
        sa.Column("state", sa.String(length=30), nullable=False),
        sa.Column("responsible_region_code", sa.String(length=12), nullable=False),
        sa.Column("responsible_user_id", sa.Uuid(), nullable=True),
        sa.Column("measures", sa.Text(), nullable=True),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("milestones", models.types.JSONType, nullable=False),
        sa.Column("outcome", models.types.JSONType, nullable=False),
        sa.Column("money_to_recover", sa.Numeric(12, 2), nullable=False),
        sa.Column("money_recovered", sa.Numeric(12, 2), nullable=False),
        sa.Column("months", sa.Integer(), nullable=True),
        sa.Column("fix_submitted_by", sa.Uuid(), nullable=True),
        sa.Column("recheck_assignment_id", sa.Uuid(), nullable=True),
        sa.Column("closed_at", models.types.UTCDateTime(), nullable=True),
        sa.Column("closed_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", models.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["household_id"], ["household.id"]),
        sa.ForeignKeyConstraint(["responsible_user_id"], ["app_user.id"]),
        sa.ForeignKeyConstraint(["recheck_assignment_id"], ["round_assignment.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
    )
    op.create_index("ix_ledger_item_household_id", "ledger_item", ["household_id"])
    op.create_index("ix_ledger_item_round_id", "ledger_item", ["round_id"])
    op.create_index("ix_ledger_item_responsible_region_code", "ledger_item", ["responsible_region_code"])
    op.create_index("ix_ledger_item_responsible_user_id", "ledger_item", ["responsible_user_id"])
    op.create_index("ix_ledger_item_scope", "ledger_item", ["village_code", "state", "deadline"])
    op.create_index("ix_ledger_item_state_deadline", "ledger_item", ["state", "deadline"])
    op.create_table(
        "ledger_event",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column("at", models.types.UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("from_state", sa.String(length=30), nullable=True),
        sa.Column("to_state", sa.String(length=30), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("evidence_ids", models.types.JSONType, nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["ledger_item.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ledger_event_item_id", "ledger_event", ["item_id"])
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.alter_column("visit_id", existing_type=sa.Uuid(), nullable=True)
        batch_op.add_column(sa.Column("kind", sa.String(length=20), nullable=False, server_default="finding"))
        batch_op.add_column(sa.Column("source", sa.String(length=20), nullable=False, server_default="visit"))
        batch_op.add_column(
            sa.Column("review", sa.String(length=20), nullable=False, server_default="pending")
        )
        batch_op.add_column(sa.Column("review_reason", sa.String(length=1000), nullable=True))
        batch_op.add_column(sa.Column("reviewed_by", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("reviewed_at", models.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("created_by", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("merged_into_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("ledger_item_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key("fk_finding_ledger_item", "ledger_item", ["ledger_item_id"], ["id"])
        batch_op.create_index("ix_finding_review", ["review"], unique=False)
        batch_op.create_index("ix_finding_ledger_item_id", ["ledger_item_id"], unique=False)
    with op.batch_alter_table("finding", schema=None) as batch_op:
        for name in ("kind", "source", "review"):
            batch_op.alter_column(name, server_default=None)
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("review_reason", sa.String(length=1000), nullable=True))
        batch_op.add_column(sa.Column("reviewed_by", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("reviewed_at", models.types.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("visit", schema=None) as batch_op:
        for name in ("reviewed_at", "reviewed_by", "review_reason", "review"):
            batch_op.drop_column(name)
    op.execute("DELETE FROM finding WHERE visit_id IS NULL")
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.drop_index("ix_finding_ledger_item_id")
        batch_op.drop_index("ix_finding_review")
        batch_op.drop_constraint("fk_finding_ledger_item", type_="foreignkey")
        for name in (
            "ledger_item_id",
            "merged_into_id",
            "created_by",
            "reviewed_at",
            "reviewed_by",
            "review_reason",
            "review",
            "source",
            "kind",
        ):
            batch_op.drop_column(name)
        batch_op.alter_column("visit_id", existing_type=sa.Uuid(), nullable=False)
    op.drop_table("ledger_event")
    op.drop_table("ledger_item")
