"""The guided visit in the store: start (or join), event batches, finish by replaying the answers.

The store never trusts a client's findings: it replays the answers through the same checklist
engine and derives its own. Position evidence (check-in, track, signs of a faked position) and
timing are kept on the visit so that a three-minute "visit" of a 40-step checklist stands out.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

import checklists
from contracts.ledger import FindingKind
from contracts.telegram import NoticeKind
from contracts.visits import (
    Conclusion,
    EventBatch,
    FindingPublic,
    LocationEvent,
    NoteEvent,
    VisitFinish,
    VisitPublic,
    VisitStart,
)
from contracts.vocab import SERIOUS_SEVERITIES, Outcome
from media.geo import Datum, Fix, distance_m, is_real_position, judge_site
from models.evidence import Evidence, PositionSource, SiteStatus
from models.household import Household
from models.round import AssignmentStatus, InspectionRound
from models.types import utcnow
from models.user import Role, User
from models.visit import Finding, Visit, VisitStatus
from services import access, audit, case_checks, evidence, notices, round_dispatch
from services.clock import not_in_future
from services.config import get_settings
from services.context import Actor
from services.errors import Conflict, ValidationFailed
from services.register_context import register_context

MAX_SPEED_KMH = 150.0  # faster than a car on county roads: a jump between fixes
FROZEN_MIN_S = 20 * 60  # a live track that never moves over this long is suspicious
TRACK_GAP_S = 600.0  # no live fix for longer than this is a gap (the store's setting overrides it)
SECONDS_PER_STEP_MIN = 8.0  # an answered step faster than this on average is a rushed visit


def start_visit(session: Session, actor: Actor, data: VisitStart) -> Visit:
    """Starts the visit of an assignment, or joins the one a teammate already started."""
    actor.require(Role.inspector)
    assert actor.id is not None
    a = access.assignment_for_visit(session, actor, data.assignment_id)
    running = session.exec(
        select(Visit).where(Visit.assignment_id == a.id, Visit.status == VisitStatus.in_progress)
    ).first()
    if running is not None:
        if str(actor.id) not in running.participants:
            running.participants = [*running.participants, str(actor.id)]
            running.updated_at = utcnow()
            session.add(running)
            audit.record(session, actor, "visit.join", "visit", running.id)
        return running
    if a.status == AssignmentStatus.done:
        raise Conflict("visit_already_done")
    r = session.get(InspectionRound, a.round_id)
    wanted = data.checklist_id or ((r.checklist_ids or ["home_visit"])[0] if r else "home_visit")
    try:
        checklist = checklists.load_checklist(wanted)
    except checklists.ChecklistError as exc:
        raise ValidationFailed(detail=exc.message(actor.lang)) from exc
    visit = Visit(
        household_id=a.household_id,
        inspector_id=actor.id,
        assignment_id=a.id,
        round_id=a.round_id,
        checklist_id=checklist.id,
        checklist_version=checklist.version,
        participants=[str(actor.id)],
    )
    session.add(visit)
    session.flush()
    round_dispatch.mark_assignment(session, actor, a.id, AssignmentStatus.in_progress)
    audit.record(
        session,
        actor,
        "visit.start",
        "visit",
        visit.id,
        assignment=str(a.id),
        checklist=f"{checklist.id}@{checklist.version}",
    )
    return visit


def _household_point(session: Session, visit: Visit) -> tuple[tuple[float, float] | None, str]:
    h = session.get(Household, visit.household_id)
    if h is None or h.lat is None or h.lon is None:
        return None, Datum.wgs84.value
    return (h.lat, h.lon), (h.datum or Datum.wgs84).value


def add_events(session: Session, actor: Actor, visit_id: uuid.UUID, batch: EventBatch) -> Visit:
    """Appends locations, notes and step timings to a visit in progress (none timed in the future)."""
    visit = access.visit_for_actor(session, actor, visit_id, write=True)
    if visit.status != VisitStatus.in_progress:
        raise Conflict("visit_not_in_progress")
    # the whole batch is refused before any of it is kept
    for ev in batch.events:
        if isinstance(ev, LocationEvent | NoteEvent):
            not_in_future(ev.at, "at")
    track = list(visit.track)
    notes = list(visit.notes)
    seconds = dict(visit.step_seconds)
    home, datum = _household_point(session, visit)
    radius = get_settings().onsite_radius_m
    for ev in batch.events:
        if isinstance(ev, LocationEvent):
            fix = {
                "lat": ev.lat,
                "lon": ev.lon,
                "at": ev.at.isoformat(),
                "accuracy_m": ev.accuracy_m,
                "live": ev.live,
                "venue": ev.venue,
                "by": str(actor.id),
            }
            if ev.forwarded:
                fix["rejected"] = "forwarded"
            elif not is_real_position(ev.lat, ev.lon):
                fix["rejected"] = "no_position"
            else:
                judged = judge_site(Fix(ev.lat, ev.lon, ev.at, ev.accuracy_m), home, datum, radius)
                fix["site"] = judged.status.value
                fix["distance_m"] = judged.distance_m
                if not visit.checkin:
                    visit.checkin = {
                        "status": judged.status.value if ev.live else "weak" if home else "unknown",
                        "site": judged.status.value,
                        "distance_m": judged.distance_m,
                        "source": "live_location" if ev.live else "static_location",
                        "at": ev.at.isoformat(),
                    }
            track.append(fix)
        elif isinstance(ev, NoteEvent):
            notes.append({"text": ev.text, "at": ev.at.isoformat(), "by": str(actor.id)})
        else:
            seconds[ev.step_id] = round(seconds.get(ev.step_id, 0.0) + ev.seconds, 1)
    visit.track, visit.notes, visit.step_seconds = track, notes, seconds
    gap_s = get_settings().track_gap_s
    visit.flags = position_flags(track, gap_s) + [f for f in visit.flags if f.get("code") == "rushed"]
    visit.updated_at = utcnow()
    session.add(visit)
    session.flush()
    audit.record(session, actor, "visit.events", "visit", visit.id, count=len(batch.events))
    return visit


def position_flags(track: Sequence[dict[str, Any]], gap_s: float = TRACK_GAP_S) -> list[dict[str, Any]]:
    """Signs of a faked position: accuracy exactly 0, a venue, impossible jumps, a frozen live track,
    and gaps in the live track."""
    flags: list[dict[str, Any]] = []
    good = [f for f in track if not f.get("rejected")]
    if any(f.get("accuracy_m") == 0 for f in good):
        flags.append({"code": "accuracy_zero"})
    if any(f.get("venue") for f in good):
        flags.append({"code": "venue"})
    if any(f.get("rejected") == "forwarded" for f in track):
        flags.append({"code": "forwarded_location"})
    ordered = sorted(good, key=lambda f: str(f["at"]))
    for a, b in itertools.pairwise(ordered):
        dt = (datetime.fromisoformat(b["at"]) - datetime.fromisoformat(a["at"])).total_seconds()
        d = distance_m((a["lat"], a["lon"]), (b["lat"], b["lon"]))
        if d > 200 and (dt <= 0 or d / dt * 3.6 > MAX_SPEED_KMH):
            flags.append({"code": "jump", "distance_m": round(d), "seconds": round(dt, 1)})
            break
    flags += live_track_flags([f for f in ordered if f.get("live")], gap_s)
    return flags


def live_track_flags(live: Sequence[dict[str, Any]], gap_s: float) -> list[dict[str, Any]]:
    """Gaps and a frozen live track, from live fixes in time order.

    No fix for longer than ``gap_s`` is a ``track_gap`` flag (one per gap, with its start, end and
    seconds). ``frozen_track`` counts only time covered by fixes: the span between two fixes on
    either side of a gap is unknown, so identical fixes before and after a gap are not frozen time.
    """
    flags: list[dict[str, Any]] = []
    covered = 0.0
    for a, b in itertools.pairwise(live):
        dt = (datetime.fromisoformat(b["at"]) - datetime.fromisoformat(a["at"])).total_seconds()
        if dt > gap_s:
            flags.append({"code": "track_gap", "start": a["at"], "end": b["at"], "seconds": round(dt)})
        else:
            covered += dt
    if len(live) >= 3:
        moved = max(distance_m((live[0]["lat"], live[0]["lon"]), (f["lat"], f["lon"])) for f in live)
        if covered >= FROZEN_MIN_S and moved < 1.0:
            flags.append({"code": "frozen_track", "seconds": round(covered)})
    return flags


def on_site_seconds(session: Session, visit: Visit, finished_at: datetime) -> float:
    """How long the visit took, for the ``rushed`` flag: message times, widened by photo captures.

    The message times give the span from the visit's start to its finish (the finish dated by the
    chat message). Photos of the visit whose EXIF capture time can be trusted on site (the photo's
    own GPS on site, fresh, neither edited, reused nor forwarded) prove the inspector was there at
    their capture times, so the span is widened to take them in: a visit worked offline and sent
    in one burst (its answers arriving within seconds) is not rushed when its photos were captured
    over many minutes. Capture times only ever widen the span, never shorten it.
    """
    rows = session.exec(
        select(Evidence.captured_at).where(
            Evidence.visit_id == visit.id,
            Evidence.site == SiteStatus.ON_SITE,
            Evidence.position_source == PositionSource.EXIF_GPS,
            col(Evidence.fresh).is_(True),
            col(Evidence.edited).is_(False),
            col(Evidence.reused).is_(False),
            col(Evidence.forwarded).is_(False),
            col(Evidence.captured_at).is_not(None),
        )
    ).all()
    captures = [c for c in rows if c is not None and c <= finished_at]
    start = min([visit.started_at, *captures])
    end = max([finished_at, *captures])
    return max((end - start).total_seconds(), 0.0)


def finish_visit(session: Session, actor: Actor, visit_id: uuid.UUID, data: VisitFinish) -> Visit:
    """Replays the answers through the pinned checklist, stores the store's own findings, closes the visit."""
    visit = access.visit_for_actor(session, actor, visit_id, write=True)
    if visit.status != VisitStatus.in_progress:
        raise Conflict("visit_not_in_progress")
    sent = not_in_future(data.finished_at, "finished_at") if data.finished_at is not None else None
    checklist = checklists.load_checklist(visit.checklist_id, visit.checklist_version)
    try:
        state = checklists.replay(checklist, [a.model_dump(exclude_none=True) for a in data.answers])
    except checklists.ChecklistError as exc:
        raise ValidationFailed(detail=exc.message(actor.lang)) from exc
    outcome = checklists.outcome(checklist, state)
    if outcome is None:
        raise ValidationFailed("visit_incomplete")
    visit.answers = [a.model_dump(mode="json") for a in state.answers]
    visit.outcome = outcome
    visit.client_findings = data.client_findings
    visit.core_proof = core_proof(session, visit, checklist, state)
    # within the allowed skew a time just ahead of the store's clock is taken as now
    visit.finished_at = sent if sent is not None and sent <= utcnow() else utcnow()
    duration = on_site_seconds(session, visit, visit.finished_at)
    answered = sum(1 for a in state.answers if a.value is not None)
    visit.flags = [f for f in visit.flags if f.get("code") != "rushed"]
    if outcome is Outcome.COMPLETED and answered >= 10 and duration < answered * SECONDS_PER_STEP_MIN:
        visit.flags = [*visit.flags, {"code": "rushed", "seconds": round(duration), "answered": answered}]
    visit.status = VisitStatus.submitted
    visit.updated_at = utcnow()
    context = _context(session, actor, visit, checklist, state)
    found = checklists.findings(checklist, state, context)
    concluded = checklists.conclusion(checklist, state, context)
    visit.conclusion = concluded.model_dump(mode="json", exclude_none=True) if concluded else None
    # the visit's own validity problems are flags on the visit, never findings against the household
    flags = [f for f in found if f.kind is checklists.RuleKind.FLAG]
    visit.flags = [f for f in visit.flags if f.get("source") != "checklist"] + [
        {"code": f.rule_id, "source": "checklist", "zh": f.message.get("zh-CN"), "en": f.message.get("en")}
        for f in flags
    ]
    session.add(visit)
    found = [f for f in found if f.kind is not checklists.RuleKind.FLAG]
    for f in found:
        session.add(
            Finding(
                visit_id=visit.id,
                household_id=visit.household_id,
                round_id=visit.round_id,
                rule_id=f.rule_id,
                category=f.category,
                severity=f.severity,
                step_ids=list(f.step_ids),
                message_zh=f.message.get("zh-CN")[:1000],
                message_en=f.message.get("en")[:1000],
                kind=FindingKind.finding if f.kind is checklists.RuleKind.FINDING else FindingKind.lead,
            )
        )
    session.flush()
    if visit.assignment_id:
        status = AssignmentStatus.revisit if outcome is Outcome.REVISIT else AssignmentStatus.done
        round_dispatch.mark_assignment(session, actor, visit.assignment_id, status)
        case_checks.visit_finished(session, visit)  # a case that ordered this visit gets its result
    # leads go to review first: only proven findings of a serious severity alert at once
    serious = [f for f in found if f.kind is checklists.RuleKind.FINDING and f.severity in SERIOUS_SEVERITIES]
    _alert_supervisors(session, visit, serious)
    audit.record(
        session,
        actor,
        "visit.finish",
        "visit",
        visit.id,
        outcome=outcome.value,
        findings=len(found),
        client_findings=len(data.client_findings),
    )
    return visit


def _context(
    session: Session,
    actor: Actor,
    visit: Visit,
    checklist: checklists.Checklist,
    state: checklists.State,
) -> dict[str, Any]:
    """The register and county values the checklist declares, for its rules to compare with."""
    if not checklist.context:
        return {}
    household = session.get(Household, visit.household_id)
    if household is None:
        return {}
    typed_id = any(a.step_id == "id_last4" and a.value for a in state.answers)
    compare_id = typed_id and "reg_id_last4" in checklist.context
    today = (visit.finished_at or utcnow()).date()
    return register_context(session, actor, household, get_settings(), today, compare_id=compare_id)


def core_proof(
    session: Session, visit: Visit, checklist: checklists.Checklist, state: checklists.State
) -> dict[str, Any]:
    """Each core step answered yes: proven by a fresh on-site photo of this visit, or unproven and why."""
    out: dict[str, Any] = {}
    by_step = {a.step_id: a for a in state.answers}
    for step in checklist.steps:
        if step.core is None or step.id not in by_step:
            continue
        ans = by_step[step.id]
        if ans.value != "yes":
            out[step.core.value] = {"status": "not_claimed"}
            continue
        if not ans.evidence and not step.evidence:
            # proven by a typed comparison with the register (the ID's last four), not by a photo
            out[step.core.value] = {"status": "declared", "by": "register_comparison"}
            continue
        if not ans.evidence:
            out[step.core.value] = {"status": "unproven", "reason": "no_photo"}
            continue
        out[step.core.value] = evidence.proof_for(session, visit, list(ans.evidence))
    return out


def _alert_supervisors(session: Session, visit: Visit, serious: Sequence[checklists.Finding]) -> None:
    if not serious or visit.round_id is None:
        return
    r = session.get(InspectionRound, visit.round_id)
    household = session.get(Household, visit.household_id)
    if r is None or household is None:
        return
    sups = session.exec(select(User).where(User.role == Role.supervisor, col(User.active).is_(True))).all()
    for sup in sups:
        if (
            sup.scope_code
            and not r.scope_code.startswith(sup.scope_code)
            and not sup.scope_code.startswith(r.scope_code)
        ):
            continue
        notices.emit(
            session,
            sup.id,
            NoticeKind.serious_findings,
            {
                "visit_id": str(visit.id),
                "register_no": household.register_no,
                "village": household.village_code,
                "findings": [
                    {"category": f.category.value, "zh": f.message.get("zh-CN"), "en": f.message.get("en")}
                    for f in serious
                ],
            },
            key=f"serious:{visit.id}:{sup.id}",
        )


def cancel_visit(session: Session, actor: Actor, visit_id: uuid.UUID) -> Visit:
    """Cancels a visit in progress; the assignment goes back on the list."""
    visit = access.visit_for_actor(session, actor, visit_id, write=True)
    if visit.status != VisitStatus.in_progress:
        raise Conflict("visit_not_in_progress")
    visit.status = VisitStatus.cancelled
    visit.finished_at = utcnow()
    session.add(visit)
    if visit.assignment_id:
        round_dispatch.mark_assignment(session, actor, visit.assignment_id, AssignmentStatus.revisit)
    audit.record(session, actor, "visit.cancel", "visit", visit.id)
    return visit


def get_visit(session: Session, actor: Actor, visit_id: uuid.UUID) -> VisitPublic:
    """One visit with its findings in the actor's language; the read is audited."""
    visit = access.visit_for_actor(session, actor, visit_id, write=False)
    audit.record(session, actor, "visit.read", "visit", visit.id)
    return to_public(session, visit, actor.lang)


def list_visits(
    session: Session,
    actor: Actor,
    round_id: uuid.UUID | None = None,
    household_id: uuid.UUID | None = None,
    limit: int = 100,
) -> list[VisitPublic]:
    """Visits in the supervisor's scope (or the inspector's own)."""
    q = select(Visit, Household).join(Household, col(Household.id) == col(Visit.household_id))
    if actor.role == Role.inspector:
        q = q.where(Visit.inspector_id == actor.id)
    elif actor.role != Role.admin and actor.scope_code:
        q = q.where(col(Household.village_code).startswith(actor.scope_code))
    if round_id:
        q = q.where(Visit.round_id == round_id)
    if household_id:
        q = q.where(Visit.household_id == household_id)
    rows = session.exec(q.order_by(col(Visit.started_at).desc()).limit(max(1, min(limit, 500)))).all()
    audit.record(session, actor, "visit.list", "visit", None, count=len(rows))
    return [to_public(session, v, actor.lang) for v, _ in rows]


def to_public(session: Session, visit: Visit, lang: str) -> VisitPublic:
    """The API view of a visit."""
    found = session.exec(select(Finding).where(Finding.visit_id == visit.id)).all()
    kinds = _rule_kinds(visit)
    # the same duration `rushed` is judged on: message times widened by trusted capture times
    duration = on_site_seconds(session, visit, visit.finished_at) if visit.finished_at else None
    return VisitPublic(
        **visit.model_dump(
            include={
                "id",
                "household_id",
                "inspector_id",
                "assignment_id",
                "round_id",
                "checklist_id",
                "checklist_version",
                "status",
                "outcome",
                "participants",
                "answers",
                "step_seconds",
                "checkin",
                "flags",
                "core_proof",
                "started_at",
                "finished_at",
            }
        ),
        track_points=len(visit.track),
        duration_s=duration,
        findings=[
            FindingPublic(
                id=f.id,
                rule_id=f.rule_id,
                category=f.category,
                severity=f.severity,
                step_ids=f.step_ids,
                message=f.message_en if lang == "en" else f.message_zh,
                kind=_kind_of(f, kinds),
            )
            for f in found
        ],
        conclusion=Conclusion.model_validate(visit.conclusion) if visit.conclusion else None,
    )


def _kind_of(finding: Finding, kinds: dict[str, checklists.RuleKind]) -> str:
    """A finding's kind as stored; rows stored before kinds were recorded take their rule's kind."""
    if finding.kind is FindingKind.lead or kinds.get(finding.rule_id) is checklists.RuleKind.LEAD:
        return "lead"
    return "finding"


def _rule_kinds(visit: Visit) -> dict[str, checklists.RuleKind]:
    """Each rule of the visit's pinned checklist: lead, finding or flag."""
    try:
        checklist = checklists.load_checklist(visit.checklist_id, visit.checklist_version)
    except checklists.ChecklistError:
        return {}
    return {r.id: r.kind for r in checklist.findings}
