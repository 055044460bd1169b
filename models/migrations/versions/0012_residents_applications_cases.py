"""Residents: applications (申请) and their stages, public status-lookup attempts, cases (一事一案).

Written from an autogenerate and reviewed: VARCHAR for enums, UTC-aware timestamps. Names, ID numbers,
phones and contacts only encrypted plus keyed hashes; status attempts keep only keyed hashes.

Revision ID: 0012_residents
Revises: 0011_rest
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0012_residents"
down_revision: str | None = "0011_rest"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "status_attempt",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("client_hash", sa.String(length=64), nullable=False),
        sa.Column("number_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("status_attempt", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_status_attempt_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_status_attempt_client_hash"), ["client_hash"], unique=False)
        batch_op.create_index(batch_op.f("ix_status_attempt_number_hash"), ["number_hash"], unique=False)

    op.create_table(
        "application",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(length=24), nullable=False),
        sa.Column("name_enc", sa.String(length=200), nullable=False),
        sa.Column("name_hash", sa.String(length=64), nullable=False),
        sa.Column("id_enc", sa.String(length=200), nullable=False),
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("phone_enc", sa.String(length=200), nullable=True),
        sa.Column("phone_hash", sa.String(length=64), nullable=True),
        sa.Column("household_size", sa.Integer(), nullable=False),
        sa.Column("village_code", sa.String(length=12), nullable=False),
        sa.Column("township_code", sa.String(length=9), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("applied_on", sa.Date(), nullable=False),
        sa.Column("township_reviewed_on", sa.Date(), nullable=True),
        sa.Column("democratic_reviewed_on", sa.Date(), nullable=True),
        sa.Column("county_approved_on", sa.Date(), nullable=True),
        sa.Column("notice_from", sa.Date(), nullable=True),
        sa.Column("paid_from", sa.Date(), nullable=True),
        sa.Column("refused_on", sa.Date(), nullable=True),
        sa.Column("refusal_reason", sa.String(length=500), nullable=True),
        sa.Column("deciding_unit", sa.String(length=80), nullable=True),
        sa.Column("contact_unit", sa.String(length=80), nullable=True),
        sa.Column("contact_phone", sa.String(length=20), nullable=True),
        sa.Column("monthly_amount", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["village_code"],
            ["region.code"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_application_county_code"), ["county_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_application_id_hash"), ["id_hash"], unique=False)
        batch_op.create_index(batch_op.f("ix_application_number"), ["number"], unique=True)
        batch_op.create_index(batch_op.f("ix_application_phone_hash"), ["phone_hash"], unique=False)
        batch_op.create_index(batch_op.f("ix_application_stage"), ["stage"], unique=False)
        batch_op.create_index(batch_op.f("ix_application_township_code"), ["township_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_application_village_code"), ["village_code"], unique=False)

    op.create_table(
        "resident_case",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(length=24), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("contact_enc", sa.String(length=200), nullable=True),
        sa.Column("contact_hash", sa.String(length=64), nullable=True),
        sa.Column("telegram_user_id", sa.BigInteger(), nullable=True),
        sa.Column("household_id", sa.Uuid(), nullable=True),
        sa.Column("application_id", sa.Uuid(), nullable=True),
        sa.Column("village_code", sa.String(length=12), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("assigned_unit", sa.String(length=80), nullable=True),
        sa.Column("received_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answered_by", sa.String(length=80), nullable=True),
        sa.Column("satisfaction", sa.Integer(), nullable=True),
        sa.Column("updated_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["application.id"],
        ),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["household.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("resident_case", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_resident_case_application_id"), ["application_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_resident_case_category"), ["category"], unique=False)
        batch_op.create_index(batch_op.f("ix_resident_case_contact_hash"), ["contact_hash"], unique=False)
        batch_op.create_index(batch_op.f("ix_resident_case_household_id"), ["household_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_resident_case_number"), ["number"], unique=True)
        batch_op.create_index(batch_op.f("ix_resident_case_received_at"), ["received_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_resident_case_state"), ["state"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_resident_case_telegram_user_id"), ["telegram_user_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_resident_case_village_code"), ["village_code"], unique=False)

    op.create_table(
        "case_attachment",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("display_sha256", sa.String(length=64), nullable=False),
        sa.Column("mime", sa.String(length=40), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("received_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["resident_case.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("case_attachment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_attachment_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("case_attachment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_attachment_case_id"))

    op.drop_table("case_attachment")
    with op.batch_alter_table("resident_case", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_resident_case_village_code"))
        batch_op.drop_index(batch_op.f("ix_resident_case_telegram_user_id"))
        batch_op.drop_index(batch_op.f("ix_resident_case_state"))
        batch_op.drop_index(batch_op.f("ix_resident_case_received_at"))
        batch_op.drop_index(batch_op.f("ix_resident_case_number"))
        batch_op.drop_index(batch_op.f("ix_resident_case_household_id"))
        batch_op.drop_index(batch_op.f("ix_resident_case_contact_hash"))
        batch_op.drop_index(batch_op.f("ix_resident_case_category"))
        batch_op.drop_index(batch_op.f("ix_resident_case_application_id"))

    op.drop_table("resident_case")
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_application_village_code"))
        batch_op.drop_index(batch_op.f("ix_application_township_code"))
        batch_op.drop_index(batch_op.f("ix_application_stage"))
        batch_op.drop_index(batch_op.f("ix_application_phone_hash"))
        batch_op.drop_index(batch_op.f("ix_application_number"))
        batch_op.drop_index(batch_op.f("ix_application_id_hash"))
        batch_op.drop_index(batch_op.f("ix_application_county_code"))

    op.drop_table("application")
    with op.batch_alter_table("status_attempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_status_attempt_number_hash"))
        batch_op.drop_index(batch_op.f("ix_status_attempt_client_hash"))
        batch_op.drop_index(batch_op.f("ix_status_attempt_at"))

    op.drop_table("status_attempt")
