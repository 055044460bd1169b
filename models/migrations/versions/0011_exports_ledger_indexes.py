"""On PostgreSQL the ledger's scope index compares village codes byte-wise (text_pattern_ops).

Written by hand. The list narrows by region subtree with `village_code LIKE '<code>%'`; under a
non-C collation (C.UTF-8, zh_CN.UTF-8 ...) a plain btree cannot serve a LIKE prefix, so the planner
walked the (state, deadline) index and filtered the region row by row. The same index with the
pattern operator class serves the prefix, the state and the deadline at once. SQLite is unchanged.

Revision ID: 0011_exports_ledger_indexes
Revises: 0010_ledger
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011_exports_ledger_indexes"
down_revision: str | None = "0010_ledger"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NAME, _TABLE, _COLUMNS = "ix_ledger_item_scope", "ledger_item", ["village_code", "state", "deadline"]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index(_NAME, table_name=_TABLE)
    op.create_index(_NAME, _TABLE, _COLUMNS, postgresql_ops={"village_code": "text_pattern_ops"})


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index(_NAME, table_name=_TABLE)
    op.create_index(_NAME, _TABLE, _COLUMNS)
