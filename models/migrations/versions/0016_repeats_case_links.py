"""Repeat complaints and targeted checks: case links (a repeat tied to the open case) and case checks
(a sealed visit a case orders, outside any drawn round).

Written by hand, to match models/case_link.py.

Revision ID: 0016_repeats
Revises: 0015_ledgerev
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0016_repeats"
down_revision: str | None = "0015_ledgerev"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_link",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("primary_id", sa.Uuid(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("basis", sa.String(length=20), nullable=False),
        sa.Column("linked_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("undone_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("undone_by", sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["resident_case.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["primary_id"], ["resident_case.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("case_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_link_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_link_primary_id"), ["primary_id"], unique=False)

    op.create_table(
        "case_check",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("round_id", sa.Uuid(), nullable=False),
        sa.Column("assignment_id", sa.Uuid(), nullable=False),
        sa.Column("visit_date", sa.Date(), nullable=False),
        sa.Column("ordered_by", sa.String(length=80), nullable=False),
        sa.Column("ordered_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("visit_id", sa.Uuid(), nullable=True),
        sa.Column("finished_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("findings", sa.Integer(), nullable=False),
        sa.Column("result", models.types.JSONType, nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["resident_case.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["household_id"], ["household.id"]),
        sa.ForeignKeyConstraint(["round_id"], ["inspection_round.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["assignment_id"], ["round_assignment.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("assignment_id"),
    )
    with op.batch_alter_table("case_check", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_check_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_check_household_id"), ["household_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("case_check", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_check_household_id"))
        batch_op.drop_index(batch_op.f("ix_case_check_case_id"))
    op.drop_table("case_check")
    with op.batch_alter_table("case_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_link_primary_id"))
        batch_op.drop_index(batch_op.f("ix_case_link_case_id"))
    op.drop_table("case_link")
