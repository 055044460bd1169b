"""Cases (一事一案): a resident's complaint or objection, its follow-up, and staff answers.

A case gets an unguessable number and a secret follow-up code (shown once, stored only as a keyed
hash), so the web lookup needs both; cases from the bot are also tied to the sender's Telegram id.
Photos go through the evidence checks (size, real image format, decodable) and only an EXIF-free
display copy is kept: a resident's photo must not carry their home's GPS position into the store.
Time limits are working days on the official calendar, by category. Staff handling (the moves,
staff entry) lives in services/case_flow.py, the 12345 import in services/case_import.py.
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_
from sqlmodel import Session, col, func, select

from contracts.residents import CaseCategory, CasePublic, CaseSource, CaseStaff, CaseState
from media.checks import MAX_BYTES, open_image
from media.derive import derive
from media.messages import MediaError
from models.application import Application, Case, CaseAttachment, StatusAttempt
from models.case import CaseEvent
from models.household import Household
from models.types import utcnow
from models.user import Role
from services import audit, case_duplicates, case_notices, workdays
from services.case_match import Match
from services.cipher import get_cipher
from services.config import Settings, get_settings
from services.context import Actor
from services.errors import Conflict, DomainError, NotFound, ValidationFailed
from services.evidence import blob_store
from services.messages import translate
from services.pii import mask_name, mask_phone, normalize_phone
from services.public_status import ACTOR, StatusThrottled, record_attempt, retry_after
from services.residents_codes import canonical, code_digest, keyed, new_code, new_number

PREFIX = "AJ"
MAX_TEXT = 2000
MAX_PHOTOS = 4
# Time limits are working days on the official calendar, by category (settings.case_days).
DUE_SOON_DAYS = 2  # "due soon" this many working days ahead
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


def local_today(settings: Settings | None = None) -> date:
    """Today in the configured time zone (a case received at 07:00 Beijing time is today's)."""
    return utcnow().astimezone(ZoneInfo((settings or get_settings()).timezone)).date()


def time_limit_days(settings: Settings, category: CaseCategory) -> int:
    """The time limit of a category in working days (settings.case_days, else the default)."""
    return int(settings.case_days.get(category.value, settings.case_days_default))


def due_date(settings: Settings, category: CaseCategory, start: date | None = None) -> date:
    """The answer deadline of a case received on `start` (official working days)."""
    return workdays.add_working_days(start or local_today(settings), time_limit_days(settings, category))


def limit_status(case: Case, today: date) -> str:
    """The time-limit status: done (answered or closed), overdue, due_soon, or on_time."""
    if case.state in (CaseState.answered, CaseState.closed):
        return "done"
    if today > case.due_on:
        return "overdue"
    if workdays.working_days_between(today, case.due_on) <= DUE_SOON_DAYS:
        return "due_soon"
    return "on_time"


def clean_text(text: str) -> str:
    """The complaint text, stripped; refused when empty or too long."""
    cleaned = text.replace("\r\n", "\n").strip()
    if not cleaned:
        raise ValidationFailed("case_text_empty")
    if len(cleaned) > MAX_TEXT:
        raise ValidationFailed("case_text_too_long", max=MAX_TEXT)
    return cleaned


def display_copy(data: bytes, lang: str) -> tuple[bytes, CaseAttachment]:
    """The photo checked (size, real image, decodable) and its EXIF-free display copy with its row."""
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
    copies = [display_copy(p, lang) for p in complaint.photos]
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
        due_on=due_date(settings, complaint.category),
    )
    session.add(case)
    session.flush()
    store = blob_store(settings)
    for display, row in copies:
        digest = store.put_bytes(display, "derived")
        row.case_id, row.sha256, row.display_sha256 = case.id, digest, digest
        session.add(row)
    session.flush()
    log(session, case, ACTOR if source != CaseSource.bot else "bot", "create", None, case.state)
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


def attachment_count(session: Session, case: Case) -> int:
    """How many photos the case has."""
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
        attachments=attachment_count(session, case),
    )


def to_staff(session: Session, case: Case, lang: str) -> CaseStaff:
    """What staff see: the contact masked, the linked application and household by number."""
    app = session.get(Application, case.application_id) if case.application_id else None
    hh = session.get(Household, case.household_id) if case.household_id else None
    contact = get_cipher().decrypt(case.contact_enc)
    return CaseStaff(
        **to_public(session, case, lang).model_dump(),
        id=str(case.id),
        source=case.source,
        anonymous=case.anonymous,
        contact=mask_phone(contact),
        village_code=case.village_code,
        application_number=app.number if app else None,
        external_number=case.external_number,
        reporter=mask_name(get_cipher().decrypt(case.reporter_enc)),
        place=case.place,
        assigned_unit=case.assigned_unit,
        first_responder=case.first_responder,
        household_register_no=hh.register_no if hh else None,
        match_method=case.match_method,
        match_confidence=case.match_confidence,
        match_confirmed=case.match_confirmed,
        limit_status=limit_status(case, local_today()),
        closed_at=case.closed_at,
    )


def list_for(
    session: Session,
    actor: Actor,
    state: CaseState | None,
    limit: int = 50,
    source: CaseSource | None = None,
    overdue: bool = False,
    unconfirmed: bool = False,
) -> list[Case]:
    """Cases staff may see: those in their region, and those not linked to any region yet."""
    actor.require(Role.supervisor)
    q = select(Case).order_by(col(Case.received_at).desc()).limit(min(max(limit, 1), 500))
    if actor.role != Role.admin and actor.scope_code:
        # a case not yet linked to a region is everyone's to pick up (首问负责)
        mine = col(Case.village_code).startswith(actor.scope_code)
        q = q.where(or_(mine, col(Case.village_code).is_(None)))
    if state is not None:
        q = q.where(Case.state == state)
    if source is not None:
        q = q.where(Case.source == source)
    if overdue:
        q = q.where(
            col(Case.due_on) < local_today(),
            col(Case.state).not_in([CaseState.answered, CaseState.closed]),
        )
    if unconfirmed:
        q = q.where(col(Case.household_id).is_not(None), Case.match_confirmed == False)  # noqa: E712
    return list(session.exec(q).all())


def get_for_staff(session: Session, actor: Actor, case_id: uuid.UUID) -> Case:
    """One case in the actor's scope (a case in another region: 403, as for every scoped record)."""
    actor.require(Role.supervisor)
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound()
    if case.village_code is not None:
        actor.require_scope(case.village_code, "案件")
    return case


def read_for_staff(session: Session, actor: Actor, case_id: uuid.UUID) -> Case:
    """One case opened by staff to read it (its contact and reporter are personal data: audited)."""
    case = get_for_staff(session, actor, case_id)
    audit.record(session, actor, "case.read", "case", case.id)
    return case


def log(
    session: Session,
    case: Case,
    actor: Actor | str,
    action: str,
    before: CaseState | None,
    after: CaseState | None,
    note: str | None = None,
) -> CaseEvent:
    """Appends one step to the case's history (the audit log keeps its own event)."""
    label = actor.label if isinstance(actor, Actor) else actor
    event = CaseEvent(
        case_id=case.id,
        actor=label[:80],
        action=action,
        from_state=before.value if before else None,
        to_state=after.value if after else None,
        note=note,
    )
    session.add(event)
    return event


def history(session: Session, case: Case) -> list[CaseEvent]:
    """The case's steps, oldest first."""
    q = select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(col(CaseEvent.at), col(CaseEvent.id))
    return list(session.exec(q).all())


def apply_match(case: Case, match: Match, threshold: float) -> None:
    """Links a case to the household found; below the threshold the link waits for a confirm."""
    if match.village_code:
        case.village_code = match.village_code
    if match.household_id is not None:
        case.household_id = match.household_id
        case.match_method = match.method
        case.match_confidence = match.confidence
        case.match_confirmed = match.confidence >= threshold


def _record_rating(session: Session, case: Case, score: int, actor: str) -> Case:
    if not 1 <= score <= 5:
        raise ValidationFailed("satisfaction_range")
    if case.state not in (CaseState.answered, CaseState.closed) or case.satisfaction is not None:
        raise Conflict("case_not_ratable")
    case.satisfaction = score
    case.rated_at = case.updated_at = utcnow()
    session.add(case)
    log(session, case, actor, "rate", case.state, case.state, str(score))
    session.flush()
    audit.record(session, actor, "case.rated", "case", case.id, satisfaction=score)
    return case


def rate(session: Session, number: str, code: str, client: str, score: int) -> Case:
    """The resident's satisfaction with the answer (回访), asked once: 1 (very unhappy) to 5."""
    case = lookup(session, number, code, client)
    return _record_rating(session, case, score, ACTOR)


def rate_by_telegram(session: Session, telegram_user_id: int, number: str, score: int) -> Case:
    """The rating pressed on the bot's buttons; only the account that sent the case may rate it."""
    case = session.exec(select(Case).where(Case.number == canonical(PREFIX, number))).first()
    if case is None or case.telegram_user_id != telegram_user_id:
        raise CaseNotFound()
    return _record_rating(session, case, score, "bot")


def notify_resident(session: Session, case: Case, kind: str, lang: str = "zh-CN") -> None:
    """Queues a notice to the resident's Telegram chat for a case the bot opened (others: no-op)."""
    if case.telegram_user_id is None:
        return
    params: dict[str, object] = {"number": case.number}
    if kind == "case_answered":
        params["answer"] = (case.answer or "")[:1500]
    stamp = (case.answered_at or utcnow()).isoformat() if kind == "case_answered" else ""
    case_notices.emit(session, case.telegram_user_id, kind, params, f"{kind}:{case.id}:{stamp}", lang)
