"""Key rotation: remember which PII key a user's declared-relative hashes are under.

Written by hand. Existing rows keep NULL (hashes written before key ids existed); `feijian keys
rotate` re-keys them and sets the current key's id.

Revision ID: 0007_keys_relative_key
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_keys_relative_key"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("relative_key_id", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("relative_key_id")
