"""Visit conclusion: the structured conclusion (符合/调档/清退/补发/再核/移送纪检 and its numbers).

Written by hand. Older visits have none.

Revision ID: 0013_content
Revises: 0012_residents
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0013_content"
down_revision: str | None = "0012_residents"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("conclusion", models.types.JSONType, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.drop_column("conclusion")
