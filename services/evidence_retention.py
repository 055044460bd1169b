"""Retention: originals of closed cases are purged once the retention period has passed.

A case is closed when its visit is finished (submitted or cancelled) and no open item depends on
it: a finished visit older than ``FEIJIAN_MEDIA_RETENTION_DAYS`` (counted from when it finished)
whose findings are all reviewed and whose ledger items are all closed (``open_case_visits``: the
visits it names keep their originals whatever their age). Photos of a fix, sent to a ledger item,
go the same way once their item has been verified closed for the retention period.

Only originals go: the evidence row stays (with ``purged_at``), and so do the EXIF-free display
copy and thumbnail (redacted for document photos). An original whose bytes are also the original
of a row that is not being purged (the same photo in another visit) is kept for that row.
Every batch and every run is audited.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from contracts.ledger import FindingReview, LedgerState
from models.evidence import Evidence
from models.ledger import LedgerItem
from models.types import utcnow
from models.visit import Finding, Visit, VisitStatus
from services import audit
from services.config import Settings
from services.context import Actor
from services.evidence import blob_store

CLOSED_STATUSES = (VisitStatus.submitted, VisitStatus.cancelled)


@dataclass(frozen=True)
class Candidate:
    """An original that may be purged."""

    evidence_id: uuid.UUID
    visit_id: uuid.UUID | None  # None: a photo of a fix, on its ledger item
    sha256: str
    closed_at: datetime
    ledger_item_id: uuid.UUID | None = None

    @property
    def owner(self) -> str:
        """What the photo belongs to, for the report ("visit …" or "ledger item …")."""
        return f"visit {self.visit_id}" if self.visit_id is not None else f"ledger item {self.ledger_item_id}"


@dataclass
class PurgeReport:
    """What a purge did (or, dry, would do)."""

    cutoff: datetime
    dry_run: bool
    candidates: list[Candidate] = field(default_factory=list)
    purged: list[str] = field(default_factory=list)  # evidence ids marked purged
    deleted: list[str] = field(default_factory=list)  # original blobs removed
    kept_shared: list[str] = field(default_factory=list)  # blobs still the original of another row
    batches: int = 0


def open_case_visits(session: Session) -> set[uuid.UUID]:
    """Visits with an open item (a finding under review, a ledger item not closed): never purged."""
    pending = select(Finding.visit_id).where(
        col(Finding.visit_id).is_not(None), col(Finding.review) == FindingReview.pending
    )
    unclosed = (
        select(Finding.visit_id)
        .join(LedgerItem, col(LedgerItem.id) == col(Finding.ledger_item_id))
        .where(col(Finding.visit_id).is_not(None), col(LedgerItem.state) != LedgerState.closed)
    )
    found = set(session.exec(pending).all()) | set(session.exec(unclosed).all())
    return {v for v in found if v is not None}


def cutoff_for(settings: Settings, now: datetime | None = None) -> datetime:
    """Visits that closed before this moment are past the retention period."""
    return (now or utcnow()) - timedelta(days=settings.media_retention_days)


def purge_candidates(session: Session, settings: Settings, now: datetime | None = None) -> list[Candidate]:
    """Originals of closed cases past the retention period, not yet purged, oldest case first."""
    cutoff = cutoff_for(settings, now)
    closed_at = func.coalesce(col(Visit.finished_at), col(Visit.updated_at))
    rows = session.execute(
        sa_select(col(Evidence.id), col(Evidence.visit_id), col(Evidence.sha256), closed_at)
        .join(Visit, col(Visit.id) == col(Evidence.visit_id))
        .where(
            col(Evidence.purged_at).is_(None),
            col(Visit.status).in_([s.value for s in CLOSED_STATUSES]),
            closed_at < cutoff,
        )
        .order_by(closed_at, col(Evidence.id))
    ).all()
    keep = open_case_visits(session)
    found = [Candidate(eid, vid, sha, at) for eid, vid, sha, at in rows if vid not in keep]
    # photos of fixes, sent to a ledger item: their case closes when the item is verified closed
    fixes = session.execute(
        sa_select(
            col(Evidence.id), col(Evidence.ledger_item_id), col(Evidence.sha256), col(LedgerItem.closed_at)
        )
        .join(LedgerItem, col(LedgerItem.id) == col(Evidence.ledger_item_id))
        .where(
            col(Evidence.purged_at).is_(None),
            col(Evidence.visit_id).is_(None),
            col(LedgerItem.state) == LedgerState.closed,
            col(LedgerItem.closed_at) < cutoff,
        )
    ).all()
    found += [Candidate(eid, None, sha, at, ledger_item_id=iid) for eid, iid, sha, at in fixes]
    return sorted(found, key=lambda c: (c.closed_at, str(c.evidence_id)))


def _still_needed(session: Session, sha: str, batch: set[uuid.UUID]) -> bool:
    others = session.exec(
        select(Evidence.id).where(Evidence.sha256 == sha, col(Evidence.purged_at).is_(None))
    ).all()
    return any(eid not in batch for eid in others)


def _purge_batch(
    session: Session, actor: Actor, settings: Settings, batch: Sequence[Candidate], report: PurgeReport
) -> None:
    store = blob_store(settings)
    ids = {c.evidence_id for c in batch}
    now = utcnow()
    deleted: list[str] = []
    kept: list[str] = []
    purged: list[str] = []
    for sha in sorted({c.sha256 for c in batch}):
        if _still_needed(session, sha, ids):
            kept.append(sha)
        else:
            store.delete(sha, "original")  # already gone (an interrupted run): counted as deleted
            deleted.append(sha)
    for c in batch:
        ev = session.get(Evidence, c.evidence_id)
        if ev is None or ev.purged_at is not None:
            continue
        ev.purged_at = now
        session.add(ev)
        purged.append(str(c.evidence_id))
    session.flush()
    audit.record(
        session,
        actor,
        "evidence.purge_batch",
        "evidence",
        None,
        evidence=purged,
        deleted=deleted,
        kept_shared=kept,
        retention_days=settings.media_retention_days,
    )
    report.purged += purged
    report.deleted += deleted
    report.kept_shared += kept
    report.batches += 1


def purge(
    unit: Callable[[], AbstractContextManager[Session]],
    actor: Actor,
    settings: Settings,
    *,
    dry_run: bool = False,
    batch_size: int = 200,
    now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> PurgeReport:
    """Purge the originals of closed cases past retention, one committed batch at a time.

    A dry run lists the candidates and changes nothing. An interrupted run is resumed by running
    again: a purged row is never a candidate, and a blob already gone counts as deleted.
    """
    with unit() as session:
        candidates = purge_candidates(session, settings, now)
    report = PurgeReport(cutoff=cutoff_for(settings, now), dry_run=dry_run, candidates=candidates)
    if dry_run:
        return report
    for start in range(0, len(candidates), batch_size):
        batch = candidates[start : start + batch_size]
        with unit() as session:
            _purge_batch(session, actor, settings, batch, report)
        if progress is not None:
            progress(len(batch))
    with unit() as session:
        audit.record(
            session,
            actor,
            "evidence.purge_run",
            "evidence",
            None,
            cutoff=report.cutoff.isoformat(),
            retention_days=settings.media_retention_days,
            candidates=len(candidates),
            purged=len(report.purged),
            deleted=len(report.deleted),
            kept_shared=len(report.kept_shared),
            batches=report.batches,
        )
    return report
