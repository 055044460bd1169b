"""Re-encrypting personal identifiers under a new PII key: status and a resumable, batched rotation.

Every table that holds a personal identifier is listed in `_TABLES`; a row is done once every
ciphertext column carries the current key's id. Each batch is one transaction (re-encrypted values,
rebuilt keyed hashes, one audit event with counts only), so an interrupted rotation keeps its
finished batches and a second run skips them. Declared relatives are stored only as keyed hashes:
they are re-keyed through the register (the hash of each ID number under the old keys maps to its
hash under the new key); a declaration that names nobody in the register cannot be re-keyed and keeps
its user under the old key until an admin declares it again or the operator passes
`drop_unmatched=True`.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, update
from sqlmodel import Session, col, select

from models.cadre import Cadre, CadreRelative
from models.household import Household, HouseholdMember
from models.user import User
from services import audit
from services.context import Actor
from services.pii import PiiError, PiiKeyring

Model = type[Household] | type[HouseholdMember] | type[Cadre] | type[CadreRelative]
SessionFactory = Callable[[], AbstractContextManager[Session]]
Progress = Callable[[str, int], None]

# table → (ciphertext column → keyed-hash column rebuilt from its plain value, or None)
_TABLES: dict[Model, dict[str, str | None]] = {
    Household: {"head_id_enc": "head_id_hash", "phone_enc": "phone_hash", "bank_enc": None},
    HouseholdMember: {"id_enc": "id_hash"},
    Cadre: {"id_enc": "id_hash"},
    CadreRelative: {"id_enc": "id_hash"},
}
_NAMES = {
    Household: "household",
    HouseholdMember: "household_member",
    Cadre: "cadre",
    CadreRelative: "cadre_relative",
}


class RotationError(RuntimeError):
    """A row cannot be re-encrypted (its key is not configured); the message names the row, not data."""


@dataclass
class KeyStatus:
    """How many rows remain under keys other than the current one."""

    key_id: str
    old_key_ids: list[str]
    remaining: dict[str, int]
    unmatched_relatives: dict[str, int] = field(default_factory=dict)  # login → declarations

    @property
    def total(self) -> int:
        """Rows still to rotate, over every table."""
        return sum(self.remaining.values())


@dataclass
class RotationReport:
    """What a rotation run did."""

    key_id: str
    rotated: dict[str, int]
    batches: int
    unmatched_relatives: dict[str, int]
    dropped_relatives: int = 0


def _stale(model: Model, prefix: str) -> ColumnElement[bool]:
    """Rows with at least one ciphertext not under the current key."""
    conds = []
    for name in _TABLES[model]:
        c = col(getattr(model, name))
        conds.append(and_(c.is_not(None), c.not_like(prefix + "%")))
    return or_(*conds)


def _stale_users(key_id: str) -> ColumnElement[bool]:
    kid = col(User.relative_key_id)
    return or_(kid.is_(None), kid != key_id)


def _users_with_relatives(session: Session, key_id: str, lock: bool = False) -> list[User]:
    q = select(User).where(_stale_users(key_id)).order_by(col(User.login))
    users = session.exec(q.with_for_update() if lock else q).all()
    return [u for u in users if u.relative_id_hashes]


def status(session: Session, keyring: PiiKeyring) -> KeyStatus:
    """Counts, per table, the rows whose personal data is not yet under the current key."""
    remaining: dict[str, int] = {}
    for model in _TABLES:
        q = select(func.count()).select_from(model).where(_stale(model, keyring.prefix))
        remaining[_NAMES[model]] = int(session.exec(q).one())
    stale_users = _users_with_relatives(session, keyring.key_id)
    remaining["app_user"] = len(stale_users)
    unmatched: dict[str, int] = {}
    if stale_users and remaining["household"] == 0 and remaining["household_member"] == 0:
        mapping = _relative_map(session, keyring, stale_users)
        unmatched = {u.login: n for u in stale_users if (n := len(_rekey(u, mapping, keyring)[1]))}
    return KeyStatus(keyring.key_id, [c.key_id for c in keyring.old], remaining, unmatched)


def _stale_batch(session: Session, model: Model, prefix: str, size: int) -> list[Any]:
    """The next stale rows (a row that cannot be re-encrypted raises, so a rerun never spins)."""
    pk = col(model.id)
    q = select(model).where(_stale(model, prefix)).order_by(pk).limit(size)
    # PostgreSQL: lock the batch, so a concurrent write to one of its rows is neither lost nor
    # overwritten with the old value (SQLite's BEGIN IMMEDIATE already holds the write lock)
    return list(session.exec(q.with_for_update()).all())


def _reencrypt(row: Any, columns: dict[str, str | None], keyring: PiiKeyring) -> dict[str, Any]:
    values: dict[str, Any] = {"id": row.id}
    for enc, hashed in columns.items():
        token = getattr(row, enc)
        if token is None:
            continue
        plain = keyring.decrypt(token)
        values[enc] = keyring.encrypt(plain)
        if hashed is not None:
            values[hashed] = keyring.lookup_hash(plain)
    return values


def _rotate_table(
    open_session: SessionFactory,
    actor: Actor,
    keyring: PiiKeyring,
    model: Model,
    batch_size: int,
    progress: Progress,
) -> tuple[int, int]:
    name, columns = _NAMES[model], _TABLES[model]
    done = batches = 0
    while True:
        with open_session() as session:
            rows = _stale_batch(session, model, keyring.prefix, batch_size)
            if not rows:
                return done, batches
            values = []
            for row in rows:
                try:
                    values.append(_reencrypt(row, columns, keyring))
                except PiiError as exc:
                    raise RotationError(f"{name} {row.id}: {exc}") from exc
            session.execute(update(model), values)
            audit.record(
                session,
                actor,
                "pii.rotate",
                name,
                None,
                rows=len(values),
                key_id=keyring.key_id,
                old_key_ids=[c.key_id for c in keyring.old],
            )
            session.commit()
        done += len(values)
        batches += 1
        progress(name, len(values))


def _relative_map(session: Session, keyring: PiiKeyring, users: list[User]) -> dict[str, str]:
    """Old-key hash → current-key hash, for every declared relative found in the register."""
    wanted = {h for u in users for h in u.relative_id_hashes}
    mapping: dict[str, str] = {}
    tokens = session.exec(select(Household.head_id_enc).where(col(Household.head_id_enc).is_not(None)))
    members = session.exec(select(HouseholdMember.id_enc).where(col(HouseholdMember.id_enc).is_not(None)))
    for token in (*tokens.all(), *members.all()):
        plain = keyring.decrypt(token)
        new = keyring.lookup_hash(plain)
        if new is None:
            continue
        for cipher in keyring.ciphers:
            digest = cipher.lookup_hash(plain)
            if digest in wanted:
                mapping[digest] = new
    return mapping


def _rekey(user: User, mapping: dict[str, str], keyring: PiiKeyring) -> tuple[list[str], list[str]]:
    """The user's relative hashes under the current key, and the ones that cannot be re-keyed."""
    kept: list[str] = []
    unmatched: list[str] = []
    for digest in user.relative_id_hashes:
        new = mapping.get(digest)
        if new is None and not keyring.old and user.relative_key_id is None:
            new = digest  # legacy hashes with no old key configured can only be under the current key
        if new is None:
            unmatched.append(digest)
        elif new not in kept:
            kept.append(new)
    return kept, unmatched


def _rotate_users(
    open_session: SessionFactory, actor: Actor, keyring: PiiKeyring, drop_unmatched: bool
) -> tuple[int, dict[str, int], int]:
    with open_session() as session:
        users = _users_with_relatives(session, keyring.key_id, lock=True)
        if not users:
            return 0, {}, 0
        mapping = _relative_map(session, keyring, users)
        done = dropped = 0
        unmatched: dict[str, int] = {}
        for user in users:
            kept, lost = _rekey(user, mapping, keyring)
            if lost and not drop_unmatched:
                unmatched[user.login] = len(lost)
                continue
            dropped += len(lost)
            user.relative_id_hashes = kept
            user.relative_key_id = keyring.key_id
            session.add(user)
            done += 1
        audit.record(
            session,
            actor,
            "pii.rotate",
            "user",
            None,
            rows=done,
            dropped_relatives=dropped,
            unmatched_users=len(unmatched),
            key_id=keyring.key_id,
        )
        session.commit()
    return done, unmatched, dropped


def rotate(
    open_session: SessionFactory,
    actor: Actor,
    keyring: PiiKeyring,
    batch_size: int = 1000,
    progress: Progress | None = None,
    drop_unmatched: bool = False,
) -> RotationReport:
    """Re-encrypts every personal identifier under the current key, one committed batch at a time.

    Rows already under the current key are skipped, so a rerun resumes an interrupted rotation.
    Raises RotationError when a row's key is not configured.
    """
    report = RotationReport(keyring.key_id, {}, 0, {})
    step = progress or (lambda _table, _n: None)
    for model in _TABLES:
        rows, batches = _rotate_table(open_session, actor, keyring, model, batch_size, step)
        report.rotated[_NAMES[model]] = rows
        report.batches += batches
    users, unmatched, dropped = _rotate_users(open_session, actor, keyring, drop_unmatched)
    report.rotated["app_user"] = users
    report.unmatched_relatives = unmatched
    report.dropped_relatives = dropped
    if users or unmatched:
        report.batches += 1
        step("app_user", users)
    return report
