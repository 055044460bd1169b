"""Households: scoped listing with keyset pagination, masked detail, every personal-data read audited."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from contracts.households import HouseholdPublic, MemberPublic
from models.household import Household, HouseholdMember, HouseholdStatus, Tier
from models.user import Role
from services import access, audit
from services.cipher import get_cipher
from services.context import Actor
from services.errors import ValidationFailed
from services.pii import mask_id, mask_phone, normalize_id

MAX_PAGE = 500


@dataclass(frozen=True)
class HouseholdFilter:
    """What a list may be narrowed by."""

    region: str | None = None
    tier: Tier | None = None
    status: HouseholdStatus | None = None
    cadre_relative: bool | None = None
    register_no: str | None = None
    id_number: str | None = None


def _encode_cursor(register_no: str) -> str:
    return base64.urlsafe_b64encode(register_no.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    try:
        value = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ValidationFailed("bad_cursor") from exc
    if not value:
        raise ValidationFailed("bad_cursor")
    return value


def _known_cursor(session: Session, actor: Actor, cursor: str) -> str:
    """The register number a cursor names; `bad_cursor` unless it is a household in the actor's scope.

    Cursors are only ever minted from a listed household (households are never deleted), so a cursor
    naming any other register number was forged or mangled and is refused, not answered as an empty page.
    """
    after = _decode_cursor(cursor)
    q = select(Household.village_code).where(Household.register_no == after)
    village = session.exec(q).first()
    if village is None or not actor.sees(village):
        raise ValidationFailed("bad_cursor")
    return after


def to_public(h: Household, members: Sequence[HouseholdMember] | None = None) -> HouseholdPublic:
    """The masked view of a household (decrypts only to mask)."""
    cipher = get_cipher()
    return HouseholdPublic(
        **h.model_dump(
            exclude={
                "head_id_enc",
                "head_id_hash",
                "phone_enc",
                "phone_hash",
                "bank_enc",
                "created_at",
                "updated_at",
            }
        ),
        head_id_number=mask_id(cipher.decrypt(h.head_id_enc)),
        phone=mask_phone(cipher.decrypt(h.phone_enc)),
        members=None
        if members is None
        else [
            MemberPublic(
                name=m.name,
                relation=m.relation,
                id_number=mask_id(cipher.decrypt(m.id_enc)),
                disabled=m.disabled,
                seriously_ill=m.seriously_ill,
            )
            for m in members
        ],
    )


def list_households(
    session: Session, actor: Actor, flt: HouseholdFilter, limit: int = 50, cursor: str | None = None
) -> tuple[list[HouseholdPublic], str | None]:
    """A page of households in the actor's scope, ordered by register number, with the next cursor."""
    actor.require(Role.supervisor)
    limit = max(1, min(limit, MAX_PAGE))
    q = select(Household).order_by(col(Household.register_no)).limit(limit + 1)
    if actor.role != Role.admin and actor.scope_code:
        q = q.where(col(Household.village_code).startswith(actor.scope_code))
    if flt.region:
        q = q.where(col(Household.village_code).startswith(flt.region))
    if flt.tier:
        q = q.where(Household.tier == flt.tier)
    if flt.status:
        q = q.where(Household.status == flt.status)
    if flt.cadre_relative is not None:
        q = q.where(Household.cadre_relative == flt.cadre_relative)
    if flt.register_no:
        q = q.where(Household.register_no == flt.register_no)
    if flt.id_number:
        # during a key rotation a row's hash is under the old or the new key: search both
        hashes = get_cipher().lookup_hashes(normalize_id(flt.id_number))
        q = q.where(col(Household.head_id_hash).in_(hashes))
    if cursor:
        q = q.where(col(Household.register_no) > _known_cursor(session, actor, cursor))
    rows = list(session.exec(q).all())
    next_cursor = _encode_cursor(rows[limit - 1].register_no) if len(rows) > limit else None
    rows = rows[:limit]
    audit.record(
        session,
        actor,
        "household.list",
        "household",
        None,
        count=len(rows),
        filter={k: v for k, v in flt.__dict__.items() if v is not None and k != "id_number"},
        by_id_number=flt.id_number is not None,
    )
    return [to_public(h) for h in rows], next_cursor


def get_household(session: Session, actor: Actor, household_id: uuid.UUID) -> HouseholdPublic:
    """One household with its members, masked; the read is audited."""
    h = access.household_for_actor(session, actor, household_id)
    members = session.exec(
        select(HouseholdMember)
        .where(HouseholdMember.household_id == h.id)
        .order_by(col(HouseholdMember.position))
    ).all()
    audit.record(session, actor, "household.read", "household", h.id, register_no=h.register_no)
    return to_public(h, members)
