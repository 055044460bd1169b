"""Evidence of a ledger item: the photos and documents a fix is proven by, sent without a visit.

They go through the same pipeline as a visit's photos (media checks, hashing, EXIF facts, the blob
store, encryption at rest when FEIJIAN_MEDIA_KEY is set) and are judged against the household's
recorded position and the time since the item was opened. A photo counts as proof for a verified
close unless it was found in another household's or visit's evidence (reused) or its own position
lies away from the household (off site); a document photo (a receipt, a decision) counts wherever
it was taken (`ledger.counts_as_proof`).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlmodel import Session, select

from contracts.evidence import EvidencePurpose
from contracts.ledger import LedgerState
from models.evidence import Evidence
from models.household import Household
from models.types import utcnow
from services import audit, clock, ledger
from services.config import Settings
from services.context import Actor
from services.errors import Conflict, ValidationFailed
from services.evidence import (
    WINDOW_SLACK,
    evidence_row,
    household_point,
    is_document_photo,
    parse_kind,
    reuse_candidates,
    run_pipeline,
)

WHY = "evidence"  # the action named in refusals and audit


def add_item_evidence(
    session: Session,
    actor: Actor,
    settings: Settings,
    item_id: uuid.UUID,
    data: bytes,
    source: str,
    forwarded: bool = False,
    sent_at: datetime | None = None,
    purpose: EvidencePurpose | str | None = None,
) -> Evidence:
    """Runs the pipeline on one photo for an item not yet closed and stores it (the same bytes once
    per item); whoever may see the item may add to it."""
    actor.require(*ledger.ACTING)
    item = ledger.item_for_actor(session, actor, item_id, WHY)
    if item.state is LedgerState.closed:
        raise Conflict("ledger_bad_transition", state=item.state.value, action=WHY)
    sent = clock.bounded(sent_at, "sent_at") if sent_at is not None else None
    if sent is not None and sent < item.created_at - WINDOW_SLACK:  # nothing is sent for an item before it is
        raise ValidationFailed("ledger_evidence_before_item", sent_at=sent.isoformat(timespec="minutes"))
    src, kind = parse_kind(source, purpose)
    document = is_document_photo(kind, None)
    now = utcnow()
    processed = run_pipeline(
        actor,
        settings,
        data,
        f"ledger item {item.id}",
        source=src,
        household=household_point(session.get(Household, item.household_id)),
        window=(item.created_at - WINDOW_SLACK, now + timedelta(minutes=5)),
        earlier=reuse_candidates(session),
        household_id=str(item.household_id),
        forwarded=forwarded,
        received_at=sent or now,
        radius_m=settings.onsite_radius_m,
        document=document,
    )
    rep = processed.report
    existing = session.exec(
        select(Evidence).where(Evidence.ledger_item_id == item.id, Evidence.sha256 == rep.sha256)
    ).first()
    if existing is not None:
        return existing
    ev = evidence_row(processed, actor, item.household_id, src, document, now, sent, ledger_item_id=item.id)
    session.add(ev)
    session.flush()
    audit.record(
        session,
        actor,
        "evidence.add",
        "evidence",
        ev.id,
        item=str(item.id),
        sha256=rep.sha256,
        site=ev.site.value,
        reused=ev.reused,
        fresh=ev.fresh,
        purpose=ev.purpose.value,
    )
    return ev
