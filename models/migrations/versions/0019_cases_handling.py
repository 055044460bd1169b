"""Cases handling: external (12345/信访) numbers, the household match, workflow times, history, and
notices owed to residents' Telegram chats.

Written by hand. The reporter's name is stored only encrypted.

Revision ID: 0019_cases
Revises: 0018_ledgerbench
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0019_cases"
down_revision: str | None = "0018_ledgerbench"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("resident_case", schema=None) as batch_op:
        batch_op.add_column(sa.Column("external_number", sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column("reporter_enc", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("place", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("match_method", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("match_confidence", sa.Float(), nullable=True))
        batch_op.add_column(
            sa.Column("match_confirmed", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("first_responder", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("assigned_at", models.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("closed_at", models.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("reopen_count", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("rated_at", models.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_resident_case_external_number"), ["external_number"], unique=True
        )

    op.create_table(
        "case_event",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("from_state", sa.String(length=20), nullable=True),
        sa.Column("to_state", sa.String(length=20), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["resident_case.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("case_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_event_case_id"), ["case_id"], unique=False)

    op.create_table(
        "resident_notice",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("telegram_user_id", sa.BigInteger(), nullable=False),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("params", models.types.JSONType, nullable=False),
        sa.Column("due_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("fetched_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("resident_notice", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_resident_notice_key"), ["key"], unique=True)
        batch_op.create_index(
            batch_op.f("ix_resident_notice_telegram_user_id"), ["telegram_user_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_resident_notice_due_at"), ["due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_resident_notice_fetched_at"), ["fetched_at"], unique=False)


def downgrade() -> None:
    op.drop_table("resident_notice")
    op.drop_table("case_event")
    with op.batch_alter_table("resident_case", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_resident_case_external_number"))
        for name in (
            "rated_at",
            "reopen_count",
            "closed_at",
            "assigned_at",
            "first_responder",
            "match_confirmed",
            "match_confidence",
            "match_method",
            "place",
            "reporter_enc",
            "external_number",
        ):
            batch_op.drop_column(name)
