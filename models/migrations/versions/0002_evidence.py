"""Evidence: photos of a visit with their extracted facts and verdict.

Written by hand; one row per (visit, original SHA-256), originals and derived copies live in the
content-addressed blob store.

Revision ID: 0002
Revises: 0005
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0002"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "evidence",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("visit_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("step_id", sa.String(length=80), nullable=True),
        sa.Column("uploaded_by", sa.String(length=80), nullable=False),
        sa.Column("source", sa.String(length=30), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("display_sha256", sa.String(length=64), nullable=False),
        sa.Column("thumb_sha256", sa.String(length=64), nullable=False),
        sa.Column("mime", sa.String(length=40), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("captured_at", models.types.UTCDateTime(), nullable=True),
        sa.Column("received_at", models.types.UTCDateTime(), nullable=False),
        sa.Column("exif", models.types.JSONType, nullable=False),
        sa.Column("gps_lat", sa.Float(), nullable=True),
        sa.Column("gps_lon", sa.Float(), nullable=True),
        sa.Column("position_source", sa.String(length=30), nullable=False),
        sa.Column("position_lat", sa.Float(), nullable=True),
        sa.Column("position_lon", sa.Float(), nullable=True),
        sa.Column("distance_m", sa.Float(), nullable=True),
        sa.Column("site", sa.String(length=20), nullable=False),
        sa.Column("fresh", sa.Boolean(), nullable=True),
        sa.Column("reused", sa.Boolean(), nullable=False),
        sa.Column("edited", sa.Boolean(), nullable=False),
        sa.Column("forwarded", sa.Boolean(), nullable=False),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("phash", sa.String(length=64), nullable=False),
        sa.Column("perceptual_hash", sa.String(length=1000), nullable=False),
        sa.Column("verdict", models.types.JSONType, nullable=False),
        sa.ForeignKeyConstraint(["household_id"], ["household.id"]),
        sa.ForeignKeyConstraint(["visit_id"], ["visit.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("visit_id", "sha256"),
    )
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evidence_household_id"), ["household_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_evidence_phash"), ["phash"], unique=False)
        batch_op.create_index(batch_op.f("ix_evidence_sha256"), ["sha256"], unique=False)
        batch_op.create_index(batch_op.f("ix_evidence_visit_id"), ["visit_id"], unique=False)


def downgrade() -> None:
    op.drop_table("evidence")
