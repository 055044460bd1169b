"""The public status lookup: number + ID number + name → the stage, with masked numbers only.

Every failure (no such number, wrong ID number, wrong name, a malformed number) raises the same
error, after the same work: both keyed hashes are always computed, one query by number always runs,
and both comparisons are constant-time, against a dummy when there is no application. Failures are
counted per client address and per application number (keyed hashes, in the database, so several API
workers share them); five in 15 minutes on either key refuse further lookups with 429 until the
window has passed, also when the guesses come in parallel. Every lookup, answered or refused, is
audited, and its event is committed before the answer.
"""

from __future__ import annotations

import hmac
import math
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Subquery, bindparam, literal, text, union_all
from sqlmodel import Session, col, select

from contracts.residents import ApplicationOutcome, Stage, StatusAnswer, StatusQuery
from models.application import Application, StatusAttempt
from models.db import is_postgres
from models.types import utcnow
from services import applications, audit
from services.cipher import get_cipher
from services.errors import DomainError
from services.messages import translate
from services.pii import mask_id, mask_name, normalize_id, normalize_phone
from services.residents_codes import canonical, keyed

WINDOW = timedelta(minutes=15)
MAX_FAILURES = 5
ACTOR = "public"
_DUMMY = "0" * 64
_LOCK_NS = 0x53544154  # "STAT": the key space of the per-client and per-number lookup locks


class StatusNotFound(DomainError):
    """One answer for every kind of failed lookup."""

    status = 404
    code = "status_not_found"


class StatusThrottled(DomainError):
    status = 429
    code = "status_throttled"


_ATTEMPTS = StatusAttempt.__table__  # type: ignore[attr-defined]
_APPLICATIONS = Application.__table__  # type: ignore[attr-defined]


def _recent(key: str, column: ColumnElement[str]) -> Subquery:
    """The latest failures (at most MAX_FAILURES) on one key since :since."""
    return (
        select(literal(key).label("key"), _ATTEMPTS.c.at)
        .where(column, _ATTEMPTS.c.at >= bindparam("since"), _ATTEMPTS.c.ok.is_(False))
        .order_by(_ATTEMPTS.c.at.desc())
        .limit(MAX_FAILURES)
        .subquery()
    )


# Built once (Core, bound parameters): the lookup runs them on every request, so neither the ORM nor
# statement construction is paid each time.
_FAILURES = union_all(
    *(
        select(q.c.key, q.c.at)
        for q in (
            _recent("client", _ATTEMPTS.c.client_hash == bindparam("client_hash")),
            _recent("number", _ATTEMPTS.c.number_hash == bindparam("number_hash")),
        )
    )
)
_BY_NUMBER = select(_APPLICATIONS).where(_APPLICATIONS.c.number == bindparam("number"))
_LOCKS = text("SELECT pg_advisory_xact_lock(:ns, :a), pg_advisory_xact_lock(:ns, :b)")


def _failures(
    session: Session, since: datetime, client_hash: str, number_hash: str
) -> list[tuple[str, datetime]]:
    """The latest failures (at most MAX_FAILURES per key) for the client and for the number, one query."""
    rows = session.connection().execute(
        _FAILURES, {"since": since, "client_hash": client_hash, "number_hash": number_hash}
    )
    return [(key, at) for key, at in rows]


def retry_after(session: Session, client_hash: str, number_hash: str) -> int | None:
    """Seconds until a lookup from this client for this number is allowed again (None: allowed now)."""
    now = utcnow()
    failures = _failures(session, now - WINDOW, client_hash, number_hash)
    waits = []
    for key in ("client", "number"):
        recent = sorted((at for k, at in failures if k == key), reverse=True)
        if len(recent) >= MAX_FAILURES:
            waits.append((recent[MAX_FAILURES - 1] + WINDOW - now).total_seconds())
    return max(1, math.ceil(max(waits))) if waits else None


def record_attempt(session: Session, client_hash: str, number_hash: str, ok: bool) -> None:
    """Counts one lookup (only failures are counted)."""
    row = StatusAttempt(client_hash=client_hash, number_hash=number_hash, ok=ok)
    session.connection().execute(
        _ATTEMPTS.insert(),
        {"id": row.id, "at": row.at, "ok": ok, "client_hash": client_hash, "number_hash": number_hash},
    )


def _hold_keys(session: Session, client_hash: str, number_hash: str) -> None:
    """PostgreSQL: serialises lookups per client address and per number until the unit commits.

    Without it, parallel guesses would all read the count before any of them had added its failure,
    and a flood would get many more than five answers. Two-key advisory locks (their own key space),
    always taken in ascending order so that two lookups never wait for each other crosswise. SQLite
    needs nothing: its units of work begin IMMEDIATE, one writer at a time.
    """
    if not is_postgres(session):
        return
    a, b = sorted(int(h[:8], 16) - 2**31 for h in (client_hash, number_hash))
    session.connection().execute(_LOCKS, {"ns": _LOCK_NS, "a": a, "b": b})


def lookup(open_unit: audit.UnitOpener, query: StatusQuery, client: str, lang: str = "zh-CN") -> StatusAnswer:
    """The status of the application the three values identify, or StatusNotFound / StatusThrottled.

    The check is a unit of work of its own (`open_unit`), under the per-key locks: the count, the
    comparison and the failure it adds commit together, so parallel guesses are counted exactly. The
    outcome's audit event is then appended in a batch with other lookups' events and committed
    before the answer (or the refusal) is given. The keyed hashes are computed before the unit
    opens, so no lock waits for them.
    """
    number = canonical(applications.PREFIX, query.number)
    client_hash = keyed("status-client", client)
    number_hash = keyed("status-number", number)
    cipher = get_cipher()
    id_hash = cipher.lookup_hash(normalize_id(query.id_number)) or _DUMMY
    name_hash = cipher.lookup_hash(applications.normalize_name(query.name)) or _DUMMY
    with open_unit() as session:
        outcome, event = _decide(session, number, client_hash, number_hash, id_hash, name_hash, lang)
    # committed before the answer, batched with the other lookups' events (see audit.GroupAppender)
    action, entity, entity_id, details = event
    audit.append_committed(open_unit, ACTOR, action, entity, entity_id, **details)
    if isinstance(outcome, DomainError):
        raise outcome
    return outcome


# what to audit: action, entity, entity id, details
_Event = tuple[str, str, str, dict[str, str]]


def _decide(
    session: Session, number: str, client_hash: str, number_hash: str, id_hash: str, name_hash: str, lang: str
) -> tuple[StatusAnswer | DomainError, _Event]:
    _hold_keys(session, client_hash, number_hash)
    client = client_hash[:16]
    wait = retry_after(session, client_hash, number_hash)
    if wait is not None:
        return StatusThrottled(retry_after=wait), ("application.status_throttled", "client", client, {})
    row = session.connection().execute(_BY_NUMBER, {"number": number}).first()
    app = None if row is None else Application(**row._mapping)
    # both comparisons always run, both constant-time; `&` (not `and`) so neither short-circuits
    id_ok = hmac.compare_digest(id_hash, app.id_hash if app else _DUMMY)
    name_ok = hmac.compare_digest(name_hash, app.name_hash if app else _DUMMY)
    if app is None or not (id_ok & name_ok):
        # counted in this unit, under the keys' locks: the next lookup on either key sees it
        record_attempt(session, client_hash, number_hash, ok=False)
        failed = ("application.status_failed", "client", client, {"number_hash": number_hash[:16]})
        return StatusNotFound(), failed
    # only failures count towards the throttle
    return answer(app, lang), ("application.status_read", "application", str(app.id), {"client": client})


def answer(app: Application, lang: str) -> StatusAnswer:
    """What the resident is shown: masked name and ID number, stage, dates, next step, whom to call."""
    cipher = get_cipher()
    if app.outcome == ApplicationOutcome.refused:
        nxt = translate("next_refused", lang)
    elif app.outcome == ApplicationOutcome.approved:
        nxt = translate("next_paid", lang)
    else:
        nxt = translate(f"next_{app.stage.name}", lang, until=applications.notice_until(app) or "")
    return StatusAnswer(
        number=app.number,
        applicant_name=mask_name(cipher.decrypt(app.name_enc)) or "",
        id_number=mask_id(cipher.decrypt(app.id_enc)) or "",
        stage=app.stage,
        stage_label=stage_label(app.stage, lang),
        outcome=app.outcome,
        dates=applications.stage_dates(app),
        next_step=nxt,
        deciding_unit=app.deciding_unit,
        refusal_reason=app.refusal_reason,
        contact_unit=app.contact_unit,
        contact_phone=app.contact_phone,
        notice_until=applications.notice_until(app),
    )


def stage_label(stage: Stage, lang: str) -> str:
    """A stage's name in the language (the Chinese name is the stage itself)."""
    return translate(f"stage_{stage.name}", lang)


def by_phone(session: Session, telegram_user_id: int, phone: str, lang: str = "zh-CN") -> list[StatusAnswer]:
    """The applications whose applicant's phone is this one (the bot has checked it is the sender's own)."""
    digest = get_cipher().lookup_hash(normalize_phone(phone)) or _DUMMY
    apps = session.exec(
        select(Application).where(Application.phone_hash == digest).order_by(col(Application.applied_on))
    ).all()
    audit.record(
        session, "bot", "application.status_read_phone", "telegram_user", telegram_user_id, found=len(apps)
    )
    return [answer(a, lang) for a in apps]
