"""Which household a case is about: by ID number (keyed hash), register number, or name + village.

The ID number and the register number identify a household outright (confidence 1.0). A name is
compared with the heads and members of the households in the village the address names (rapidfuzz);
the confidence is the name similarity, lowered when two households score alike. A match below the
configured threshold is kept as a candidate that staff confirm by hand.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from rapidfuzz import fuzz
from sqlmodel import Session, col, select

from models.household import Household, HouseholdMember
from models.region import Region
from services.cipher import get_cipher
from services.pii import normalize_id

MIN_NAME_SCORE = 60.0  # below this a name is no candidate at all


@dataclass(frozen=True)
class Match:
    """A household found for a case and how sure the match is."""

    household_id: uuid.UUID | None
    village_code: str | None
    method: str | None
    confidence: float


NO_MATCH = Match(None, None, None, 0.0)


VillageNames = list[tuple[str, tuple[str, ...]]]


def village_names(session: Session) -> VillageNames:
    """Every village's code and the spellings an address may use (read once per import)."""
    out: VillageNames = []
    for code, name in session.exec(select(Region.code, Region.name).where(Region.level == "village")).all():
        short = name.removesuffix("村民委员会").removesuffix("居民委员会").removesuffix("委员会")
        out.append((code, tuple({name, short})))
    return out


def village_in(session: Session, place: str | None, villages: VillageNames | None = None) -> str | None:
    """The village (12-digit code) whose name the address text holds; the longest name wins."""
    if not place:
        return None
    text = place.strip()
    if text.isdigit() and len(text) == 12:
        return text if session.get(Region, text) is not None else None
    best: tuple[int, str] | None = None
    for code, names in village_names(session) if villages is None else villages:
        for candidate in names:
            if len(candidate) >= 2 and candidate in text and (best is None or len(candidate) > best[0]):
                best = (len(candidate), code)
    return best[1] if best else None


def by_id(session: Session, id_number: str) -> Household | None:
    """The household whose head (or a member) carries the ID number."""
    hashes = get_cipher().lookup_hashes(normalize_id(id_number))
    if not hashes:
        return None
    head = session.exec(select(Household).where(col(Household.head_id_hash).in_(hashes))).first()
    if head is not None:
        return head
    member = session.exec(select(HouseholdMember).where(col(HouseholdMember.id_hash).in_(hashes))).first()
    return session.get(Household, member.household_id) if member else None


def by_name(session: Session, name: str, village_code: str) -> Match:
    """The best name match among the village's households (heads and members)."""
    scores: dict[uuid.UUID, float] = {}
    heads = session.exec(
        select(Household.id, Household.head_name).where(Household.village_code == village_code)
    ).all()
    for hid, head in heads:
        scores[hid] = max(scores.get(hid, 0.0), fuzz.ratio(name, head))
    members = session.exec(
        select(HouseholdMember.household_id, HouseholdMember.name)
        .join(Household, col(Household.id) == col(HouseholdMember.household_id))
        .where(Household.village_code == village_code)
    ).all()
    for hid, member in members:
        scores[hid] = max(scores.get(hid, 0.0), fuzz.ratio(name, member))
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    if not ranked or ranked[0][1] < MIN_NAME_SCORE:
        return Match(None, village_code, None, 0.0)
    best, score = ranked[0]
    confidence = score / 100.0
    if len(ranked) > 1 and ranked[1][1] >= score - 5:
        confidence *= 0.6  # two households with (nearly) the same name: a person must decide
    return Match(best, village_code, "name", round(confidence, 3))


def find(
    session: Session,
    id_number: str | None = None,
    register_no: str | None = None,
    name: str | None = None,
    place: str | None = None,
    villages: VillageNames | None = None,
) -> Match:
    """The household a case is about, with the method and confidence of the match."""
    if id_number and id_number.strip():
        hh = by_id(session, id_number)
        if hh is not None:
            return Match(hh.id, hh.village_code, "id", 1.0)
    if register_no and register_no.strip():
        hh = session.exec(select(Household).where(Household.register_no == register_no.strip())).first()
        if hh is not None:
            return Match(hh.id, hh.village_code, "register", 1.0)
    village = village_in(session, place, villages)
    if village is None:
        return NO_MATCH
    if name and name.strip():
        return by_name(session, name.strip(), village)
    return Match(None, village, None, 0.0)
