"""Evidence of a ledger item: a fix's photos belong to the item, not to a visit.

Written by hand. ``evidence.visit_id`` becomes nullable and ``evidence.ledger_item_id`` names the
item a photo was sent for; every row has one or the other. Older rows all belong to a visit.

Revision ID: 0015_ledgerev
Revises: 0014_cadres
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_ledgerev"
down_revision: str | None = "0014_cadres"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.alter_column("visit_id", existing_type=sa.Uuid(), nullable=True)
        batch_op.add_column(sa.Column("ledger_item_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            "fk_evidence_ledger_item", "ledger_item", ["ledger_item_id"], ["id"], ondelete="CASCADE"
        )
        batch_op.create_index("ix_evidence_ledger_item_id", ["ledger_item_id"], unique=False)
        batch_op.create_unique_constraint("uq_evidence_ledger_item_sha256", ["ledger_item_id", "sha256"])


def downgrade() -> None:
    op.execute("DELETE FROM evidence WHERE visit_id IS NULL")
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.drop_constraint("uq_evidence_ledger_item_sha256", type_="unique")
        batch_op.drop_index("ix_evidence_ledger_item_id")
        batch_op.drop_constraint("fk_evidence_ledger_item", type_="foreignkey")
        batch_op.drop_column("ledger_item_id")
        batch_op.alter_column("visit_id", existing_type=sa.Uuid(), nullable=False)
