"""Household indexes that no query uses are dropped (they only slowed the register import).

Written by hand. Kept: register_no (unique; upserts and cursor pages), head_id_hash (search by ID
number), village_code (scope prefixes, the region foreign key), household_member.household_id.
Dropped: phone_hash and household_member.id_hash (never searched), township_code and county_code
(every query that reads them already narrows by village_code prefix), tier and cadre_relative (a
handful of values: an index would not narrow a scan).

Revision ID: 0008_keys_household_indexes
Revises: 0007_keys_relative_key
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008_keys_household_indexes"
down_revision: str | None = "0007_keys_relative_key"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DROPPED = (
    ("household", "ix_household_phone_hash", "phone_hash"),
    ("household", "ix_household_township_code", "township_code"),
    ("household", "ix_household_county_code", "county_code"),
    ("household", "ix_household_tier", "tier"),
    ("household", "ix_household_cadre_relative", "cadre_relative"),
    ("household_member", "ix_household_member_id_hash", "id_hash"),
)


def upgrade() -> None:
    for table, name, _column in _DROPPED:
        op.drop_index(name, table_name=table)


def downgrade() -> None:
    for table, name, column in _DROPPED:
        op.create_index(name, table, [column], unique=False)
