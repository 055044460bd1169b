"""Visit flow: the visit record (checklist, answers, track, check-in, timing) and derived findings.

Written by hand. Extends the minimal visit table of 0001 instead of creating a second one; the
assignment link needs the round tables of 0003.

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0005"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON_COLUMNS = (
    "participants",
    "answers",
    "step_seconds",
    "track",
    "checkin",
    "flags",
    "core_proof",
    "notes",
    "client_findings",
)


def upgrade() -> None:
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assignment_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("round_id", sa.Uuid(), nullable=True))
        batch_op.add_column(
            sa.Column("checklist_id", sa.String(length=60), nullable=False, server_default="home_visit")
        )
        batch_op.add_column(sa.Column("checklist_version", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(
            sa.Column("status", sa.String(length=19), nullable=False, server_default="in_progress")
        )
        batch_op.add_column(sa.Column("outcome", sa.String(length=20), nullable=True))
        for name in _JSON_COLUMNS:
            default = "{}" if name in ("step_seconds", "checkin", "core_proof") else "[]"
            batch_op.add_column(
                sa.Column(name, models.types.JSONType, nullable=False, server_default=default)
            )
        batch_op.add_column(
            sa.Column("updated_at", models.types.UTCDateTime(), nullable=False, server_default=sa.func.now())
        )
        batch_op.create_foreign_key("fk_visit_assignment", "round_assignment", ["assignment_id"], ["id"])
        batch_op.create_index(batch_op.f("ix_visit_assignment_id"), ["assignment_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_visit_round_id"), ["round_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_visit_status"), ["status"], unique=False)
    # server defaults only filled existing rows; the application always writes these columns
    with op.batch_alter_table("visit", schema=None) as batch_op:
        for name in ("checklist_id", "checklist_version", "status", "updated_at", *_JSON_COLUMNS):
            batch_op.alter_column(name, server_default=None)

    op.create_table(
        "finding",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("visit_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("round_id", sa.Uuid(), nullable=True),
        sa.Column("rule_id", sa.String(length=80), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("step_ids", models.types.JSONType, nullable=False),
        sa.Column("message_zh", sa.String(length=1000), nullable=False),
        sa.Column("message_en", sa.String(length=1000), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["household_id"], ["household.id"]),
        sa.ForeignKeyConstraint(["visit_id"], ["visit.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_finding_category"), ["category"], unique=False)
        batch_op.create_index(batch_op.f("ix_finding_household_id"), ["household_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_finding_round_id"), ["round_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_finding_visit_id"), ["visit_id"], unique=False)


def downgrade() -> None:
    op.drop_table("finding")
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_visit_status"))
        batch_op.drop_index(batch_op.f("ix_visit_round_id"))
        batch_op.drop_index(batch_op.f("ix_visit_assignment_id"))
        batch_op.drop_constraint("fk_visit_assignment", type_="foreignkey")
        for name in (
            "updated_at",
            *_JSON_COLUMNS,
            "outcome",
            "status",
            "checklist_version",
            "checklist_id",
            "round_id",
            "assignment_id",
        ):
            batch_op.drop_column(name)
