"""Evidence sent time: when the inspector sent the photo (the Telegram message date the bot saw).

Written by hand. Older rows have none; their event time is when they arrived.

Revision ID: 0009_offline2
Revises: 0008_keys_household_indexes
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0009_offline2"
down_revision: str | None = "0008_keys_household_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = "0002"  # the evidence table


def upgrade() -> None:
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sent_at", models.types.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.drop_column("sent_at")
