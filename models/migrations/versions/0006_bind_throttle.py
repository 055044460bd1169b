"""Bind throttling per code prefix: failed attempts remember a keyed hash of the code's prefix.

Written by hand. Replaces the global failure counter (which let anyone lock out every sign-up)
with a count per prefix; older rows have no prefix and only count for their Telegram account.

Revision ID: 0006
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("bind_attempt", schema=None) as batch_op:
        batch_op.add_column(sa.Column("code_prefix", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_bind_attempt_code_prefix"), ["code_prefix"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("bind_attempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bind_attempt_code_prefix"))
        batch_op.drop_column("code_prefix")
