"""Cases (一事一案): a resident's complaint or objection, its follow-up, and staff answers.

A case gets an unguessable number and a secret follow-up code (shown once, stored only as a keyed
hash), so the web lookup needs both; cases from the bot are also tied to the sender's Telegram id.
Photos go through the evidence checks (size, real image format, decodable) and only an EXIF-free
display copy is kept: a resident's photo must not carry their home's GPS position into the store.
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import or_
from sqlmodel import Session, col, func, select

from contracts.residents import CaseCategory, CasePublic, CaseSource, CaseStaff, CaseState
from media.checks import MAX_BYTES, open_image
from media.derive import derive
from media.messages import MediaError
from models.application import Application, Case, CaseAttachment, StatusAttempt
from models.types import utcnow
from models.user import Role
from services import audit, case_duplicates
from services.cipher import get_cipher
from services.config import Settings
from services.context import Actor
from services.errors import Conflict, DomainError, NotFound, ValidationFailed
from services.evidence import blob_store
from services.messages import translate
from services.pii import mask_phone, normalize_phone
from services.public_status import ACTOR, StatusThrottled, record_attempt, retry_after
from services.residents_codes import canonical, code_digest, keyed, new_code, new_number

PREFIX = "AJ"
MAX_TEXT = 2000
MAX_PHOTOS = 4
# Time limits in working days (Monday to Friday; the official holiday calendar is not modelled yet).
TIME_LIMIT_DAYS: dict[CaseCategory, int] = {CaseCategory.objection: 7}
DEFAULT_TIME_LIMIT_DAYS = 15
# Cases one sender (address or Telegram account) may open per window.
MAX_SUBMITS = 10
SUBMIT_WINDOW = timedelta(hours=1)
_DUMMY = "0" * 64


class CaseNotFound(DomainError):
    """One answer for an unknown number and a wrong code."""

    status = 404
    code = "case_not_found"


@dataclass(frozen=True)
class NewCase:
    """A new case and its follow-up code (the plain code exists only here)."""

    case: Case
    code: str


@dataclass(frozen=True)
class Complaint:
    """What a resident sends."""

    category: CaseCategory
    text: str
    anonymous: bool = True
    contact: str | None = None
    photos: tuple[bytes, ...] = ()
    telegram_user_id: int | None = None
    application_id: uuid.UUID | None = None


def add_working_days(start: date, days: int) -> date:
    """The date `days` working days (Monday–Friday) after `start`."""
    day = start
    while days > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day


def clean_text(text: str) -> str:
    """The complaint text, stripped; refused when empty or too long."""
    cleaned = text.replace("\r\n", "\n").strip()
    if not cleaned:
        raise ValidationFailed("case_text_empty")
    if len(cleaned) > MAX_TEXT:
        raise ValidationFailed("case_text_too_long", max=MAX_TEXT)
    return cleaned


def _display_copy(data: bytes, lang: str) -> tuple[bytes, CaseAttachment]:
    try:
        img, info = open_image(data, max_bytes=MAX_BYTES)
        try:
            orientation = img.getexif().get(0x0112)
            derived = derive(img, orientation if isinstance(orientation, int) else None)
        finally:
            img.close()
    except MediaError as exc:
        raise ValidationFailed(
            "media_rejected", detail=exc.message("en" if lang == "en" else "zh-CN")
        ) from exc
    w, h = derived.display_size
    row = CaseAttachment(
        case_id=uuid.uuid4(),
        sha256="",
        display_sha256="",
        mime=info.mime,
        size_bytes=len(data),
        width=w,
        height=h,
    )
    return derived.display, row


def check_flood(session: Session, sender: str) -> None:
    """Refuses a sender (a client address, or a Telegram account) who opened too many cases lately."""
    client_hash, key = keyed("status-client", sender), keyed("case-submit", "-")
    since = utcnow() - SUBMIT_WINDOW
    recent = session.exec(
        select(func.count())
        .select_from(StatusAttempt)
        .where(
            StatusAttempt.client_hash == client_hash,
            StatusAttempt.number_hash == key,
            col(StatusAttempt.at) >= since,
        )
    ).one()
    if recent >= MAX_SUBMITS:
        raise audit.refuse(
            StatusThrottled(retry_after=int(SUBMIT_WINDOW.total_seconds())),
            ACTOR,
            "case.flood_refused",
            "client",
            client_hash[:16],
        )
    session.add(StatusAttempt(client_hash=client_hash, number_hash=key, ok=True))


def submit(
    session: Session,
    settings: Settings,
    source: CaseSource,
    complaint: Complaint,
    lang: str = "zh-CN",
    sender: str | None = None,
) -> NewCase:
    """Opens a case at state received, with its time limit; photos checked before anything is stored.

    `sender` (the client address, or "tg:<id>" for the bot) limits how many cases one sender opens
    in an hour: a flood is refused with 429 before any photo is processed.
    """
    if sender is not None:
        check_flood(session, sender)
    text = clean_text(complaint.text)
    if len(complaint.photos) > MAX_PHOTOS:
        raise ValidationFailed("too_many_photos", max=MAX_PHOTOS)
    contact = normalize_phone(complaint.contact) if complaint.contact and complaint.contact.strip() else None
    if not complaint.anonymous and not contact and complaint.telegram_user_id is None:
        raise ValidationFailed("contact_required")
    copies = [_display_copy(p, lang) for p in complaint.photos]
    village = None
    if complaint.application_id is not None:
        app = session.get(Application, complaint.application_id)
        if app is None:
            raise NotFound()
        village = app.village_code
    cipher = get_cipher()
    code = new_code()
    case = Case(
        number=new_number(PREFIX),
        code_hash=code_digest(code),
        source=source,
        category=complaint.category,
        text=text,
        anonymous=complaint.anonymous,
        contact_enc=None if complaint.anonymous else cipher.encrypt(contact),
        contact_hash=None if complaint.anonymous else cipher.lookup_hash(contact),
        telegram_user_id=complaint.telegram_user_id,
        application_id=complaint.application_id,
        village_code=village,
        due_on=add_working_days(
            utcnow().date(), TIME_LIMIT_DAYS.get(complaint.category, DEFAULT_TIME_LIMIT_DAYS)
        ),
    )
    session.add(case)
    session.flush()
    store = blob_store(settings)
    for display, row in copies:
        digest = store.put_bytes(display, "derived")
        row.case_id, row.sha256, row.display_sha256 = case.id, digest, digest
        session.add(row)
    session.flush()
    case_duplicates.link_new(session, settings, case)  # a repeat of an open case is linked to it
    audit.record(
        session,
        ACTOR if source != CaseSource.bot else "bot",
        "case.create",
        "case",
        case.id,
        source=source.value,
        category=complaint.category.value,
        anonymous=complaint.anonymous,
        photos=len(copies),
    )
    return NewCase(case, code)


def lookup(session: Session, number: str, code: str, client: str) -> Case:
    """The case the number and follow-up code identify; one refusal for both failures, throttled."""
    canon = canonical(PREFIX, number)
    client_hash = keyed("status-client", client)
    number_hash = keyed("case-number", canon)
    wait = retry_after(session, client_hash, number_hash)
    if wait is not None:
        raise audit.refuse(
            StatusThrottled(retry_after=wait), ACTOR, "case.lookup_throttled", "client", client_hash[:16]
        )
    digest = code_digest(code)
    case = session.exec(select(Case).where(Case.number == canon)).first()
    if not hmac.compare_digest(digest, (case.code_hash if case else None) or _DUMMY) or case is None:
        raise audit.refuse(
            CaseNotFound(),
            ACTOR,
            "case.lookup_failed",
            "client",
            client_hash[:16],
            also=lambda s: record_attempt(s, client_hash, number_hash, ok=False),
        )
    record_attempt(session, client_hash, number_hash, ok=True)
    audit.record(session, ACTOR, "case.read", "case", case.id, client=client_hash[:16])
    return case


def for_telegram_user(session: Session, telegram_user_id: int, limit: int = 20) -> list[Case]:
    """The cases a Telegram account sent (the bot shows a resident only their own)."""
    q = (
        select(Case)
        .where(Case.telegram_user_id == telegram_user_id)
        .order_by(col(Case.received_at).desc())
        .limit(limit)
    )
    return list(session.exec(q).all())


def _attachments(session: Session, case: Case) -> int:
    return session.exec(
        select(func.count()).select_from(CaseAttachment).where(CaseAttachment.case_id == case.id)
    ).one()


def to_public(session: Session, case: Case, lang: str) -> CasePublic:
    """What the resident sees of their own case."""
    return CasePublic(
        number=case.number,
        state=case.state,
        state_label=translate(f"case_state_{case.state.value}", lang),
        category=case.category,
        text=case.text,
        received_at=case.received_at,
        due_on=case.due_on,
        answer=case.answer,
        answered_at=case.answered_at,
        satisfaction=case.satisfaction,
        attachments=_attachments(session, case),
    )


def to_staff(session: Session, case: Case, lang: str) -> CaseStaff:
    """What staff see: the contact masked, the linked application by number."""
    app = session.get(Application, case.application_id) if case.application_id else None
    contact = get_cipher().decrypt(case.contact_enc)
    return CaseStaff(
        **to_public(session, case, lang).model_dump(),
        id=str(case.id),
        source=case.source,
        anonymous=case.anonymous,
        contact=mask_phone(contact),
        village_code=case.village_code,
        application_number=app.number if app else None,
    )


def list_for(session: Session, actor: Actor, state: CaseState | None, limit: int = 50) -> list[Case]:
    """Cases staff may see: those in their region, and those not linked to any region yet."""
    actor.require(Role.supervisor)
    q = select(Case).order_by(col(Case.received_at).desc()).limit(min(max(limit, 1), 200))
    if actor.role != Role.admin and actor.scope_code:
        # a case not yet linked to a region is everyone's to pick up (首问负责)
        mine = col(Case.village_code).startswith(actor.scope_code)
        q = q.where(or_(mine, col(Case.village_code).is_(None)))
    if state is not None:
        q = q.where(Case.state == state)
    return list(session.exec(q).all())


def get_for_staff(session: Session, actor: Actor, case_id: uuid.UUID) -> Case:
    """One case in the actor's scope."""
    actor.require(Role.supervisor)
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound()
    if case.village_code is not None:
        actor.require_scope(case.village_code, "案件")
    return case


def answer(session: Session, actor: Actor, case_id: uuid.UUID, text: str) -> Case:
    """Records the answer; the case moves to answered (the resident sees it on /case and in the bot)."""
    case = get_for_staff(session, actor, case_id)
    if case.state == CaseState.closed:
        raise Conflict("case_closed")
    case.answer = clean_text(text)
    case.answered_at = utcnow()
    case.answered_by = actor.label[:80]
    case.state = CaseState.answered
    case.updated_at = utcnow()
    session.add(case)
    session.flush()
    audit.record(session, actor, "case.answer", "case", case.id)
    return case


def rate(session: Session, number: str, code: str, client: str, score: int) -> Case:
    """The resident's satisfaction with the answer (回访), asked once: 1 (very unhappy) to 5."""
    case = lookup(session, number, code, client)
    if not 1 <= score <= 5:
        raise ValidationFailed("satisfaction_range")
    if case.state not in (CaseState.answered, CaseState.closed) or case.satisfaction is not None:
        raise Conflict("case_not_ratable")
    case.satisfaction = score
    case.updated_at = utcnow()
    session.add(case)
    session.flush()
    audit.record(session, ACTOR, "case.rated", "case", case.id, satisfaction=score)
    return case
