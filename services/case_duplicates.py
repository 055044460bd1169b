"""Repeat complaints (一事一案): a new complaint about a matter already open links to that case, and a
household complained about 3 or more times (003) is flagged and drawn with certainty.

Speed: candidates are narrowed in the database first — by household id (indexed) and the window, or,
for a complaint with no household yet, by village + category + window — and only those few texts are
compared. Text similarity is rapidfuzz's ratio over each text's sorted characters (a bag of
characters): Chinese complaints say the same thing in another order ("村干部扣了我家低保金" and "我家
低保金被村干部扣了"), which plain edit distance scores low and a character bag scores high.
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from rapidfuzz import fuzz, process
from sqlalchemy import or_
from sqlmodel import Session, col, func, select

from contracts.case_links import CaseLinkPublic, CaseLinks
from contracts.residents import CaseState
from models.application import Case
from models.case_link import CaseLink
from models.household import Household
from models.types import utcnow
from services import audit, cases
from services.access import missing
from services.config import Settings
from services.context import Actor
from services.draws import REPEAT_COMPLAINTS
from services.errors import Conflict

SYSTEM = "system:duplicates"
OPEN_STATES = (CaseState.received, CaseState.assigned, CaseState.investigating, CaseState.reopened)
# at most this many candidates are scored (a village's open cases of one category in a window)
MAX_CANDIDATES = 2000


def fingerprint(text: str) -> str:
    """The text's letters and digits (NFKC, case-folded), sorted: what similarity is measured on."""
    norm = unicodedata.normalize("NFKC", text).casefold()
    return "".join(sorted(c for c in norm if c.isalnum()))


def similarity(a: str, b: str) -> int:
    """0–100: how alike two complaint texts are, whatever the order of their words."""
    return round(fuzz.ratio(fingerprint(a), fingerprint(b)))


@dataclass(frozen=True)
class Match:
    """The open case a new one repeats."""

    primary_id: uuid.UUID
    score: int
    basis: str


def _linked_away() -> Any:
    """Cases that are themselves active repeats (never a primary: links point at the first case)."""
    return select(CaseLink.case_id).where(col(CaseLink.undone_at).is_(None))


def _undone_for(session: Session, case_id: uuid.UUID) -> set[uuid.UUID]:
    return set(
        session.exec(
            select(CaseLink.primary_id).where(
                CaseLink.case_id == case_id, col(CaseLink.undone_at).is_not(None)
            )
        ).all()
    )


def best_match(
    text: str, candidates: Iterable[tuple[uuid.UUID, str]], cutoff: int
) -> tuple[uuid.UUID, int] | None:
    """The most similar candidate text at or above the cutoff (rapidfuzz, one C pass)."""
    choices = {cid: fingerprint(t) for cid, t in candidates}
    if not choices:
        return None
    hit = process.extractOne(fingerprint(text), choices, scorer=fuzz.ratio, score_cutoff=cutoff)
    if hit is None:
        return None
    return hit[2], round(hit[1])


def find_match(session: Session, settings: Settings, case: Case) -> Match | None:
    """The open case about the same household (or village and category) and matter, if any."""
    since = case.received_at - timedelta(days=settings.case_duplicate_days)
    q = select(Case.id, Case.text).where(
        col(Case.state).in_(OPEN_STATES),
        col(Case.received_at) >= since,
        col(Case.received_at) <= case.received_at,
        Case.id != case.id,
        col(Case.id).not_in(_linked_away()),
    )
    if case.household_id is not None:
        q, cutoff, basis = (
            q.where(Case.household_id == case.household_id),
            settings.case_duplicate_household_score,
            "household",
        )
    elif case.village_code is not None:
        q, cutoff, basis = (
            q.where(Case.village_code == case.village_code, Case.category == case.category),
            settings.case_duplicate_score,
            "village",
        )
    else:
        return None
    refused = _undone_for(session, case.id)
    rows = [
        (cid, text)
        for cid, text in session.exec(q.order_by(col(Case.received_at).desc()).limit(MAX_CANDIDATES)).all()
        if cid not in refused
    ]
    hit = best_match(case.text, rows, cutoff)
    return Match(hit[0], hit[1], basis) if hit else None


def active_link(session: Session, case_id: uuid.UUID) -> CaseLink | None:
    """The case's link to the case it repeats, unless undone."""
    return session.exec(
        select(CaseLink).where(CaseLink.case_id == case_id, col(CaseLink.undone_at).is_(None))
    ).first()


def settled(case: Case) -> bool:
    """Whether the case's household is known: none named, given by the resident or staff, or an
    imported name match confirmed; a guess below the threshold counts only once confirmed."""
    return case.household_id is None or case.match_method is None or case.match_confirmed


def link_new(session: Session, settings: Settings, case: Case) -> CaseLink | None:
    """Links a new (or newly placed) case to the open case it repeats; audited. The hook `submit` calls."""
    if active_link(session, case.id) is not None or not settled(case):
        return None
    match = find_match(session, settings, case)
    if match is None:
        return None
    return _link(session, case.id, match)


def _link(session: Session, case_id: uuid.UUID, match: Match) -> CaseLink:
    link = CaseLink(case_id=case_id, primary_id=match.primary_id, score=match.score, basis=match.basis)
    session.add(link)
    session.flush()
    audit.record(
        session,
        SYSTEM,
        "case.duplicate_linked",
        "case",
        case_id,
        primary=str(match.primary_id),
        score=match.score,
        basis=match.basis,
    )
    return link


def link_later(session: Session, settings: Settings, case: Case) -> list[CaseLink]:
    """Links to a newly placed case the later open cases about its household that repeat it.

    Those were placed before it, when they could only look at earlier cases, so staff who name the
    households of a complaint's repeats first, and of the complaint itself last, get the same links.
    A later case that is a repeat already, or has repeats of its own, or whose link to this case was
    undone, is left alone.
    """
    if case.household_id is None or case.state not in OPEN_STATES or active_link(session, case.id):
        return []
    if not settled(case):
        return []
    has_repeats = select(CaseLink.primary_id).where(col(CaseLink.undone_at).is_(None))
    q = (
        select(Case)
        .where(
            Case.household_id == case.household_id,
            Case.id != case.id,
            col(Case.state).in_(OPEN_STATES),
            col(Case.received_at) > case.received_at,
            col(Case.received_at) <= case.received_at + timedelta(days=settings.case_duplicate_days),
            col(Case.id).not_in(_linked_away()),
            col(Case.id).not_in(has_repeats),
            or_(col(Case.match_method).is_(None), col(Case.match_confirmed).is_(True)),
        )
        .order_by(col(Case.received_at))
        .limit(MAX_CANDIDATES)
    )
    links = []
    for later in session.exec(q).all():
        score = similarity(case.text, later.text)
        if score >= settings.case_duplicate_household_score and case.id not in _undone_for(session, later.id):
            links.append(_link(session, later.id, Match(case.id, score, "household")))
    return links


def set_household(
    session: Session, actor: Actor, settings: Settings, case_id: uuid.UUID, household_id: uuid.UUID
) -> Case:
    """Staff name the household a case is about; repeats are then looked for again; audited."""
    case = cases.get_for_staff(session, actor, case_id)
    if case.state == CaseState.closed:
        raise Conflict("case_closed")
    household = session.get(Household, household_id)
    if household is None:
        raise missing("household")
    actor.require_scope(household.village_code, "住户")
    old = case.household_id
    case.household_id = household.id
    case.village_code = case.village_code or household.village_code
    if case.match_method is not None:  # staff naming the household settles an imported guess
        case.match_confidence, case.match_confirmed = 1.0, True
    case.updated_at = utcnow()
    session.add(case)
    session.flush()
    audit.record(
        session,
        actor,
        "case.household_set",
        "case",
        case.id,
        household=str(household.id),
        previous=str(old) if old else None,
    )
    link_new(session, settings, case)
    link_later(session, settings, case)
    return case


def unlink(session: Session, actor: Actor, case_id: uuid.UUID) -> CaseLink:
    """Undoes a case's link to the case it was taken to repeat (kept, marked undone); audited."""
    case = cases.get_for_staff(session, actor, case_id)
    link = active_link(session, case.id)
    if link is None:
        raise Conflict("case_not_linked")
    link.undone_at = utcnow()
    link.undone_by = actor.label[:80]
    session.add(link)
    session.flush()
    audit.record(
        session,
        actor,
        "case.duplicate_unlinked",
        "case",
        case.id,
        primary=str(link.primary_id),
        score=link.score,
    )
    return link


def undo_link(session: Session, actor: Actor, case_id: uuid.UUID) -> CaseLinkPublic:
    """`unlink`, answered as the API shows a link."""
    link = unlink(session, actor, case_id)
    ids = [link.case_id, link.primary_id]
    numbers = dict(session.exec(select(Case.id, Case.number).where(col(Case.id).in_(ids))).all())
    return _public(link, numbers)


def place(
    session: Session, actor: Actor, settings: Settings, case_id: uuid.UUID, household_id: uuid.UUID
) -> CaseLinks:
    """`set_household`, answered with the case's links afterwards."""
    set_household(session, actor, settings, case_id, household_id)
    return links_of(session, actor, settings, case_id)


# ---- repeat counts (what the draw reads) --------------------------------------------------------


def complaint_counts(
    session: Session,
    as_of: date,
    window_days: int,
    household_ids: Iterable[uuid.UUID] | None = None,
) -> dict[str, int]:
    """Complaints per household (by id string) received in the window up to the end of `as_of`."""
    end = datetime.combine(as_of + timedelta(days=1), time.min, tzinfo=UTC)
    start = end - timedelta(days=window_days + 1)
    q = (
        select(Case.household_id, func.count())
        .where(
            col(Case.household_id).is_not(None),
            # an imported name match still waiting for a confirm is not counted against the household
            or_(col(Case.match_method).is_(None), col(Case.match_confirmed).is_(True)),
            col(Case.received_at) >= start,
            col(Case.received_at) < end,
        )
        .group_by(col(Case.household_id))
    )
    if household_ids is not None:
        q = q.where(col(Case.household_id).in_(list(household_ids)))
    return {str(hid): int(n) for hid, n in session.exec(q).all()}


def is_flagged(count: int) -> bool:
    """3 or more complaints about one household (连续3次（含）以上) call for attention (003)."""
    return count >= REPEAT_COMPLAINTS


# ---- the staff view ----------------------------------------------------------------------------


def _public(link: CaseLink, numbers: dict[uuid.UUID, str]) -> CaseLinkPublic:
    return CaseLinkPublic(
        case_id=link.case_id,
        case_number=numbers.get(link.case_id, ""),
        primary_id=link.primary_id,
        primary_number=numbers.get(link.primary_id, ""),
        score=link.score,
        basis=link.basis,
        linked_at=link.linked_at,
        undone_at=link.undone_at,
        undone_by=link.undone_by,
    )


def links_of(session: Session, actor: Actor, settings: Settings, case_id: uuid.UUID) -> CaseLinks:
    """The case it repeats, the repeats of it (undone ones too), and its household's repeat flag."""
    case = cases.get_for_staff(session, actor, case_id)
    rows = list(
        session.exec(
            select(CaseLink)
            .where((CaseLink.case_id == case.id) | (CaseLink.primary_id == case.id))
            .order_by(col(CaseLink.linked_at))
        ).all()
    )
    ids = {r.case_id for r in rows} | {r.primary_id for r in rows}
    numbers = dict(session.exec(select(Case.id, Case.number).where(col(Case.id).in_(list(ids)))).all())
    primary = next((r for r in rows if r.case_id == case.id and r.undone_at is None), None)
    count = 0
    if case.household_id is not None:
        today = utcnow().date()
        count = complaint_counts(session, today, settings.case_repeat_window_days, [case.household_id]).get(
            str(case.household_id), 0
        )
    audit.record(session, actor, "case.links_read", "case", case.id)
    return CaseLinks(
        case_id=case.id,
        household_id=case.household_id,
        primary=_public(primary, numbers) if primary else None,
        repeats=[_public(r, numbers) for r in rows if r.primary_id == case.id],
        household_complaints=count,
        repeat_flag=is_flagged(count),
    )
