"""Console counts without the register: visits and findings carry their village; ledger ageing index.

Written by hand. The dashboard counted visits per day and findings per category of a region by joining
the household register (a million rows); each visit and finding now records the household's village on
insert (backfilled here), indexed with the start time and the category. The ledger's ageing block groups
by state and creation time.

Revision ID: 0021_console3
Revises: 0020_console2
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_console3"
down_revision: str | None = "0020_console2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL = (
    "UPDATE {t} SET village_code = (SELECT household.village_code FROM household"
    " WHERE household.id = {t}.household_id) WHERE village_code IS NULL"
)


def upgrade() -> None:
    with op.batch_alter_table("visit") as b:
        b.add_column(sa.Column("village_code", sa.String(12), nullable=True))
    with op.batch_alter_table("finding") as b:
        b.add_column(sa.Column("village_code", sa.String(12), nullable=True))
    op.execute(BACKFILL.format(t="visit"))
    op.execute(BACKFILL.format(t="finding"))
    op.create_index("ix_visit_scope_started", "visit", ["village_code", "started_at"])
    op.create_index("ix_finding_scope_category", "finding", ["village_code", "category"])
    op.create_index("ix_ledger_item_state_created", "ledger_item", ["state", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_ledger_item_state_created", table_name="ledger_item")
    op.drop_index("ix_finding_scope_category", table_name="finding")
    op.drop_index("ix_visit_scope_started", table_name="visit")
    with op.batch_alter_table("finding") as b:
        b.drop_column("village_code")
    with op.batch_alter_table("visit") as b:
        b.drop_column("village_code")
