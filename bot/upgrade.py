"""Upgrading a bot database made by an earlier version (schema 1, 2 or 3) in place.

Schema 4 adds one column, `inbox.claimed_by` (which inbox worker handles a row now); schema 3
databases get it here. Schema 3 only added tables (the inbox and its dead letters), which
`create_all` makes; schema 2 databases just get the new version number.

Schema 1 had two queues: `outbox` (method, path, JSON body) and `visit_pending` (photos and visit
finishes waiting for them, a table made at run time). Schema 2 has one `outbox` naming operations.
Queued rows move over in the order they were made, under the same idempotency keys, so nothing
queued is lost and nothing is sent twice; photo rows already uploaded move too, because a visit in
progress still reads its verdicts and its finish still needs their evidence ids.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    insert,
    inspect,
    select,
    text,
    update,
)

from bot import tables as T
from bot.store_calls import UPLOAD_OP, op_of

log = logging.getLogger("feijian.bot.upgrade")
PREVIOUS = ("1", "2", "3")

# The schema 1 tables, as that version defined them (only what is read here).
_v1 = MetaData()
V1_OUTBOX = Table(
    "outbox",
    _v1,
    Column("id", Integer, primary_key=True),
    Column("key", String(200)),
    Column("telegram_user_id", BigInteger),
    Column("method", String(10)),
    Column("path", String(300)),
    Column("body", T.JSONType),
    Column("status", String(12)),
    Column("attempts", Integer),
    Column("last_error", String(500)),
    Column("created_at", T.AwareDateTime()),
)
V1_PENDING = Table(
    "visit_pending",
    _v1,
    Column("id", Integer, primary_key=True),
    Column("key", String(200)),
    Column("kind", String(10)),
    Column("telegram_user_id", BigInteger),
    Column("visit_id", String(36)),
    Column("ref", String(40)),
    Column("body", T.JSONType),
    Column("status", String(12)),
    Column("evidence", T.JSONType),
    Column("attempts", Integer),
    Column("last_error", String(500)),
    Column("created_at", T.AwareDateTime()),
)


def schema_version(conn: Connection) -> str | None:
    """The version that made this database (None for a new one)."""
    if not inspect(conn).has_table("bot_meta"):
        return None
    q = select(T.bot_meta.c.value).where(T.bot_meta.c.key == "schema")
    found = conn.execute(q).scalar()
    return str(found) if found is not None else None


def _from_outbox(conn: Connection) -> list[dict[str, Any]]:
    out = []
    q = select(V1_OUTBOX).where(V1_OUTBOX.c.status == "pending").order_by(V1_OUTBOX.c.id)
    for r in conn.execute(q).mappings():
        mapped = op_of(r["method"], r["path"])
        if mapped is None:
            log.warning("queued write %s (%s %s) has no operation; dropped", r["key"], r["method"], r["path"])
            continue
        op, target = mapped
        out.append(
            {
                **_common(r),
                "op": op,
                "target": target,
                "body": r["body"],
                "status": "pending",
                "response": None,
            }
        )
    return out


def _from_visit_pending(conn: Connection) -> list[dict[str, Any]]:
    out = []
    for r in conn.execute(select(V1_PENDING).order_by(V1_PENDING.c.id)).mappings():
        if r["kind"] == "photo":
            body = {**(r["body"] or {}), "ref": r["ref"]}
            out.append(
                {
                    **_common(r),
                    "op": UPLOAD_OP,
                    "target": r["visit_id"],
                    "body": body,
                    "status": r["status"],
                    "response": r["evidence"],
                }
            )
        elif r["status"] == "pending":
            out.append(
                {
                    **_common(r),
                    "op": "visit_finish",
                    "target": r["visit_id"],
                    "body": r["body"],
                    "status": "pending",
                    "response": None,
                }
            )
    return out


def _common(r: Any) -> dict[str, Any]:
    return {
        "key": r["key"],
        "telegram_user_id": r["telegram_user_id"],
        "attempts": r["attempts"] or 0,
        "last_error": r["last_error"],
        "created_at": r["created_at"],
    }


def upgrade(conn: Connection, found: str = "1") -> int:
    """Upgrades in place: schema 1's queued writes move into the one outbox; returns rows moved."""
    if found == "3":
        conn.execute(text("ALTER TABLE inbox ADD COLUMN claimed_by BIGINT"))
    if found != "1":
        conn.execute(update(T.bot_meta).where(T.bot_meta.c.key == "schema").values(value=T.SCHEMA_VERSION))
        log.warning("bot database upgraded from schema %s to %s", found, T.SCHEMA_VERSION)
        return 0
    tables = set(inspect(conn).get_table_names())
    rows = _from_outbox(conn) if "outbox" in tables else []
    if "visit_pending" in tables:
        rows += _from_visit_pending(conn)
        V1_PENDING.drop(conn)
    if "outbox" in tables:
        V1_OUTBOX.drop(conn)
    T.outbox.create(conn)
    rows.sort(key=lambda r: r["created_at"])  # one queue, in the order the writes were made
    seen: set[str] = set()
    for r in rows:
        if r["key"] in seen:
            continue
        seen.add(r["key"])
        conn.execute(insert(T.outbox).values(next_attempt_at=r["created_at"], **r))
    conn.execute(update(T.bot_meta).where(T.bot_meta.c.key == "schema").values(value=T.SCHEMA_VERSION))
    log.warning("bot database upgraded to schema %s; %d queued rows kept", T.SCHEMA_VERSION, len(seen))
    return len(seen)
