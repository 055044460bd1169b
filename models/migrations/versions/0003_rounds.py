"""Inspection rounds: commitment and snapshot, sample, exclusions, teams, sealed assignments.

Reviewed by hand: VARCHAR for enums, JSONB on PostgreSQL, UTC-aware timestamps, the register
snapshot as compressed bytes (BYTEA / BLOB), cascades from a round to everything it owns.

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-22 05:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0003"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inspection_round",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=14), nullable=False),
        sa.Column("scope_code", sa.String(length=12), nullable=False),
        sa.Column("window_start", sa.Date(), nullable=False),
        sa.Column("window_end", sa.Date(), nullable=False),
        sa.Column("checklist_ids", models.types.JSONType, nullable=False),
        sa.Column("params", models.types.JSONType, nullable=False),
        sa.Column("coverage_target", sa.Float(), nullable=False),
        sa.Column("coverage", models.types.JSONType, nullable=False),
        sa.Column("status", sa.String(length=18), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("frame_size", sa.Integer(), nullable=False),
        sa.Column("sample_size", sa.Integer(), nullable=False),
        sa.Column("algorithm_version", sa.String(length=60), nullable=True),
        sa.Column("seed_hash", sa.String(length=64), nullable=True),
        sa.Column("snapshot_hash", sa.String(length=64), nullable=True),
        sa.Column("params_hash", sa.String(length=64), nullable=True),
        sa.Column("secret_seed", sa.String(length=64), nullable=True),
        sa.Column("witness_input", sa.String(length=500), nullable=True),
        sa.Column("derived_seed", sa.String(length=64), nullable=True),
        sa.Column("created_at", models.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", models.types.UTCDateTime(), nullable=False),
        sa.Column("committed_at", models.types.UTCDateTime(), nullable=True),
        sa.Column("drawn_at", models.types.UTCDateTime(), nullable=True),
        sa.Column("assigned_at", models.types.UTCDateTime(), nullable=True),
        sa.Column("dispatched_at", models.types.UTCDateTime(), nullable=True),
        sa.Column("closed_at", models.types.UTCDateTime(), nullable=True),
        sa.Column("revealed_at", models.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("inspection_round", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inspection_round_scope_code"), ["scope_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_inspection_round_status"), ["status"], unique=False)

    op.create_table(
        "round_snapshot",
        sa.Column("round_id", sa.Uuid(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("params", models.types.JSONType, nullable=False),
        sa.Column("household_count", sa.Integer(), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["round_id"], ["inspection_round.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("round_id"),
    )

    op.create_table(
        "round_exclusion",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("round_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.String(length=300), nullable=True),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["household_id"], ["household.id"]),
        sa.ForeignKeyConstraint(["round_id"], ["inspection_round.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("round_id", "household_id"),
    )
    with op.batch_alter_table("round_exclusion", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_round_exclusion_household_id"), ["household_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_round_exclusion_round_id"), ["round_id"], unique=False)

    op.create_table(
        "round_sample",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("round_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("stratum", sa.String(length=40), nullable=False),
        sa.Column("inclusion_prob", sa.Float(), nullable=False),
        sa.Column("design_weight", sa.Float(), nullable=False),
        sa.Column("risk_weight", sa.Float(), nullable=False),
        sa.Column("take_all", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("blocked_rule", sa.String(length=120), nullable=True),
        sa.ForeignKeyConstraint(["household_id"], ["household.id"]),
        sa.ForeignKeyConstraint(["round_id"], ["inspection_round.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("round_id", "household_id"),
    )
    with op.batch_alter_table("round_sample", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_round_sample_household_id"), ["household_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_round_sample_round_id"), ["round_id"], unique=False)

    op.create_table(
        "round_team",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("round_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["round_id"], ["inspection_round.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("round_id", "number"),
    )
    with op.batch_alter_table("round_team", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_round_team_round_id"), ["round_id"], unique=False)

    op.create_table(
        "round_team_member",
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["round_team.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("team_id", "user_id"),
    )
    with op.batch_alter_table("round_team_member", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_round_team_member_user_id"), ["user_id"], unique=False)

    op.create_table(
        "round_assignment",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("round_id", sa.Uuid(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("visit_date", sa.Date(), nullable=False),
        sa.Column("route_order", sa.Integer(), nullable=False),
        sa.Column("leg_m", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=19), nullable=False),
        sa.Column("released_at", models.types.UTCDateTime(), nullable=True),
        sa.Column("updated_at", models.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["household_id"], ["household.id"]),
        sa.ForeignKeyConstraint(["round_id"], ["inspection_round.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["team_id"], ["round_team.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("round_id", "household_id"),
    )
    with op.batch_alter_table("round_assignment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_round_assignment_household_id"), ["household_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_round_assignment_released_at"), ["released_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_round_assignment_round_id"), ["round_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_round_assignment_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_round_assignment_team_id"), ["team_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_round_assignment_visit_date"), ["visit_date"], unique=False)


def downgrade() -> None:
    op.drop_table("round_assignment")
    op.drop_table("round_team_member")
    op.drop_table("round_team")
    op.drop_table("round_sample")
    op.drop_table("round_exclusion")
    op.drop_table("round_snapshot")
    op.drop_table("inspection_round")
