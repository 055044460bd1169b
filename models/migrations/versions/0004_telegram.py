"""Telegram: invite codes, bind attempts (throttling), binding state, and the notices feed.

Written by hand like 0001: VARCHAR, JSONB on PostgreSQL, UTC-aware timestamps. Telegram ids are
BIGINT (they exceed 2**31). Invite codes are stored only as keyed hashes.

Revision ID: 0004
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0004"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "invite_code",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", models.types.UTCDateTime(), nullable=False),
        sa.Column("expires_at", models.types.UTCDateTime(), nullable=False),
        sa.Column("used_at", models.types.UTCDateTime(), nullable=True),
        sa.Column("used_by_telegram_id", sa.BigInteger(), nullable=True),
        sa.Column("revoked_at", models.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("invite_code", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invite_code_code_hash"), ["code_hash"], unique=True)
        batch_op.create_index(batch_op.f("ix_invite_code_user_id"), ["user_id"], unique=False)

    op.create_table(
        "bind_attempt",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("telegram_user_id", sa.BigInteger(), nullable=False),
        sa.Column("at", models.types.UTCDateTime(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("bind_attempt", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bind_attempt_telegram_user_id"), ["telegram_user_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_bind_attempt_at"), ["at"], unique=False)

    op.create_table(
        "telegram_link",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("telegram_user_id", sa.BigInteger(), nullable=False),
        sa.Column("invite_id", sa.Uuid(), nullable=True),
        sa.Column("invited_by_id", sa.Uuid(), nullable=True),
        sa.Column("bound_at", models.types.UTCDateTime(), nullable=False),
        sa.Column("unreachable_at", models.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id"),
    )

    op.create_table(
        "notice",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("recipient_id", sa.Uuid(), nullable=False),
        sa.Column("params", models.types.JSONType, nullable=False),
        sa.Column("due_at", models.types.UTCDateTime(), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(), nullable=False),
        sa.Column("fetched_at", models.types.UTCDateTime(), nullable=True),
        sa.Column("cancelled_at", models.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["recipient_id"], ["app_user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notice_key"), ["key"], unique=True)
        batch_op.create_index(batch_op.f("ix_notice_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_notice_recipient_id"), ["recipient_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_notice_due_at"), ["due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_notice_fetched_at"), ["fetched_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("notice", schema=None) as batch_op:
        for ix in ("fetched_at", "due_at", "recipient_id", "kind", "key"):
            batch_op.drop_index(batch_op.f(f"ix_notice_{ix}"))
    op.drop_table("notice")
    op.drop_table("telegram_link")
    with op.batch_alter_table("bind_attempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bind_attempt_at"))
        batch_op.drop_index(batch_op.f("ix_bind_attempt_telegram_user_id"))
    op.drop_table("bind_attempt")
    with op.batch_alter_table("invite_code", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invite_code_user_id"))
        batch_op.drop_index(batch_op.f("ix_invite_code_code_hash"))
    op.drop_table("invite_code")
