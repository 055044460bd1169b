"""Retention purge: originals of closed cases go after the retention period; rows, copies and audit stay."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from contracts.ledger import FindingReview
from contracts.visits import VisitStart
from models.audit import AuditEvent
from models.evidence import Evidence
from models.types import utcnow
from models.user import Role
from models.visit import Visit, VisitStatus
from services import evidence, evidence_retention, visits
from services.config import Settings, new_key
from services.context import Actor
from tests.factories import make_household, make_user
from tests.media.test_redact import id_card_jpeg
from tests.visit_helpers import jpeg_with_gps, released_assignment

HOME = (43.98, 119.38)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        env="test",
        media_dir=tmp_path / "media",
        media_key=new_key(),
        media_retention_days=365,
        release_every_s=0,
    )


def _visit(session: Session, login: str, code: str) -> tuple[Actor, Visit]:
    user = make_user(session, login, Role.inspector)
    actor = Actor.of(user)
    assignment = released_assignment(session, make_household(session, code), [user])
    return actor, visits.start_visit(session, actor, VisitStart(assignment_id=assignment.id))


def _close(session: Session, visit: Visit, days_ago: int) -> None:
    visit.status = VisitStatus.submitted
    visit.finished_at = utcnow() - timedelta(days=days_ago)
    session.add(visit)
    session.flush()


def test_purge_removes_old_originals_only(session: Session, settings: Settings) -> None:
    shared_photo = jpeg_with_gps(*HOME, seed=21)
    a, old = _visit(session, "insOld", "LB501")
    ev_shared = evidence.add_evidence(session, a, settings, old.id, shared_photo, "upload")
    ev_doc = evidence.add_evidence(session, a, settings, old.id, id_card_jpeg(), "upload", purpose="document")
    b, open_visit = _visit(session, "insOpen", "LB502")
    ev_open = evidence.add_evidence(session, b, settings, open_visit.id, shared_photo, "upload")
    c, recent = _visit(session, "insRecent", "LB503")
    ev_recent = evidence.add_evidence(
        session, c, settings, recent.id, jpeg_with_gps(*HOME, seed=22), "upload"
    )
    _close(session, old, 400)
    _close(session, recent, 30)
    store = evidence.blob_store(settings)

    @contextmanager
    def unit() -> Iterator[Session]:
        yield session
        session.flush()

    system = Actor.system("cli")
    dry = evidence_retention.purge(unit, system, settings, dry_run=True)
    assert {x.evidence_id for x in dry.candidates} == {ev_shared.id, ev_doc.id}
    assert not dry.purged and store.exists(ev_doc.sha256)
    assert session.get(Evidence, ev_doc.id).purged_at is None  # type: ignore[union-attr]

    report = evidence_retention.purge(unit, system, settings, batch_size=1)
    assert sorted(report.purged) == sorted([str(ev_shared.id), str(ev_doc.id)]) and report.batches == 2
    assert report.deleted == [ev_doc.sha256]
    assert not store.exists(ev_doc.sha256)
    # the same bytes are the original of a visit still in progress: kept for it
    assert store.exists(ev_shared.sha256) and ev_shared.sha256 == ev_open.sha256
    for ev in (ev_shared, ev_doc):
        session.refresh(ev)
        assert ev.purged_at is not None
        assert store.exists(ev.display_sha256, "derived") and store.exists(ev.thumb_sha256, "derived")
    for ev in (ev_open, ev_recent):
        session.refresh(ev)
        assert ev.purged_at is None and store.exists(ev.sha256)
    shown = evidence.open_copy(session, a, settings, ev_doc.id, "display")
    with shown.stream as fh:
        assert fh.read(2) == b"\xff\xd8"
    assert evidence.missing_blobs(session, settings) == []
    assert list(evidence.verify_store(settings)) == []

    events = session.exec(
        select(AuditEvent)
        .where(col(AuditEvent.action).startswith("evidence.purge"))
        .order_by(col(AuditEvent.seq))
    ).all()
    assert [e.action for e in events] == [
        "evidence.purge_batch",
        "evidence.purge_batch",
        "evidence.purge_run",
    ]
    assert events[-1].details["purged"] == 2 and events[-1].details["deleted"] == 1
    assert {d for e in events[:2] for d in e.details["deleted"]} == {ev_doc.sha256}

    again = evidence_retention.purge(unit, system, settings)
    assert again.candidates == [] and again.purged == []


def test_open_cases_are_never_candidates(
    session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, old = _visit(session, "insHold", "LB511")
    evidence.add_evidence(session, a, settings, old.id, jpeg_with_gps(*HOME, seed=23), "upload")
    _close(session, old, 2000)
    assert len(evidence_retention.purge_candidates(session, settings)) == 1
    held: set[uuid.UUID] = {old.id}
    monkeypatch.setattr(evidence_retention, "open_case_visits", lambda _session: held)
    assert evidence_retention.purge_candidates(session, settings) == []
    old.status = VisitStatus.in_progress
    session.add(old)
    held.clear()
    assert evidence_retention.purge_candidates(session, settings) == []


def test_findings_under_review_and_unclosed_ledger_items_hold_originals(
    session: Session, settings: Settings
) -> None:
    from contracts.ledger import LedgerRoute, LedgerState
    from contracts.vocab import FindingCategory, Severity
    from models.ledger import LedgerItem
    from models.visit import Finding

    a, old = _visit(session, "insLedger", "LB512")
    evidence.add_evidence(session, a, settings, old.id, jpeg_with_gps(*HOME, seed=29), "upload")
    _close(session, old, 2000)
    finding = Finding(
        visit_id=old.id,
        household_id=old.household_id,
        rule_id="r",
        category=FindingCategory.PROCEDURE,
        severity=Severity.medium,
        message_zh="待核",
        message_en="to review",
    )
    session.add(finding)
    session.flush()
    assert evidence_retention.open_case_visits(session) == {old.id}
    assert evidence_retention.purge_candidates(session, settings) == []
    item = LedgerItem(
        number=990001,
        household_id=old.household_id,
        village_code="150422100001",
        category=FindingCategory.PROCEDURE,
        severity=Severity.medium,
        route=LedgerRoute.fix_by_deadline,
        responsible_region_code="150422100",
        state=LedgerState.in_progress,
        deadline=date(2030, 1, 31),
    )
    session.add(item)
    session.flush()
    finding.review = FindingReview.confirmed
    finding.ledger_item_id = item.id
    session.add(finding)
    session.flush()
    assert evidence_retention.purge_candidates(session, settings) == []  # its item is still open
    item.state = LedgerState.closed
    session.add(item)
    session.flush()
    assert evidence_retention.open_case_visits(session) == set()
    assert len(evidence_retention.purge_candidates(session, settings)) == 1


def test_photos_of_fixes_go_once_their_item_has_been_closed_for_the_retention_period(
    session: Session, settings: Settings
) -> None:
    from contracts.ledger import LedgerState
    from models.ledger import LedgerItem
    from services import findings_review, ledger_evidence
    from tests.ledger_helpers import cast, finding

    photos = {}
    items = {}
    for n, (reg, closed_days_ago) in enumerate((("LB611", 400), ("LB612", 30), ("LB613", None))):
        c = cast(session, reg)
        item = findings_review.confirm(session, c.sup, finding(session, c.sup, c.household).id)
        ev = ledger_evidence.add_item_evidence(
            session, c.officer, settings, item.id, jpeg_with_gps(*HOME, seed=60 + n), "upload"
        )
        if closed_days_ago is not None:  # closed (verified) that long ago
            item.state = LedgerState.closed
            item.closed_at = utcnow() - timedelta(days=closed_days_ago)
            session.add(item)
        photos[reg], items[reg] = ev, item
    session.flush()

    found = evidence_retention.purge_candidates(session, settings)
    assert [x.evidence_id for x in found] == [photos["LB611"].id]
    assert found[0].visit_id is None and found[0].ledger_item_id == items["LB611"].id
    assert found[0].owner == f"ledger item {items['LB611'].id}"

    @contextmanager
    def unit() -> Iterator[Session]:
        yield session
        session.flush()

    store = evidence.blob_store(settings)
    report = evidence_retention.purge(unit, Actor.system("cli"), settings)
    assert report.purged == [str(photos["LB611"].id)]
    assert not store.exists(photos["LB611"].sha256) and store.exists(photos["LB612"].sha256)
    assert session.get(LedgerItem, items["LB611"].id) is not None
