"""Cross-checks: runs and matches against death records and other registers; members searchable by
their keyed hash (the bulk lookup of a cross-check).

Written by hand.

Revision ID: 0017_deaths
Revises: 0016_repeats
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0017_deaths"
down_revision: str | None = "0016_repeats"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # household_member.id_hash is indexed by 0014_cadres (cadre declarations match by it too)
    op.create_table(
        "crosscheck_run",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("scope_code", sa.String(length=12), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("valid_rows", sa.Integer(), nullable=False),
        sa.Column("matched", sa.Integer(), nullable=False),
        sa.Column("new_matches", sa.Integer(), nullable=False),
        sa.Column("findings", sa.Integer(), nullable=False),
        sa.Column("ledger_items", sa.Integer(), nullable=False),
        sa.Column("error_count", sa.Integer(), nullable=False),
        sa.Column("errors", models.types.JSONType, nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_crosscheck_run_source_period", "crosscheck_run", ["source", "period"])
    op.create_table(
        "crosscheck_match",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("village_code", sa.String(length=12), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("name_masked", sa.String(length=60), nullable=False),
        sa.Column("id_masked", sa.String(length=30), nullable=False),
        sa.Column("event_date", sa.Date(), nullable=True),
        sa.Column("value", sa.Numeric(14, 2), nullable=True),
        sa.Column("outcome", sa.String(length=30), nullable=False),
        sa.Column("months", sa.Integer(), nullable=True),
        sa.Column("amount", sa.Numeric(12, 2), nullable=True),
        sa.Column("finding_id", sa.Uuid(), nullable=True),
        sa.Column("ledger_item_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", models.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["crosscheck_run.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["member_id"], ["household_member.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["household_id"], ["household.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "period", "member_id", name="uq_crosscheck_match_member"),
    )
    op.create_index("ix_crosscheck_match_run_id", "crosscheck_match", ["run_id"])
    op.create_index("ix_crosscheck_match_member_id", "crosscheck_match", ["member_id"])
    op.create_index("ix_crosscheck_match_household_id", "crosscheck_match", ["household_id"])
    op.create_index("ix_crosscheck_match_scope", "crosscheck_match", ["village_code", "source", "period"])


def downgrade() -> None:
    op.drop_table("crosscheck_match")
    op.drop_table("crosscheck_run")
