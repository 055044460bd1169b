"""Evidence at rest: what a photo shows (document photos are redacted) and when its original was purged.

Written by hand. Older rows are general photos whose originals are still held.

Revision ID: 0011_rest
Revises: 0010_ledger
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0011_rest"
down_revision: str | None = "0010_ledger"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = "0002"  # the evidence table


def upgrade() -> None:
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("purpose", sa.String(length=20), nullable=False, server_default="general")
        )
        batch_op.add_column(sa.Column("purged_at", models.types.UTCDateTime(), nullable=True))
        batch_op.create_index(batch_op.f("ix_evidence_purged_at"), ["purged_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_purged_at"))
        batch_op.drop_column("purged_at")
        batch_op.drop_column("purpose")
