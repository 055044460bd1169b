"""Writing checked households in bulk: SQLite executemany / multi-row INSERT, PostgreSQL COPY.

No round trip and no bind processing per row; values go in each dialect's storage format.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import chain
from operator import attrgetter
from typing import Any

from sqlalchemy import Index, delete, insert, select, update
from sqlmodel import Session, col

from models.household import Household, HouseholdMember
from models.types import utcnow
from services.bulk import table_of, upsert
from services.cipher import get_cipher

_HEAD_RELATIONS = ("户主", "本人", "申请人")
_UNSEALED = object()  # a member row whose ID number is not encrypted yet


@dataclass(slots=True)
class HouseholdState:
    """What the import keeps about every register number of the file (the rows themselves go by)."""

    row: int
    head_id: str | None
    size: int | None
    nrows: int = 1
    members: int = 0  # member rows so far: the next one takes this position + 1
    bad: bool = False
    hid: Any = None  # the id in storage format, set once written
    written_size: int = 0
    created: bool = False


@dataclass
class Pending:
    """A household waiting for its chunk to be written, with its member rows so far."""

    state: HouseholdState
    data: dict[str, Any]
    members: list[dict[str, Any]]


def existing_ids(session: Session, register_nos: list[str]) -> dict[str, uuid.UUID]:
    """Stored household ids by register number."""
    found: dict[str, uuid.UUID] = {}
    for start in range(0, len(register_nos), 5000):
        part = register_nos[start : start + 5000]
        for reg, hid in session.execute(
            select(col(Household.register_no), col(Household.id)).where(col(Household.register_no).in_(part))
        ).all():
            found[reg] = hid
    return found


HOUSEHOLD_COLUMNS = (
    "id",
    "register_no",
    "head_name",
    "head_id_enc",
    "head_id_hash",
    "phone_enc",
    "phone_hash",
    "bank_enc",
    "size",
    "address",
    "village_code",
    "township_code",
    "county_code",
    "lat",
    "lon",
    "datum",
    "tier",
    "subsidy_type",
    "monthly_amount",
    "start_date",
    "last_review_date",
    "status",
    "cadre_relative",
    "created_at",
    "updated_at",
)
MEMBER_COLUMNS = (
    "id",
    "household_id",
    "name",
    "relation",
    "id_enc",
    "id_hash",
    "disabled",
    "seriously_ill",
    "position",
)
_UPDATE_COLUMNS = tuple(c for c in HOUSEHOLD_COLUMNS if c not in ("id", "register_no", "created_at"))


def _raw_mode(session: Session) -> str:
    """How to write: straight through the driver in each dialect's storage format, or through
    SQLAlchemy Core when the tables hold columns this module does not know (their defaults)."""
    dialect = session.get_bind().dialect.name
    known = {c.name for c in table_of(Household).columns} == set(HOUSEHOLD_COLUMNS) and {
        c.name for c in table_of(HouseholdMember).columns
    } == set(MEMBER_COLUMNS)
    return dialect if known and dialect in ("sqlite", "postgresql") else "core"


def _sqlite_ts(value: datetime) -> str:
    """An aware timestamp as SQLAlchemy's SQLite DateTime stores it (UTC, no offset)."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _sqlite_date(value: date | None) -> str | None:
    return None if value is None else f"{value.year:04d}-{value.month:02d}-{value.day:02d}"


def _sqlite_amount(value: Decimal) -> float:
    return float(value)  # SQLAlchemy's Numeric on SQLite binds a float as well


def _same(value: Any) -> Any:
    return value


class OrderedIds:
    """Time-ordered UUIDs (version 7, RFC 9562) as 32-digit hex, for the rows one import creates.

    48 bits of Unix milliseconds, then 12 random bits, then a counter from a random start: ids of
    one import ascend, and a later import's ids sort after, so primary-key and household_id index
    inserts append at the right edge of the B-tree instead of landing on a random page.
    """

    def __init__(self) -> None:
        ms = time.time_ns() // 1_000_000
        rand = int.from_bytes(os.urandom(8), "big")
        self.head = f"{ms & 0xFFFF_FFFF_FFFF:012x}7{rand >> 52:03x}"
        self.n = rand & 0xFF_FFFF_FFFF  # 40 random bits: two imports in one millisecond stay apart
        self.variant = 0b10 << 62

    def __call__(self) -> str:
        self.n += 1
        return f"{self.head}{self.variant | self.n:016x}"


# secondary indexes a large load into an (almost) empty table builds once afterwards
DEFERRABLE_INDEXES = (
    "ix_household_head_id_hash",
    "ix_household_village_code",
    "ix_household_member_household_id",
    "ix_household_member_id_hash",
)

_SQLITE_CACHE_KIB = 64 * 1024


class Writer:
    """Writes chunks of households and members with executemany/COPY, no bind processing per value.

    Values are prepared in the storage format of each dialect, exactly as SQLAlchemy's types would
    bind them: on SQLite the UUIDs as 32-char hex, timestamps as 'YYYY-MM-DD HH:MM:SS.ffffff', dates
    ISO, money as float; on PostgreSQL the Python objects psycopg adapts.
    """

    mode_override: str | None = None  # tests force "core" to compare the storage formats

    def __init__(self, session: Session, fresh: bool = False) -> None:
        self.session = session
        self.fresh = fresh  # the household table was empty when this import's transaction began
        self.mode = self.mode_override or _raw_mode(session)
        self.cipher = get_cipher().current  # writes go under the current key
        self.deferred: list[Index] = []
        now = utcnow()
        self.members = 0
        self._temp_ready = False
        self._cache_size: int | None = None
        if self.mode == "sqlite":
            self.uid: Callable[[uuid.UUID], Any] = attrgetter("hex")
            self.new_id: Callable[[], Any] = OrderedIds()
            self.day: Callable[[date | None], Any] = _sqlite_date
            self.money: Callable[[Decimal], Any] = _sqlite_amount
            self.now: Any = _sqlite_ts(now)
            # a page cache that holds the indexes being filled (the default 2 MB spills and re-reads
            # pages several times over); restored by close()
            dbapi = self._sqlite_conn = self.dbapi()
            (size,) = dbapi.execute("PRAGMA cache_size").fetchone()
            if (size < 0 and -size < _SQLITE_CACHE_KIB) or 0 <= size < _SQLITE_CACHE_KIB // 4:
                self._cache_size = size
                dbapi.execute(f"PRAGMA cache_size = -{_SQLITE_CACHE_KIB}")
        elif self.mode == "postgresql":
            # uuid columns take the 32-digit hex form as input text
            self.uid, self.new_id, self.day, self.money, self.now = _same, OrderedIds(), _same, _same, now
        else:
            self.uid, self.new_id, self.day, self.money, self.now = _same, uuid.uuid4, _same, _same, now

    def defer_indexes(self, names: tuple[str, ...]) -> None:
        """Drops these secondary indexes for the load (inside the caller's transaction, so a rollback
        brings them back); restore_indexes builds them again before the transaction commits."""
        if self.mode == "core" or not names:
            return
        tables = (table_of(Household), table_of(HouseholdMember))
        known = {str(ix.name): ix for t in tables for ix in t.indexes}
        conn = self.session.connection()
        for name in names:
            ix = known.get(name)
            if ix is not None and not ix.unique:
                ix.drop(conn)
                self.deferred.append(ix)

    def restore_indexes(self) -> None:
        """Builds the deferred indexes over the loaded rows (one sort each, not one insert per row)."""
        conn = self.session.connection()
        while self.deferred:
            self.deferred.pop().create(conn)

    def close(self) -> None:
        """Gives the connection its page cache size back."""
        if self._cache_size is not None:
            self._sqlite_conn.execute(f"PRAGMA cache_size = {int(self._cache_size)}")
            self._cache_size = None

    def dbapi(self) -> Any:
        """The driver connection under the session."""
        return self.session.connection().connection.dbapi_connection

    def write(
        self, pending: dict[str, Pending], late: list[tuple[HouseholdState, int, dict[str, Any]]]
    ) -> None:
        """Upserts the pending households with their members, and late member rows of written ones."""
        if not pending and not late:
            return
        uid, day, money, now = self.uid, self.day, self.money, self.now
        # into a table that was empty when the import began, every register number is new (repeats
        # within the file never reach the writer), so there is nothing to look up
        existing = existing_ids(self.session, list(pending)) if pending and not self.fresh else {}
        items = list(pending.items())
        sealed = self._seal_households([item.data for _, item in items])
        h_rows: list[tuple[Any, ...]] = []
        m_rows: list[list[Any]] = []  # lists until their flags and ciphertexts are final
        for i, (reg, item) in enumerate(items):
            d, st = item.data, item.state
            old = existing.get(reg)
            h = self.new_id() if old is None else uid(old)
            st.hid, st.created = h, old is None
            code = d["village_code"]
            head_id = d["head_id"]
            head_enc, head_hash, phone_enc, phone_hash, bank_enc = sealed[i]
            st.written_size = max(d["size"] or 1, 1 + len(item.members))
            datum = d["datum"]
            h_rows.append(
                (
                    h,
                    reg,
                    d["head_name"],
                    head_enc,
                    head_hash,
                    phone_enc,
                    phone_hash,
                    bank_enc,
                    st.written_size,
                    d["address"],
                    code,
                    code[:9],
                    code[:6],
                    d["lat"],
                    d["lon"],
                    None if datum is None else datum._value_,
                    d["tier"]._value_,
                    d["subsidy_type"]._value_,
                    money(d["monthly_amount"]),
                    day(d["start_date"]),
                    day(d["last_review_date"]),
                    d["status"]._value_,
                    d["cadre_relative"],
                    now,
                    now,
                )
            )
            # the head's member row shares the household's ciphertext and hash of the same ID number
            head = [self.new_id(), h, d["head_name"], "户主", head_enc, head_hash, False, False, 0]
            m_rows.append(head)
            for pos, m in enumerate(item.members, start=1):
                if m["id"] == head_id or (m["id"] is None and m["relation"] in _HEAD_RELATIONS):
                    head[6], head[7] = m["disabled"], m["seriously_ill"]
                    continue
                m_rows.append(self._member(h, pos, m))
        head_flags: list[tuple[Any, ...]] = []
        sizes: list[tuple[Any, ...]] = []
        for st, pos, m in late:  # member rows of households written in an earlier chunk
            h = st.hid
            if m["id"] == st.head_id or (m["id"] is None and m["relation"] in _HEAD_RELATIONS):
                head_flags.append((m["disabled"], m["seriously_ill"], h))
            else:
                m_rows.append(self._member(h, pos, m))
        self._seal_members(m_rows)
        for st in {id(st): st for st, _, _ in late}.values():
            size = max(st.size or 1, 1 + st.members)
            if size != st.written_size and st.hid is not None:
                st.written_size = size
                sizes.append((size, st.hid))
        new = [r for r in h_rows if pending[r[1]].state.created]
        old_rows = [r for r in h_rows if not pending[r[1]].state.created]
        replaced = [r[0] for r in old_rows]
        rows = [tuple(r) for r in m_rows]
        if self.mode == "sqlite":
            self._sqlite(new, old_rows, replaced, rows, head_flags, sizes)
        elif self.mode == "postgresql":
            self._postgres(h_rows, replaced, rows, head_flags, sizes)
        else:
            self._core(h_rows, replaced, rows, head_flags, sizes)
        self.members += len(rows)

    def _seal_households(self, data: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        """Per household: head ID ciphertext and hash, phone ciphertext and hash, bank ciphertext;
        taken from the parser process when it sealed them, else computed here a column at a time."""
        out: list[Any] = [d.get("sealed") for d in data]
        todo = [i for i, s in enumerate(out) if s is None]
        if todo:
            cipher = self.cipher
            heads = [data[i]["head_id"] for i in todo]
            phones = [data[i]["phone"] for i in todo]
            columns = zip(
                cipher.encrypt_many(heads),
                cipher.lookup_hash_many(heads),
                cipher.encrypt_many(phones),
                cipher.lookup_hash_many(phones),
                cipher.encrypt_many([data[i]["bank"] for i in todo]),
                strict=True,
            )
            for i, values in zip(todo, columns, strict=True):
                out[i] = values
        return out

    def _member(self, h: Any, pos: int, m: dict[str, Any]) -> list[Any]:
        """A member row; without the parser's `sealed`, _seal_members encrypts its ID number later."""
        enc, digest = m.get("sealed") or (m["id"], _UNSEALED)
        return [
            self.new_id(),
            h,
            m["name"] or "",
            m["relation"],
            enc,
            digest,
            m["disabled"],
            m["seriously_ill"],
            pos,
        ]

    def _seal_members(self, rows: list[list[Any]]) -> None:
        todo = [r for r in rows if r[5] is _UNSEALED]
        plains = [r[4] for r in todo]
        for r, enc, digest in zip(
            todo, self.cipher.encrypt_many(plains), self.cipher.lookup_hash_many(plains), strict=True
        ):
            r[4], r[5] = enc, digest

    def _sqlite(
        self,
        new: list[tuple[Any, ...]],
        old: list[tuple[Any, ...]],
        replaced: list[Any],
        m_rows: list[tuple[Any, ...]],
        head_flags: list[tuple[Any, ...]],
        sizes: list[tuple[Any, ...]],
    ) -> None:
        cur = self.dbapi().cursor()
        try:
            # new register numbers were looked up in this transaction: a plain INSERT is the upsert
            # (and several times cheaper in SQLite than INSERT .. ON CONFLICT DO UPDATE)
            _insert_values(cur, "household", HOUSEHOLD_COLUMNS, new)
            if old:
                sets = ", ".join(f"{c} = ?" for c in _UPDATE_COLUMNS)
                skip = (0, 1, HOUSEHOLD_COLUMNS.index("created_at"))
                cur.executemany(
                    f"UPDATE household SET {sets} WHERE id = ?",  # noqa: S608 (fixed column names)
                    [(*(v for i, v in enumerate(r) if i not in skip), r[0]) for r in old],
                )
            for start in range(0, len(replaced), 500):
                part = replaced[start : start + 500]
                cur.execute(
                    f"DELETE FROM household_member WHERE household_id IN ({', '.join('?' * len(part))})",  # noqa: S608
                    part,
                )
            _insert_values(cur, "household_member", MEMBER_COLUMNS, m_rows)
            if head_flags:
                cur.executemany(
                    "UPDATE household_member SET disabled = ?, seriously_ill = ? "
                    "WHERE household_id = ? AND position = 0",
                    head_flags,
                )
            if sizes:
                cur.executemany("UPDATE household SET size = ? WHERE id = ?", sizes)
        finally:
            cur.close()

    def _postgres(
        self,
        h_rows: list[tuple[Any, ...]],
        replaced: list[Any],
        m_rows: list[tuple[Any, ...]],
        head_flags: list[tuple[Any, ...]],
        sizes: list[tuple[Any, ...]],
    ) -> None:
        cur = self.dbapi().cursor()
        cols = ", ".join(HOUSEHOLD_COLUMNS)
        try:
            if h_rows and self.fresh:
                # the table was empty when the import began: no row can conflict, COPY straight in
                with cur.copy(f"COPY household ({cols}) FROM STDIN") as copy:
                    for r in h_rows:
                        copy.write_row(r)
            elif h_rows:
                if not self._temp_ready:
                    cur.execute(
                        "CREATE TEMP TABLE IF NOT EXISTS feijian_import_household "
                        "(LIKE household INCLUDING DEFAULTS) ON COMMIT DROP"
                    )
                    self._temp_ready = True
                cur.execute("TRUNCATE feijian_import_household")
                with cur.copy(f"COPY feijian_import_household ({cols}) FROM STDIN") as copy:
                    for r in h_rows:
                        copy.write_row(r)
                sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in _UPDATE_COLUMNS)
                cur.execute(
                    f"INSERT INTO household ({cols}) SELECT {cols} FROM feijian_import_household "  # noqa: S608
                    f"ON CONFLICT (register_no) DO UPDATE SET {sets}"
                )
            if replaced:
                cur.execute("DELETE FROM household_member WHERE household_id = ANY(%s)", (replaced,))
            if m_rows:
                with cur.copy(f"COPY household_member ({', '.join(MEMBER_COLUMNS)}) FROM STDIN") as copy:
                    for r in m_rows:
                        copy.write_row(r)
            if head_flags:
                cur.executemany(
                    "UPDATE household_member SET disabled = %s, seriously_ill = %s "
                    "WHERE household_id = %s AND position = 0",
                    head_flags,
                )
            if sizes:
                cur.executemany("UPDATE household SET size = %s WHERE id = %s", sizes)
        finally:
            cur.close()

    def _core(
        self,
        h_rows: list[tuple[Any, ...]],
        replaced: list[Any],
        m_rows: list[tuple[Any, ...]],
        head_flags: list[tuple[Any, ...]],
        sizes: list[tuple[Any, ...]],
    ) -> None:
        """SQLAlchemy Core with bind processing: the reference for the storage formats above."""
        households, members = table_of(Household), table_of(HouseholdMember)
        upsert(
            self.session,
            households,
            [dict(zip(HOUSEHOLD_COLUMNS, r, strict=True)) for r in h_rows],
            ["register_no"],
            list(_UPDATE_COLUMNS),
        )
        for start in range(0, len(replaced), 5000):
            self.session.execute(
                delete(members).where(members.c.household_id.in_(replaced[start : start + 5000]))
            )
        if m_rows:
            self.session.execute(insert(members), [dict(zip(MEMBER_COLUMNS, r, strict=True)) for r in m_rows])
        for disabled, ill, hid in head_flags:
            self.session.execute(
                update(members)
                .where(members.c.household_id == hid, members.c.position == 0)
                .values(disabled=disabled, seriously_ill=ill)
            )
        for size, hid in sizes:
            self.session.execute(update(households).where(households.c.id == hid).values(size=size))


_VALUES_CACHE: dict[tuple[str, int], str] = {}


def _insert_values(cur: Any, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """Multi-row INSERT .. VALUES: SQLite runs hundreds of rows per statement step."""
    if not rows:
        return
    per = max(1, 30000 // len(columns) // 2)  # well inside SQLite's 32,766 bound parameters
    for start in range(0, len(rows), per):
        part = rows[start : start + per]
        sql = _VALUES_CACHE.get((table, len(part)))
        if sql is None:
            one = "(" + ", ".join("?" * len(columns)) + ")"
            head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "  # noqa: S608 (fixed names)
            sql = head + ", ".join([one] * len(part))
            _VALUES_CACHE[(table, len(part))] = sql
        cur.execute(sql, list(chain.from_iterable(part)))
