"""Console indexes: visits newest first, and the ledger list's order (deadline, id) across regions.

Written by hand. The visit list and visits-per-day read visits by start time; the ledger board of a
wide region (a city or the province) pages by (deadline, id), which the region-first index serves badly.

Revision ID: 0020_console2
Revises: 0019_cases
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020_console2"
down_revision: str | None = "0019_cases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_visit_started_at", "visit", ["started_at"])
    op.create_index("ix_ledger_item_deadline_id", "ledger_item", ["deadline", "id"])


def downgrade() -> None:
    op.drop_index("ix_ledger_item_deadline_id", table_name="ledger_item")
    op.drop_index("ix_visit_started_at", table_name="visit")
