"""Inspector quality over plain columns: each visit's check-in cell, rushed flag and median step time.

Written by hand. The console's inspector-quality page parsed every visit's check-in point, flags and
step times (JSON) on each request, and took the median over every step of every visit; at 100k visits
of some thirty steps that is millions of values per page. Each visit now keeps the three summaries,
filled on every write by the model (models/visit.py `_summarise`) and backfilled here in batches.

Revision ID: 0022_visitstats
Revises: 0021_console3
"""

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0022_visitstats"
down_revision: str | None = "0021_console3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def upgrade() -> None:
    from models.visit import checkin_cell, step_median

    with op.batch_alter_table("visit") as b:
        b.add_column(sa.Column("checkin_cell", sa.BigInteger(), nullable=True))
        b.add_column(sa.Column("rushed", sa.Boolean(), nullable=False, server_default=sa.false()))
        b.add_column(sa.Column("step_median_s", sa.Float(), nullable=True))
    conn = op.get_bind()
    visit = sa.table(
        "visit",
        sa.column("id", sa.Uuid()),
        sa.column("checkin", sa.JSON()),
        sa.column("flags", sa.JSON()),
        sa.column("step_seconds", sa.JSON()),
        sa.column("checkin_cell", sa.BigInteger()),
        sa.column("rushed", sa.Boolean()),
        sa.column("step_median_s", sa.Float()),
    )
    update = (
        sa.update(visit)
        .where(visit.c.id == sa.bindparam("vid"))
        .values(
            checkin_cell=sa.bindparam("cell"), rushed=sa.bindparam("r"), step_median_s=sa.bindparam("med")
        )
    )
    last = None
    while True:
        q = sa.select(visit.c.id, visit.c.checkin, visit.c.flags, visit.c.step_seconds).order_by(visit.c.id)
        if last is not None:
            q = q.where(visit.c.id > last)
        rows = conn.execute(q.limit(BATCH)).all()
        if not rows:
            break
        params = []
        for vid, checkin, flags, steps in rows:
            flags = _json(flags) or []
            params.append(
                {
                    "vid": vid,
                    "cell": checkin_cell(_json(checkin)),
                    "r": any(isinstance(f, dict) and f.get("code") == "rushed" for f in flags),
                    "med": step_median(_json(steps)),
                }
            )
        conn.execute(update, params)
        last = rows[-1][0]


def downgrade() -> None:
    with op.batch_alter_table("visit") as b:
        b.drop_column("step_median_s")
        b.drop_column("rushed")
        b.drop_column("checkin_cell")
