"""Staff handling of a case: entry, first responder (首问负责), the household match, and the moves
received → assigned → investigating → answered → closed | reopened, each refused with 409 when the
case is not in a state it may leave that way. Every move is region-scoped, audited and kept in the
case's history; an answer and a close reach a resident who wrote through the bot as a notice.
"""

from __future__ import annotations

import uuid

from sqlmodel import Session, select

from contracts.cases import CaseEntry
from contracts.residents import CaseSource, CaseState
from models.application import Case
from models.household import Household
from models.types import utcnow
from models.user import Role
from services import audit, case_duplicates, case_match
from services.cases import (
    MAX_PHOTOS,
    PREFIX,
    apply_match,
    attachment_count,
    clean_text,
    display_copy,
    due_date,
    get_for_staff,
    log,
    notify_resident,
)
from services.cipher import get_cipher
from services.config import Settings, get_settings
from services.context import Actor
from services.errors import Conflict, NotFound, ValidationFailed
from services.evidence import blob_store
from services.pii import normalize_phone
from services.residents_codes import code_digest, new_code, new_number

S = CaseState
# action -> the states it may start from, and where it leads
MOVES: dict[str, tuple[frozenset[CaseState], CaseState]] = {
    "assign": (frozenset({S.received, S.assigned, S.reopened}), S.assigned),
    "investigate": (frozenset({S.assigned, S.reopened}), S.investigating),
    "answer": (frozenset({S.received, S.assigned, S.investigating, S.reopened}), S.answered),
    "close": (frozenset({S.answered}), S.closed),
    "reopen": (frozenset({S.answered, S.closed}), S.reopened),
}
STAFF_SOURCES = frozenset({CaseSource.petition, CaseSource.staff, CaseSource.hotline})


def allowed(case: Case) -> list[str]:
    """The moves the case may make now (the console shows only these)."""
    return [name for name, (sources, _) in MOVES.items() if case.state in sources]


def _move(
    session: Session, actor: Actor, case_id: uuid.UUID, action: str, note: str | None = None
) -> tuple[Case, CaseState]:
    case = get_for_staff(session, actor, case_id)
    sources, target = MOVES[action]
    if case.state not in sources:
        raise audit.refuse(
            Conflict("case_illegal_move", state=case.state.value, action=action),
            actor,
            "case.move_refused",
            "case",
            case.id,
            state=case.state.value,
            move=action,
        )
    before = case.state
    case.state = target
    case.updated_at = utcnow()
    if case.first_responder is None:
        case.first_responder = actor.label[:80]
    session.add(case)
    log(session, case, actor, action, before, target, note)
    return case, before


def _done(
    session: Session, actor: Actor, case: Case, action: str, before: CaseState, **details: object
) -> Case:
    session.flush()
    audit.record(
        session,
        actor,
        f"case.{action}",
        "case",
        case.id,
        before=before.value,
        after=case.state.value,
        **details,
    )
    return case


def assign(session: Session, actor: Actor, case_id: uuid.UUID, unit: str, note: str | None = None) -> Case:
    """Assigns the case to the unit that handles it (assigning again moves it to another unit)."""
    unit = unit.strip()
    if not unit:
        raise ValidationFailed("case_unit_required")
    case, before = _move(session, actor, case_id, "assign", note or unit)
    case.assigned_unit = unit[:80]
    case.assigned_at = utcnow()
    return _done(session, actor, case, "assign", before, unit=unit[:80])


def investigate(session: Session, actor: Actor, case_id: uuid.UUID, note: str | None = None) -> Case:
    """The assigned unit starts investigating."""
    case, before = _move(session, actor, case_id, "investigate", note)
    return _done(session, actor, case, "investigate", before)


def answer(session: Session, actor: Actor, case_id: uuid.UUID, text: str) -> Case:
    """Records the answer; the case moves to answered and the answer goes back where the case came
    from (the bot: a notice to the resident's chat; the web: the case page; 12345/信访: the reply export)."""
    cleaned = clean_text(text)
    case, before = _move(session, actor, case_id, "answer")
    case.answer = cleaned
    case.answered_at = utcnow()
    case.answered_by = actor.label[:80]
    notify_resident(session, case, "case_answered")
    return _done(session, actor, case, "answer", before)


def close(session: Session, actor: Actor, case_id: uuid.UUID, note: str | None = None) -> Case:
    """Closes an answered case; a resident of the bot is asked once how satisfied they are (回访)."""
    case, before = _move(session, actor, case_id, "close", note)
    case.closed_at = utcnow()
    if case.satisfaction is None:
        notify_resident(session, case, "case_rate")
    return _done(session, actor, case, "close", before)


def reopen(session: Session, actor: Actor, case_id: uuid.UUID, note: str | None = None) -> Case:
    """Reopens an answered or closed case (the answer did not settle it); a new time limit runs."""
    case, before = _move(session, actor, case_id, "reopen", note)
    case.reopen_count += 1
    case.closed_at = None
    case.due_on = due_date(get_settings(), case.category)
    return _done(session, actor, case, "reopen", before)


def attach(
    session: Session, settings: Settings, actor: Actor, case_id: uuid.UUID, data: bytes, lang: str = "zh-CN"
) -> Case:
    """Adds a photo staff received with the case (a letter's enclosure), through the evidence checks;
    only the EXIF-free display copy is kept, as for residents' photos."""
    case = get_for_staff(session, actor, case_id)
    if case.state == CaseState.closed:
        raise Conflict("case_closed")
    if attachment_count(session, case) >= MAX_PHOTOS:
        raise ValidationFailed("too_many_photos", max=MAX_PHOTOS)
    display, row = display_copy(data, lang)
    digest = blob_store(settings).put_bytes(display, "derived")
    row.case_id, row.sha256, row.display_sha256 = case.id, digest, digest
    session.add(row)
    log(session, case, actor, "attach", case.state, case.state, row.mime)
    session.flush()
    audit.record(session, actor, "case.attach", "case", case.id, mime=row.mime, size=row.size_bytes)
    return case


def confirm_match(session: Session, actor: Actor, case_id: uuid.UUID, register_no: str) -> Case:
    """Staff confirm (or correct) the household a case is about; the household must be in their scope."""
    case = get_for_staff(session, actor, case_id)
    if case.state == CaseState.closed:
        raise Conflict("case_closed")
    hh = session.exec(select(Household).where(Household.register_no == register_no.strip())).first()
    if hh is None:
        raise NotFound(entity="household")
    actor.require_scope(hh.village_code, "案件")
    case.household_id, case.village_code = hh.id, hh.village_code
    case.match_method = case.match_method if case.match_method else "manual"
    case.match_confidence, case.match_confirmed = 1.0, True
    if case.first_responder is None:
        case.first_responder = actor.label[:80]
    case.updated_at = utcnow()
    session.add(case)
    log(session, case, actor, "confirm_match", case.state, case.state, hh.register_no)
    session.flush()
    audit.record(session, actor, "case.confirm_match", "case", case.id, household=str(hh.id))
    case_duplicates.link_new(session, get_settings(), case)  # now known: is it a repeat of an open case?
    return case


def enter(session: Session, settings: Settings, actor: Actor, data: CaseEntry) -> Case:
    """A case staff enter (信访, the office, a 12345 order typed in); they are its first responder."""
    actor.require(Role.supervisor)
    if data.source not in STAFF_SOURCES:
        raise ValidationFailed("case_source_staff")
    text = clean_text(data.text)
    if data.external_number:
        existing = session.exec(select(Case).where(Case.external_number == data.external_number)).first()
        if existing is not None:
            raise Conflict("case_external_exists", number=data.external_number)
    contact = normalize_phone(data.contact) if data.contact and data.contact.strip() else None
    match = case_match.find(session, data.id_number, data.register_no, data.reporter_name, data.place)
    if match.village_code is not None:
        actor.require_scope(match.village_code, "案件")
    cipher = get_cipher()
    case = Case(
        number=new_number(PREFIX),
        code_hash=code_digest(new_code()),  # staff cases are followed up by staff, not by a code
        source=data.source,
        category=data.category,
        text=text,
        anonymous=data.anonymous,
        contact_enc=None if data.anonymous else cipher.encrypt(contact),
        contact_hash=None if data.anonymous else cipher.lookup_hash(contact),
        reporter_enc=None if data.anonymous else cipher.encrypt(data.reporter_name),
        external_number=data.external_number,
        place=data.place,
        first_responder=actor.label[:80],
        due_on=due_date(settings, data.category),
    )
    apply_match(case, match, settings.case_match_threshold)
    session.add(case)
    session.flush()
    log(session, case, actor, "create", None, case.state, data.source.value)
    audit.record(
        session,
        actor,
        "case.create",
        "case",
        case.id,
        source=data.source.value,
        category=data.category.value,
        match=match.method,
        confidence=match.confidence,
    )
    case_duplicates.link_new(session, settings, case)  # a repeat of an open case is linked to it
    return case
