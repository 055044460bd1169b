"""Ledger: a partial index of open items by (village_code, deadline) for the overdue counts per region.

Written by hand. The grouped overdue count per township reads this index alone (index-only, in
village order) instead of visiting a third of the table's rows.

Revision ID: 0018_ledgerbench
Revises: 0017_deaths
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_ledgerbench"
down_revision: str | None = "0017_deaths"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the open states (contracts.ledger.OPEN_STATES) as they were when this migration was written
OPEN = "state IN ('in_progress', 'open', 'reopened', 'returned')"


def upgrade() -> None:
    op.create_index(
        "ix_ledger_item_open_village_deadline",
        "ledger_item",
        ["village_code", "deadline"],
        unique=False,
        postgresql_where=sa.text(OPEN),
        sqlite_where=sa.text(OPEN),
    )


def downgrade() -> None:
    op.drop_index("ix_ledger_item_open_village_deadline", table_name="ledger_item")
