"""Cadre-relatives registry (近亲属备案) and household reviews (复核).

Written by hand: cadres and their declared relatives (ID numbers encrypted plus keyed hashes), the
recorded reviews of households, and an index on members' ID hashes so declarations match members.

Revision ID: 0014_cadres
Revises: 0013_content
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0014_cadres"
down_revision: str | None = "0013_content"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cadre",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("id_enc", sa.String(length=200), nullable=False),
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("unit", sa.String(length=120), nullable=False),
        sa.Column("post", sa.String(length=60), nullable=False),
        sa.Column("township_code", sa.String(length=9), nullable=False),
        sa.Column("declared_on", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("cadre", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cadre_id_hash"), ["id_hash"], unique=False)
        batch_op.create_index(batch_op.f("ix_cadre_township_code"), ["township_code"], unique=False)

    op.create_table(
        "cadre_relative",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("cadre_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("id_enc", sa.String(length=200), nullable=False),
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("relation", sa.String(length=20), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["cadre_id"], ["cadre.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("cadre_relative", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cadre_relative_cadre_id"), ["cadre_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cadre_relative_id_hash"), ["id_hash"], unique=False)

    op.create_table(
        "household_review",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("reviewed_on", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("visit_id", sa.Uuid(), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["household_id"], ["household.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("household_review", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_household_review_household_id"), ["household_id"], unique=False)

    with op.batch_alter_table("household_member", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_household_member_id_hash"), ["id_hash"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("household_member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_household_member_id_hash"))
    op.drop_table("household_review")
    op.drop_table("cadre_relative")
    op.drop_table("cadre")
