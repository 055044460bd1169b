"""Inspection rounds end to end: create, commit, draw, assign, dispatch, close, reveal, verify.

Sealing: drawn lists are readable only by supervisors whose scope holds the round, every view is
audited, and inspectors read only their own released assignments. Denials are audited too; they raise
errors marked `keep_audit` so that the edge commits the audit event before answering 403/404.

Hook for notices: `dispatch` and `release_due` set `released_at` on each assignment they release and
return one `Release` per inspector; `releases_since` replays the same grouping from the stored
timestamps, so a notifier that polls never misses or repeats a release.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, func, select

from contracts.rounds import (
    ROUND_TYPE_LABELS,
    AssignmentPublic,
    Commitment,
    MyAssignment,
    RoundCreate,
    RoundPublic,
    SamplePublic,
    TeamPublic,
)
from models.household import Household, HouseholdMember, HouseholdStatus
from models.region import Region
from models.round import (
    Assignment,
    AssignmentStatus,
    InspectionRound,
    RoundExclusion,
    RoundSample,
    RoundSnapshot,
    RoundStatus,
    RoundTeam,
    RoundType,
    TeamMember,
)
from models.types import utcnow
from models.user import Role, User
from models.visit import Visit
from services import assignments as assign_core
from services import audit, draws
from services.config import Settings, get_settings
from services.context import Actor
from services.errors import Conflict, Forbidden, NotFound, ValidationFailed
from services.pii import mask_name

ComplaintSource = Callable[[Session, Sequence[uuid.UUID]], Mapping[uuid.UUID, int]]

SAMPLE_VIEW_ROLES = (Role.supervisor,)
DEFAULT_TEAM_SIZE = 2


class SealedForbidden(Forbidden):
    """403 whose audit event must survive the request's rollback."""

    keep_audit = True


class SealedNotFound(NotFound):
    """404 (the record is hidden, not merely absent) whose audit event must survive the rollback."""

    keep_audit = True


def _no_complaints(session: Session, ids: Sequence[uuid.UUID]) -> Mapping[uuid.UUID, int]:
    return {}


_complaint_source: ComplaintSource = _no_complaints


def set_complaint_source(source: ComplaintSource | None) -> None:
    """Plugs in where earlier-complaint counts come from (the complaints capability); None resets to 0."""
    global _complaint_source
    _complaint_source = source or _no_complaints


# ---- access -------------------------------------------------------------------------------------


def _deny(session: Session, actor: Actor, action: str, entity: str, entity_id: object, hidden: bool) -> None:
    audit.record(session, actor, f"{entity}.denied", entity, entity_id, attempted=action)
    if hidden:
        raise SealedNotFound(entity=entity)
    raise SealedForbidden()


def _round(session: Session, actor: Actor, round_id: uuid.UUID, action: str) -> InspectionRound:
    """The round if the actor is a supervisor whose scope holds it; denials are audited."""
    if actor.role not in (Role.admin, Role.supervisor):
        _deny(session, actor, action, "round", round_id, hidden=False)
    r = session.get(InspectionRound, round_id)
    if r is None or not actor.sees(r.scope_code):
        _deny(session, actor, action, "round", round_id, hidden=True)
    assert r is not None
    return r


def _expect(r: InspectionRound, action: str, *allowed: RoundStatus) -> None:
    if r.status not in allowed:
        raise Conflict("round_bad_status", status=r.status.value, action=action)


def _touch(r: InspectionRound, status: RoundStatus | None = None) -> None:
    if status is not None:
        r.status = status
    r.updated_at = utcnow()


def _settings(settings: Settings | None) -> Settings:
    return settings or get_settings()


def local_today(settings: Settings | None = None, now: datetime | None = None) -> date:
    """Today's date where the inspections happen (settings.timezone)."""
    return (now or utcnow()).astimezone(ZoneInfo(_settings(settings).timezone)).date()


# ---- views --------------------------------------------------------------------------------------


def to_public(r: InspectionRound) -> RoundPublic:
    """The round as the API shows it: the secret seed only once revealed."""
    revealed = r.revealed_at is not None
    return RoundPublic(
        id=r.id,
        name=r.name,
        type=r.type,
        type_label=ROUND_TYPE_LABELS[r.type],
        scope_code=r.scope_code,
        window_start=r.window_start,
        window_end=r.window_end,
        checklist_ids=list(r.checklist_ids or []),
        params=dict(r.params or {}),
        coverage_target=r.coverage_target,
        coverage=dict(r.coverage or {}),
        status=r.status,
        frame_size=r.frame_size,
        sample_size=r.sample_size,
        commitment=commitment_of(r, revealed),
        created_at=r.created_at,
    )


def commitment_of(r: InspectionRound, revealed: bool) -> Commitment:
    """The published commitment; witness and derived seed after the draw, the secret after reveal."""
    return Commitment(
        algorithm_version=r.algorithm_version,
        seed_hash=r.seed_hash,
        snapshot_hash=r.snapshot_hash,
        params_hash=r.params_hash,
        committed_at=r.committed_at,
        witness_input=r.witness_input,
        derived_seed=r.derived_seed,
        secret_seed=r.secret_seed if revealed else None,
        revealed_at=r.revealed_at,
    )


# ---- create and exclusions ----------------------------------------------------------------------


def required_share(kind: RoundType, settings: Settings | None = None) -> float:
    """The township coverage the rules ask for: cross inspection 30 %, other supervision 20 % (settings)."""
    s = _settings(settings)
    return s.cross_min_township_share if kind == RoundType.cross else s.supervision_min_township_share


def create_round(
    session: Session, actor: Actor, data: RoundCreate, settings: Settings | None = None
) -> InspectionRound:
    """Creates a draft round inside the supervisor's scope."""
    actor.require(Role.supervisor)
    actor.require_scope(data.scope_code, "轮次")
    if session.get(Region, data.scope_code) is None:
        raise ValidationFailed("unknown_region", code=data.scope_code)
    params = data.params.model_copy()
    if params.as_of is None:
        params.as_of = data.window_start
    if params.townships is not None:
        bad = [t for t in params.townships if not t.startswith(data.scope_code) or len(t) != 9]
        if bad:
            raise ValidationFailed(detail=f"townships outside the scope: {', '.join(bad[:5])}")
        params.townships = sorted(set(params.townships))
    floor = required_share(data.type, settings)
    r = InspectionRound(
        name=data.name,
        type=data.type,
        scope_code=data.scope_code,
        window_start=data.window_start,
        window_end=data.window_end,
        checklist_ids=list(data.checklist_ids),
        params=params.model_dump(mode="json"),
        coverage_target=max(floor, data.coverage_target or 0.0),
        created_by=actor.label,
    )
    session.add(r)
    session.flush()
    audit.record(
        session, actor, "round.create", "round", r.id, name=r.name, type=r.type.value, scope=r.scope_code
    )
    return r


def list_rounds(session: Session, actor: Actor) -> list[InspectionRound]:
    """Rounds inside the supervisor's scope, newest first."""
    actor.require(Role.supervisor)
    q = select(InspectionRound).order_by(col(InspectionRound.created_at).desc())
    if actor.role != Role.admin and actor.scope_code:
        q = q.where(col(InspectionRound.scope_code).startswith(actor.scope_code))
    return list(session.exec(q).all())


def get_round(session: Session, actor: Actor, round_id: uuid.UUID) -> InspectionRound:
    """One round (supervisors with the round in scope)."""
    return _round(session, actor, round_id, "read")


def resolve_ref(session: Session, actor: Actor, ref: str) -> InspectionRound:
    """A round by UUID or by a unique prefix of at least 6 hex characters (for the CLI)."""
    try:
        return get_round(session, actor, uuid.UUID(ref))
    except ValueError:
        pass
    if len(ref) < 6:
        raise NotFound(entity="round")
    hits = [r for r in list_rounds(session, actor) if str(r.id).startswith(ref.lower())]
    if len(hits) != 1:
        raise NotFound(entity="round") if not hits else Conflict(detail=f"round prefix {ref} is ambiguous")
    return hits[0]


def add_exclusion(
    session: Session,
    actor: Actor,
    round_id: uuid.UUID,
    household_id: uuid.UUID,
    reason: str,
    detail: str | None,
) -> RoundExclusion:
    """Leaves a household out of a draft round's frame; the reason is required and audited."""
    r = _round(session, actor, round_id, "exclude")
    _expect(r, "exclude", RoundStatus.draft)
    if not reason.strip():
        raise ValidationFailed(detail="an exclusion needs a reason")
    h = session.get(Household, household_id)
    if h is None or not h.village_code.startswith(r.scope_code):
        raise NotFound(entity="household")
    existing = session.exec(
        select(RoundExclusion).where(RoundExclusion.round_id == r.id, RoundExclusion.household_id == h.id)
    ).first()
    if existing:
        raise Conflict(detail="household already excluded")
    ex = RoundExclusion(
        round_id=r.id, household_id=h.id, reason=reason.strip()[:40], detail=detail, created_by=actor.label
    )
    session.add(ex)
    session.flush()
    audit.record(session, actor, "round.exclude", "round", r.id, household=h.register_no, reason=ex.reason)
    return ex


# ---- snapshot and commit ------------------------------------------------------------------------


def _frame_query(r: InspectionRound, params: Mapping[str, Any]) -> Any:
    columns: list[Any] = [
        Household.id,
        Household.register_no,
        Household.township_code,
        Household.village_code,
        Household.tier,
        Household.subsidy_type,
        Household.last_review_date,
        Household.cadre_relative,
        Household.monthly_amount,
        Household.size,
    ]
    q = sa_select(*columns).where(
        col(Household.status) == HouseholdStatus.active, col(Household.village_code).startswith(r.scope_code)
    )
    towns = params.get("townships")
    if towns:
        q = q.where(col(Household.township_code).in_(towns))
    return q


def register_rows(session: Session, r: InspectionRound, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The in-scope active households as the draw reads them, complaint counts included."""
    raw = list(session.exec(_frame_query(r, params)).all())
    counts = _complaint_source(session, [row[0] for row in raw])
    return [
        draws.snapshot_row(
            str(row[0]),
            row[1],
            row[2],
            row[3],
            row[4].value if hasattr(row[4], "value") else str(row[4]),
            row[5].value if hasattr(row[5], "value") else str(row[5]),
            row[6],
            row[7],
            row[8],
            row[9],
            int(counts.get(row[0], 0)),
        )
        for row in raw
    ]


def _auto_exclusions(
    session: Session, r: InspectionRound, params: Mapping[str, Any], ids: Iterable[str], actor: Actor
) -> None:
    days = int(params.get("exclude_visited_within_days") or 0)
    if days <= 0:
        return
    as_of = date.fromisoformat(params["as_of"])
    since = datetime.combine(as_of - timedelta(days=days), datetime.min.time(), tzinfo=UTC)
    wanted = {uuid.UUID(i) for i in ids}
    already = set(
        session.exec(select(RoundExclusion.household_id).where(RoundExclusion.round_id == r.id)).all()
    )
    recent = session.exec(
        select(Visit.household_id, func.max(Visit.started_at))
        .where(col(Visit.started_at) >= since)
        .group_by(col(Visit.household_id))
    ).all()
    for hid, last in recent:
        if hid in wanted and hid not in already:
            session.add(
                RoundExclusion(
                    round_id=r.id,
                    household_id=hid,
                    reason="visited_recently",
                    detail=f"visited {last:%Y-%m-%d}, within {days} days",
                    created_by=actor.label,
                )
            )
    session.flush()


def _coverage(
    session: Session, r: InspectionRound, covered: set[str], stage: str, settings: Settings | None
) -> dict[str, Any]:
    towns = set(
        session.exec(
            select(Household.township_code)
            .where(
                Household.status == HouseholdStatus.active,
                col(Household.village_code).startswith(r.scope_code),
            )
            .distinct()
        ).all()
    )
    total = len(towns)
    hit = len(covered & towns)
    share = hit / total if total else 0.0
    report = {
        "stage": stage,
        "townships_in_scope": total,
        "townships_covered": hit,
        "share": round(share, 4),
        "required_share": r.coverage_target,
        "ok": total > 0 and share + 1e-9 >= r.coverage_target,
    }
    r.coverage = {**(r.coverage or {}), stage: report}
    return report


def _enforce(report: Mapping[str, Any], settings: Settings | None) -> None:
    if not report["ok"] and _settings(settings).enforce_coverage:
        raise Conflict(
            "coverage_short",
            covered=report["townships_covered"],
            total=report["townships_in_scope"],
            share=f"{report['share']:.0%}",
            required=f"{report['required_share']:.0%}",
        )


def commit_round(
    session: Session, actor: Actor, round_id: uuid.UUID, settings: Settings | None = None
) -> InspectionRound:
    """Freezes the register snapshot and parameters, draws the secret seed, publishes their hashes."""
    r = _round(session, actor, round_id, "commit")
    _expect(r, "commit", RoundStatus.draft)
    params = dict(r.params)
    rows = register_rows(session, r, params)
    _auto_exclusions(session, r, params, (row["id"] for row in rows), actor)
    excluded = {
        str(e.household_id): e.reason
        for e in session.exec(select(RoundExclusion).where(RoundExclusion.round_id == r.id)).all()
    }
    frame = [row for row in rows if row["id"] not in excluded]
    if not frame:
        raise Conflict("round_empty_frame")
    in_scope = {row["id"] for row in rows}
    doc = draws.snapshot_document(
        frame, [{"id": k, "reason": v} for k, v in excluded.items() if k in in_scope]
    )
    planned = _planned_townships(doc, params)
    report = _coverage(session, r, planned, "planned", settings)
    _enforce(report, settings)
    secret = draws.new_secret()
    r.secret_seed = secret
    r.seed_hash = draws.seed_hash(secret)
    r.snapshot_hash = draws.snapshot_hash(doc)
    r.params_hash = draws.params_hash(params)
    r.algorithm_version = draws.ALGORITHM_VERSION
    r.frame_size = len(frame)
    r.committed_at = utcnow()
    session.add(
        RoundSnapshot(round_id=r.id, data=draws.pack_snapshot(doc), params=params, household_count=len(frame))
    )
    _touch(r, RoundStatus.committed)
    session.flush()
    audit.record(
        session,
        actor,
        "round.commit",
        "round",
        r.id,
        seed_hash=r.seed_hash,
        snapshot_hash=r.snapshot_hash,
        params_hash=r.params_hash,
        algorithm=r.algorithm_version,
        frame=len(frame),
        excluded=len(doc["excluded"]),
        coverage=report,
    )
    return r


def _planned_townships(doc: Mapping[str, Any], params: Mapping[str, Any]) -> set[str]:
    frame = draws.build_frame(doc, params, date.fromisoformat(params["as_of"]))
    counts = np.bincount(frame.stratum[~frame.take_all], minlength=len(frame.strata))
    n_h = draws.stratum_sample_sizes(counts, float(params["sample_ratio"]), int(params["min_per_stratum"]))
    towns = {frame.strata[i].split("|")[0] for i in np.flatnonzero(n_h > 0)}
    towns |= {doc["households"][i]["township"] for i in np.flatnonzero(frame.take_all)}
    return towns


# ---- draw ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recomputed:
    """A draw recomputed from a snapshot: per selected household id, (stratum, π, risk weight, reason)."""

    rows: dict[str, tuple[str, float, float, bool, str]]


def recompute(doc: Mapping[str, Any], params: Mapping[str, Any], derived_hex: str) -> Recomputed:
    """Runs the versioned draw on a snapshot (what both the draw and `verify` call)."""
    frame = draws.build_frame(doc, params, date.fromisoformat(params["as_of"]))
    outcome = draws.draw_frame(frame, params, derived_hex)
    rows: dict[str, tuple[str, float, float, bool, str]] = {}
    for i in np.flatnonzero(outcome.selected):
        ta = bool(frame.take_all[i])
        rows[frame.ids[i]] = (
            frame.strata[frame.stratum[i]],
            float(outcome.pi[i]),
            float(frame.weight[i]),
            ta,
            (frame.take_all_reason[i] or "take_all") if ta else "pps",
        )
    return Recomputed(rows)


def draw_round(
    session: Session, actor: Actor, round_id: uuid.UUID, witness: str, settings: Settings | None = None
) -> InspectionRound:
    """Derives the seed from the secret and the witnesses' input and stores the sample."""
    r = _round(session, actor, round_id, "draw")
    _expect(r, "draw", RoundStatus.committed)
    witness = draws.normalize_witness(witness or "")
    if not witness:
        raise ValidationFailed("witness_required")
    snap = session.get(RoundSnapshot, r.id)
    assert snap is not None and r.secret_seed and r.snapshot_hash and r.params_hash and r.algorithm_version
    doc = draws.unpack_snapshot(snap.data)
    derived = draws.derive_seed(r.secret_seed, witness, r.snapshot_hash, r.params_hash, r.algorithm_version)
    result = recompute(doc, r.params, derived)
    towns = {row["id"]: row["township"] for row in doc["households"]}
    for hid, (stratum, pi, w, ta, reason) in result.rows.items():
        session.add(
            RoundSample(
                round_id=r.id,
                household_id=uuid.UUID(hid),
                stratum=stratum,
                inclusion_prob=pi,
                design_weight=1.0 / pi,
                risk_weight=w,
                take_all=ta,
                reason=reason,
            )
        )
    r.witness_input = witness
    r.derived_seed = derived
    r.sample_size = len(result.rows)
    r.drawn_at = utcnow()
    report = _coverage(session, r, {towns[h] for h in result.rows}, "drawn", settings)
    _touch(r, RoundStatus.drawn)
    session.flush()
    audit.record(
        session,
        actor,
        "round.draw",
        "round",
        r.id,
        witness=witness,
        derived_seed=derived,
        sample=len(result.rows),
        coverage=report,
    )
    return r


def list_sample(session: Session, actor: Actor, round_id: uuid.UUID) -> list[SamplePublic]:
    """The drawn households (sealed: supervisors in scope only; every view audited)."""
    r = _round(session, actor, round_id, "sample.view")
    rows = session.exec(
        select(RoundSample, Household)
        .join(Household, col(Household.id) == col(RoundSample.household_id))
        .where(RoundSample.round_id == r.id)
        .order_by(col(RoundSample.stratum), col(Household.register_no))
    ).all()
    audit.record(session, actor, "round.sample.view", "round", r.id, count=len(rows))
    return [
        SamplePublic(
            household_id=h.id,
            register_no=h.register_no,
            head_name=h.head_name,
            township_code=h.township_code,
            village_code=h.village_code,
            stratum=s.stratum,
            inclusion_prob=s.inclusion_prob,
            design_weight=s.design_weight,
            risk_weight=s.risk_weight,
            take_all=s.take_all,
            reason=s.reason,
            blocked_rule=s.blocked_rule,
        )
        for s, h in rows
    ]


# ---- assignment ---------------------------------------------------------------------------------


def _inspectors(session: Session, ids: Sequence[uuid.UUID] | None) -> list[User]:
    q = select(User).where(User.role == Role.inspector, col(User.active).is_(True))
    if ids is not None:
        q = q.where(col(User.id).in_(list(ids)))
    users = list(session.exec(q.order_by(col(User.login))).all())
    if ids is not None:
        missing = set(ids) - {u.id for u in users}
        if missing:
            raise ValidationFailed("unknown_inspector", id=", ".join(sorted(str(m) for m in missing)))
    return users


def _facts(u: User) -> assign_core.InspectorFacts:
    return assign_core.InspectorFacts(str(u.id), u.home_township_code, frozenset(u.relative_id_hashes or []))


def _household_facts(
    session: Session, r: InspectionRound, ids: Sequence[uuid.UUID]
) -> list[assign_core.HouseholdFacts]:
    hh = {h.id: h for h in session.exec(select(Household).where(col(Household.id).in_(list(ids)))).all()}
    hashes: dict[uuid.UUID, set[str]] = defaultdict(set)
    for hid, idh in session.exec(
        select(HouseholdMember.household_id, HouseholdMember.id_hash).where(
            col(HouseholdMember.household_id).in_(list(ids))
        )
    ).all():
        if idh:
            hashes[hid].add(idh)
    previous = previous_inspectors(session, r, ids)
    out: list[assign_core.HouseholdFacts] = []
    for hid in ids:
        h = hh[hid]
        mine = set(hashes[hid])
        if h.head_id_hash:
            mine.add(h.head_id_hash)
        out.append(
            assign_core.HouseholdFacts(
                str(h.id),
                h.township_code,
                h.village_code,
                h.lat,
                h.lon,
                frozenset(mine),
                frozenset(str(p) for p in previous.get(hid, ())),
            )
        )
    return out


def previous_inspectors(
    session: Session, r: InspectionRound, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, set[uuid.UUID]]:
    """Per household, the inspectors of its latest earlier round's team plus its latest recorded visit."""
    out: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    rows = session.exec(
        select(Assignment.household_id, Assignment.round_id, TeamMember.user_id, InspectionRound.created_at)
        .join(TeamMember, col(TeamMember.team_id) == col(Assignment.team_id))
        .join(InspectionRound, col(InspectionRound.id) == col(Assignment.round_id))
        .where(col(Assignment.household_id).in_(list(ids)), Assignment.round_id != r.id)
        .where(col(InspectionRound.created_at) <= r.created_at)
    ).all()
    latest: dict[uuid.UUID, tuple[datetime, uuid.UUID]] = {}
    for hid, rid, _uid, created in rows:
        if hid not in latest or created > latest[hid][0]:
            latest[hid] = (created, rid)
    for hid, rid, uid, _created in rows:
        if latest[hid][1] == rid:
            out[hid].add(uid)
    visits = session.exec(
        select(Visit.household_id, Visit.inspector_id, Visit.started_at)
        .where(col(Visit.household_id).in_(list(ids)))
        .order_by(col(Visit.started_at))
    ).all()
    last_visit = {hid: uid for hid, uid, _ in visits}
    for hid, uid in last_visit.items():
        out[hid].add(uid)
    return out


@dataclass
class AssignReport:
    """What assignment did: teams, loads, households nobody may take and why."""

    round_id: uuid.UUID
    teams: list[TeamPublic]
    assigned: int
    unassignable: list[dict[str, Any]]
    coverage: dict[str, Any]


def assign_round(
    session: Session,
    actor: Actor,
    round_id: uuid.UUID,
    inspector_ids: Sequence[uuid.UUID] | None = None,
    teams: Sequence[Sequence[uuid.UUID]] | None = None,
    team_size: int = DEFAULT_TEAM_SIZE,
    visits_per_day: int = 6,
    settings: Settings | None = None,
) -> AssignReport:
    """Forms teams (or takes them as given) and assigns the sample under the hard rules (re-runnable)."""
    r = _round(session, actor, round_id, "assign")
    _expect(r, "assign", RoundStatus.drawn, RoundStatus.assigned)
    if team_size < 2:
        raise ValidationFailed("team_too_small", size=2)
    _clear_assignments(session, r)
    if teams:
        if any(len(t) < 2 for t in teams):
            raise ValidationFailed("team_too_small", size=2)
        users = {u.id: u for u in _inspectors(session, [i for t in teams for i in t])}
        groups = [tuple(_facts(users[i]) for i in t) for t in teams]
    else:
        groups = assign_core.form_teams([_facts(u) for u in _inspectors(session, inspector_ids)], team_size)
    if not groups:
        raise ValidationFailed("too_few_inspectors", needed=team_size)
    samples = list(session.exec(select(RoundSample).where(RoundSample.round_id == r.id)).all())
    facts = _household_facts(session, r, [s.household_id for s in samples])
    plan = assign_core.plan(facts, groups)
    team_rows: list[RoundTeam] = []
    for k, group in enumerate(groups, start=1):
        team = RoundTeam(round_id=r.id, number=k, label=f"第{k}组")
        session.add(team)
        team_rows.append(team)
        session.flush()
        for m in group:
            session.add(TeamMember(team_id=team.id, user_id=uuid.UUID(m.id)))
    for t, hids in enumerate(plan.routes):
        dates = assign_core.schedule(len(hids), r.window_start, r.window_end, visits_per_day)
        for order, (hid, day) in enumerate(zip(hids, dates, strict=True), start=1):
            session.add(
                Assignment(
                    round_id=r.id,
                    team_id=team_rows[t].id,
                    household_id=uuid.UUID(hid),
                    visit_date=day,
                    route_order=order,
                    leg_m=plan.legs_m.get(hid),
                )
            )
    for s in samples:
        rules = plan.unassignable.get(str(s.household_id))
        s.blocked_rule = ",".join(rules) if rules else None
    facts_by_id = {f.id: f for f in facts}
    covered = {facts_by_id[h].township for route in plan.routes for h in route}
    report = _coverage(session, r, covered, "assigned", settings)
    r.assigned_at = utcnow()
    _touch(r, RoundStatus.assigned)
    session.flush()
    unassignable = [{"household_id": hid, "rules": rules} for hid, rules in sorted(plan.unassignable.items())]
    audit.record(
        session,
        actor,
        "round.assign",
        "round",
        r.id,
        teams=len(groups),
        assigned=sum(map(len, plan.routes)),
        unassignable=unassignable,
        coverage=report,
    )
    return AssignReport(r.id, list_teams(session, r.id), sum(map(len, plan.routes)), unassignable, report)


def _clear_assignments(session: Session, r: InspectionRound) -> None:
    for a in session.exec(select(Assignment).where(Assignment.round_id == r.id)).all():
        session.delete(a)
    session.flush()
    for t in session.exec(select(RoundTeam).where(RoundTeam.round_id == r.id)).all():
        for m in session.exec(select(TeamMember).where(TeamMember.team_id == t.id)).all():
            session.delete(m)
        session.delete(t)
    session.flush()


def list_teams(session: Session, round_id: uuid.UUID) -> list[TeamPublic]:
    """The round's teams with members and loads."""
    teams = session.exec(
        select(RoundTeam).where(RoundTeam.round_id == round_id).order_by(col(RoundTeam.number))
    ).all()
    out: list[TeamPublic] = []
    for t in teams:
        members = session.exec(
            select(User)
            .join(TeamMember, col(TeamMember.user_id) == col(User.id))
            .where(TeamMember.team_id == t.id)
            .order_by(col(User.login))
        ).all()
        load = session.exec(
            select(func.count()).select_from(Assignment).where(Assignment.team_id == t.id)
        ).one()
        out.append(
            TeamPublic(
                id=t.id,
                number=t.number,
                label=t.label,
                inspector_ids=[m.id for m in members],
                inspector_logins=[m.login for m in members],
                load=int(load),
            )
        )
    return out


def get_teams(session: Session, actor: Actor, round_id: uuid.UUID) -> list[TeamPublic]:
    """The teams of a round (supervisors in scope)."""
    r = _round(session, actor, round_id, "teams.view")
    return list_teams(session, r.id)


def list_assignments(session: Session, actor: Actor, round_id: uuid.UUID) -> list[AssignmentPublic]:
    """Every assignment of the round (sealed; audited)."""
    r = _round(session, actor, round_id, "assignments.view")
    rows = session.exec(
        select(Assignment, Household, RoundTeam)
        .join(Household, col(Household.id) == col(Assignment.household_id))
        .join(RoundTeam, col(RoundTeam.id) == col(Assignment.team_id))
        .where(Assignment.round_id == r.id)
        .order_by(col(RoundTeam.number), col(Assignment.route_order))
    ).all()
    audit.record(session, actor, "round.assignments.view", "round", r.id, count=len(rows))
    return [
        AssignmentPublic(
            id=a.id,
            team_id=a.team_id,
            team_number=t.number,
            household_id=h.id,
            register_no=h.register_no,
            head_name=h.head_name,
            village_code=h.village_code,
            visit_date=a.visit_date,
            route_order=a.route_order,
            leg_m=a.leg_m,
            status=a.status,
            released_at=a.released_at,
        )
        for a, h, t in rows
    ]


def _team_facts(session: Session, team_id: uuid.UUID) -> assign_core.Team:
    users = session.exec(
        select(User)
        .join(TeamMember, col(TeamMember.user_id) == col(User.id))
        .where(TeamMember.team_id == team_id)
    ).all()
    return tuple(_facts(u) for u in users)


def swap(
    session: Session,
    actor: Actor,
    round_id: uuid.UUID,
    assignment_id: uuid.UUID,
    team_id: uuid.UUID | None = None,
    other_assignment_id: uuid.UUID | None = None,
) -> list[Assignment]:
    """Moves an assignment to another team, or exchanges two assignments' teams, within the hard rules."""
    r = _round(session, actor, round_id, "swap")
    _expect(r, "swap", RoundStatus.assigned, RoundStatus.dispatched, RoundStatus.in_field)
    a = session.get(Assignment, assignment_id)
    if a is None or a.round_id != r.id:
        raise NotFound(entity="assignment")
    moves: list[tuple[Assignment, uuid.UUID]] = []
    if other_assignment_id is not None:
        b = session.get(Assignment, other_assignment_id)
        if b is None or b.round_id != r.id:
            raise NotFound(entity="assignment")
        moves = [(a, b.team_id), (b, a.team_id)]
    elif team_id is not None:
        team = session.get(RoundTeam, team_id)
        if team is None or team.round_id != r.id:
            raise NotFound(entity="team")
        moves = [(a, team.id)]
    else:
        raise ValidationFailed(detail="give team_id or other_assignment_id")
    for x, _ in moves:
        if x.status != AssignmentStatus.pending:
            raise Conflict("swap_not_pending")
    for x, target in moves:
        facts = _household_facts(session, r, [x.household_id])[0]
        broken = assign_core.violations(facts, _team_facts(session, target))
        if broken:
            raise Conflict("swap_violates", rules=", ".join(broken))
    before = {str(x.id): str(x.team_id) for x, _ in moves}
    for x, target in moves:
        x.team_id = target
        x.updated_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor,
        "round.swap",
        "round",
        r.id,
        moves=[{"assignment": str(x.id), "from": before[str(x.id)], "to": str(t)} for x, t in moves],
    )
    return [x for x, _ in moves]


# ---- dispatch and release -----------------------------------------------------------------------


@dataclass
class Release:
    """Assignments released to one inspector in one round at one moment (what a notice is built from)."""

    inspector_id: uuid.UUID
    inspector_login: str
    telegram_user_id: int | None
    round_id: uuid.UUID
    round_name: str
    assignment_ids: list[uuid.UUID] = field(default_factory=list)
    visit_dates: list[date] = field(default_factory=list)
    released_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return asdict(self)


@dataclass
class DispatchReport:
    """What a dispatch released, per inspector."""

    round_id: uuid.UUID
    day: date
    released: int
    releases: list[Release]


def _release(
    session: Session,
    rounds: Sequence[InspectionRound],
    day: date,
    now: datetime,
    team_id: uuid.UUID | None = None,
) -> list[Assignment]:
    if not rounds:
        return []
    q = select(Assignment).where(
        col(Assignment.round_id).in_([r.id for r in rounds]),
        Assignment.status == AssignmentStatus.pending,
        col(Assignment.visit_date) <= day,
    )
    if team_id is not None:
        q = q.where(Assignment.team_id == team_id)
    out = list(session.exec(q).all())
    for a in out:
        a.status = AssignmentStatus.released
        a.released_at = now
        a.updated_at = now
    session.flush()
    return out


def _group_releases(session: Session, released: Sequence[Assignment]) -> list[Release]:
    if not released:
        return []
    team_ids = {a.team_id for a in released}
    members = session.exec(
        select(TeamMember.team_id, User)
        .join(User, col(User.id) == col(TeamMember.user_id))
        .where(col(TeamMember.team_id).in_(list(team_ids)))
    ).all()
    by_team: dict[uuid.UUID, list[User]] = defaultdict(list)
    for tid, u in members:
        by_team[tid].append(u)
    names = {
        r.id: r.name
        for r in session.exec(
            select(InspectionRound).where(col(InspectionRound.id).in_(list({a.round_id for a in released})))
        ).all()
    }
    out: dict[tuple[uuid.UUID, uuid.UUID, datetime | None], Release] = {}
    for a in sorted(released, key=lambda a: (a.visit_date, a.route_order)):
        for u in by_team[a.team_id]:
            key = (u.id, a.round_id, a.released_at)
            rel = out.get(key)
            if rel is None:
                rel = out[key] = Release(
                    u.id,
                    u.login,
                    u.telegram_user_id,
                    a.round_id,
                    names[a.round_id],
                    released_at=a.released_at,
                )
            rel.assignment_ids.append(a.id)
            if a.visit_date not in rel.visit_dates:
                rel.visit_dates.append(a.visit_date)
    return sorted(out.values(), key=lambda x: (x.released_at or utcnow(), x.inspector_login))


def dispatch(
    session: Session,
    actor: Actor,
    round_id: uuid.UUID,
    day: date | None = None,
    team_id: uuid.UUID | None = None,
    now: datetime | None = None,
    settings: Settings | None = None,
) -> DispatchReport:
    """Opens the round for the field and releases the assignments due by `day` (never a future day)."""
    r = _round(session, actor, round_id, "dispatch")
    _expect(r, "dispatch", RoundStatus.assigned, RoundStatus.dispatched, RoundStatus.in_field)
    now = now or utcnow()
    today = local_today(settings, now)
    day = day or today
    if day > today:
        raise Conflict("dispatch_future_day", day=day.isoformat())
    if r.status == RoundStatus.assigned:
        _enforce(
            r.coverage.get("assigned")
            or {
                "ok": False,
                "townships_covered": 0,
                "townships_in_scope": 0,
                "share": 0.0,
                "required_share": r.coverage_target,
            },
            settings,
        )
        r.dispatched_at = now
        _touch(r, RoundStatus.dispatched)
    released = _release(session, [r], day, now, team_id)
    releases = _group_releases(session, released)
    audit.record(
        session,
        actor,
        "round.dispatch",
        "round",
        r.id,
        day=day.isoformat(),
        team=str(team_id) if team_id else None,
        released=len(released),
        inspectors=sorted({str(x.inspector_id) for x in releases}),
    )
    return DispatchReport(r.id, day, len(released), releases)


def release_due(
    session: Session, now: datetime | None = None, settings: Settings | None = None
) -> list[Release]:
    """Releases, in every dispatched round, the assignments whose visit day has come (run it daily)."""
    now = now or utcnow()
    rounds = list(
        session.exec(
            select(InspectionRound).where(
                col(InspectionRound.status).in_([RoundStatus.dispatched, RoundStatus.in_field])
            )
        ).all()
    )
    released = _release(session, rounds, local_today(settings, now), now)
    releases = _group_releases(session, released)
    if released:
        audit.record(
            session,
            "system:scheduler",
            "round.release",
            "round",
            None,
            released=len(released),
            rounds=sorted({str(a.round_id) for a in released}),
        )
    return releases


def releases_since(session: Session, actor: Actor, since: datetime) -> list[Release]:
    """Releases after a moment, per inspector (for the notifier: poll with the last seen released_at)."""
    actor.require(Role.supervisor)
    q = select(Assignment).where(col(Assignment.released_at) > since)
    rows = list(session.exec(q).all())
    if actor.role != Role.admin and actor.scope_code:
        scoped = {
            r.id
            for r in session.exec(
                select(InspectionRound).where(col(InspectionRound.scope_code).startswith(actor.scope_code))
            ).all()
        }
        rows = [a for a in rows if a.round_id in scoped]
    return _group_releases(session, rows)


# ---- the inspector's view ----------------------------------------------------------------------


def _mine_query(actor: Actor) -> Any:
    return (
        select(Assignment, Household, InspectionRound, RoundTeam)
        .join(TeamMember, col(TeamMember.team_id) == col(Assignment.team_id))
        .join(Household, col(Household.id) == col(Assignment.household_id))
        .join(InspectionRound, col(InspectionRound.id) == col(Assignment.round_id))
        .join(RoundTeam, col(RoundTeam.id) == col(Assignment.team_id))
        .where(TeamMember.user_id == actor.id, col(Assignment.released_at).is_not(None))
    )


def _my_view(session: Session, actor: Actor, rows: Sequence[Any]) -> list[MyAssignment]:
    villages = {
        reg.code: reg.name
        for reg in session.exec(
            select(Region).where(col(Region.code).in_(list({h.village_code for _, h, _, _ in rows})))
        ).all()
    }
    teams = {t.id for _, _, _, t in rows}
    mates: dict[uuid.UUID, list[str]] = defaultdict(list)
    for tid, name in session.exec(
        select(TeamMember.team_id, User.name)
        .join(User, col(User.id) == col(TeamMember.user_id))
        .where(col(TeamMember.team_id).in_(list(teams)), TeamMember.user_id != actor.id)
    ).all():
        mates[tid].append(name)
    return [
        MyAssignment(
            id=a.id,
            round_id=r.id,
            round_name=r.name,
            round_type=r.type,
            checklist_ids=list(r.checklist_ids or []),
            household_id=h.id,
            register_no=h.register_no,
            head_name=mask_name(h.head_name),
            village_code=h.village_code,
            village_name=villages.get(h.village_code),
            address=h.address,
            lat=h.lat,
            lon=h.lon,
            datum=h.datum,
            visit_date=a.visit_date,
            route_order=a.route_order,
            leg_m=a.leg_m,
            status=a.status,
            released_at=a.released_at,
            team_number=t.number,
            teammates=sorted(mates[t.id]),
        )
        for a, h, r, t in rows
    ]


def my_assignments(
    session: Session, actor: Actor, released_since: datetime | None = None, include_closed: bool = False
) -> list[MyAssignment]:
    """The signed-in inspector's released assignments (masked names), by day and route order; audited."""
    if actor.id is None:
        raise Forbidden()
    q = _mine_query(actor)
    if not include_closed:
        q = q.where(InspectionRound.status != RoundStatus.closed)
    if released_since is not None:
        q = q.where(col(Assignment.released_at) > released_since)
    rows = session.exec(q.order_by(col(Assignment.visit_date), col(Assignment.route_order))).all()
    audit.record(session, actor, "assignment.list_mine", "assignment", None, count=len(rows))
    return _my_view(session, actor, rows)


def my_assignment(session: Session, actor: Actor, assignment_id: uuid.UUID) -> MyAssignment:
    """One of the inspector's released assignments; anything else is 404 and the attempt is audited."""
    row = session.exec(_mine_query(actor).where(Assignment.id == assignment_id)).first() if actor.id else None
    if row is None:
        _deny(session, actor, "read", "assignment", assignment_id, hidden=True)
    audit.record(session, actor, "assignment.read", "assignment", assignment_id)
    return _my_view(session, actor, [row])[0]


_TRANSITIONS: dict[AssignmentStatus, set[AssignmentStatus]] = {
    AssignmentStatus.released: {AssignmentStatus.in_progress, AssignmentStatus.done},
    AssignmentStatus.in_progress: {AssignmentStatus.done, AssignmentStatus.revisit},
    AssignmentStatus.revisit: {AssignmentStatus.in_progress, AssignmentStatus.done},
    AssignmentStatus.done: {AssignmentStatus.revisit},
}


def mark_assignment(
    session: Session, actor: Actor, assignment_id: uuid.UUID, status: AssignmentStatus
) -> Assignment:
    """Moves a released assignment on (visit flow: in_progress → done / revisit); the round goes in_field."""
    a = session.get(Assignment, assignment_id)
    member = (
        a is not None and session.get(TeamMember, (a.team_id, actor.id)) is not None if actor.id else False
    )
    if a is None or a.released_at is None or not (member or actor.role in (Role.admin, Role.supervisor)):
        _deny(session, actor, "mark", "assignment", assignment_id, hidden=True)
    assert a is not None
    if actor.role == Role.supervisor and not member:
        _round(session, actor, a.round_id, "mark")
    if status not in _TRANSITIONS.get(a.status, set()):
        raise Conflict("assignment_bad_transition", old=a.status.value, new=status.value)
    old = a.status
    a.status = status
    a.updated_at = utcnow()
    r = session.get(InspectionRound, a.round_id)
    if r is not None and r.status == RoundStatus.dispatched:
        _touch(r, RoundStatus.in_field)
    session.flush()
    audit.record(session, actor, "assignment.mark", "assignment", a.id, old=old.value, new=status.value)
    return a


# ---- close, reveal, verify ----------------------------------------------------------------------


def close_round(session: Session, actor: Actor, round_id: uuid.UUID) -> InspectionRound:
    """Closes a drawn round (fieldwork over or abandoned); the secret may then be revealed."""
    r = _round(session, actor, round_id, "close")
    _expect(r, "close", RoundStatus.drawn, RoundStatus.assigned, RoundStatus.dispatched, RoundStatus.in_field)
    r.closed_at = utcnow()
    _touch(r, RoundStatus.closed)
    session.flush()
    audit.record(session, actor, "round.close", "round", r.id)
    return r


def reveal_round(session: Session, actor: Actor, round_id: uuid.UUID) -> InspectionRound:
    """Publishes the secret seed of a closed round so that anyone can verify the draw."""
    r = _round(session, actor, round_id, "reveal")
    _expect(r, "reveal", RoundStatus.closed)
    if r.revealed_at is None:
        r.revealed_at = utcnow()
        _touch(r)
        session.flush()
        audit.record(session, actor, "round.reveal", "round", r.id, secret_seed=r.secret_seed)
    return r


@dataclass
class Check:
    """One verification step."""

    name: str
    ok: bool
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class VerifyReport:
    """Whether the stored sample is exactly what the committed inputs produce, and what differs if not."""

    round_id: uuid.UUID
    ok: bool
    draw_reproduced: bool
    checks: list[Check]

    def failures(self) -> list[Check]:
        """The checks that failed."""
        return [c for c in self.checks if not c.ok]

    def public(self) -> VerifyReport:
        """The same report without household identifiers (counts and field names only)."""
        checks = []
        for c in self.checks:
            detail = {
                k: v for k, v in c.detail.items() if k in ("counts", "fields", "params", "expected", "actual")
            }
            if c.name == "register" and "changed" in c.detail:
                detail["fields"] = sorted({f for fs in c.detail["changed"].values() for f in fs})
            checks.append(Check(c.name, c.ok, detail))
        return VerifyReport(self.round_id, self.ok, self.draw_reproduced, checks)


def verify(session: Session, r: InspectionRound, compare_register: bool = True) -> VerifyReport:
    """Recomputes the draw from the stored snapshot, parameters and both inputs, and compares everything."""
    snap = session.get(RoundSnapshot, r.id)
    if snap is None or r.derived_seed is None or r.secret_seed is None:
        raise Conflict("round_bad_status", status=r.status.value, action="verify")
    checks: list[Check] = []
    checks.append(
        Check(
            "seed_commitment",
            draws.seed_hash(r.secret_seed) == r.seed_hash,
            {"expected": r.seed_hash, "actual": draws.seed_hash(r.secret_seed)},
        )
    )
    doc = draws.unpack_snapshot(snap.data)
    actual_snap = draws.snapshot_hash(doc)
    checks.append(
        Check(
            "snapshot", actual_snap == r.snapshot_hash, {"expected": r.snapshot_hash, "actual": actual_snap}
        )
    )
    params = dict(r.params)
    actual_params = draws.params_hash(params)
    changed_params = draws.diff_params(snap.params, params)
    checks.append(
        Check(
            "params",
            actual_params == r.params_hash and not changed_params,
            {"expected": r.params_hash, "actual": actual_params, "params": changed_params},
        )
    )
    derived = draws.derive_seed(
        r.secret_seed,
        r.witness_input or "",
        actual_snap,
        actual_params,
        r.algorithm_version or draws.ALGORITHM_VERSION,
    )
    checks.append(
        Check("derived_seed", derived == r.derived_seed, {"expected": r.derived_seed, "actual": derived})
    )
    stored = {
        str(s.household_id): s
        for s in session.exec(select(RoundSample).where(RoundSample.round_id == r.id)).all()
    }
    again = recompute(doc, params, derived).rows
    regs = {row["id"]: row["register_no"] for row in doc["households"]}
    missing = sorted(regs.get(h, h) for h in stored.keys() - again.keys())
    extra = sorted(regs.get(h, h) for h in again.keys() - stored.keys())
    pi_diff = sorted(
        regs.get(h, h)
        for h in stored.keys() & again.keys()
        if abs(stored[h].inclusion_prob - again[h][1]) > 1e-9
    )
    checks.append(
        Check(
            "sample",
            not (missing or extra or pi_diff),
            {
                "not_reproduced": missing,
                "unexpected": extra,
                "probability_differs": pi_diff,
                "counts": {"stored": len(stored), "recomputed": len(again)},
            },
        )
    )
    draw_ok = all(c.ok for c in checks)
    if compare_register:
        excluded = {e["id"] for e in doc.get("excluded", [])}
        now_rows = [row for row in register_rows(session, r, snap.params) if row["id"] not in excluded]
        diff = draws.diff_snapshots(doc, draws.snapshot_document(now_rows, doc.get("excluded", [])))
        checks.append(Check("register", diff.empty, diff.as_dict()))
    return VerifyReport(r.id, all(c.ok for c in checks), draw_ok, checks)


def verify_round(
    session: Session, actor: Actor, round_id: uuid.UUID, compare_register: bool = True
) -> VerifyReport:
    """Verification by a supervisor in scope (any time after the draw; the secret stays unpublished)."""
    r = _round(session, actor, round_id, "verify")
    report = verify(session, r, compare_register)
    audit.record(
        session,
        actor,
        "round.verify",
        "round",
        r.id,
        ok=report.ok,
        failed=[c.name for c in report.failures()],
    )
    return report


@dataclass
class PublicVerification:
    """What anyone may see about a round's draw: commitment, the revealed seed, the verification."""

    round_id: uuid.UUID
    name: str
    type: RoundType
    status: RoundStatus
    frame_size: int
    sample_size: int
    commitment: Commitment
    revealed: bool
    verification: VerifyReport | None
    message: str


def public_verification(
    session: Session, round_id: uuid.UUID, compare_register: bool = True
) -> PublicVerification:
    """The public check: before reveal only the commitment; after it, the full verification (no names)."""
    r = session.get(InspectionRound, round_id)
    if r is None or r.committed_at is None:
        raise NotFound(entity="round")
    revealed = r.revealed_at is not None
    report = verify(session, r, compare_register).public() if revealed else None
    audit.record(
        session,
        "public",
        "round.verify.public",
        "round",
        r.id,
        revealed=revealed,
        ok=None if report is None else report.ok,
    )
    message = (
        "not_revealed" if not revealed else ("verified" if report and report.ok else "verification_failed")
    )
    return PublicVerification(
        r.id,
        r.name,
        r.type,
        r.status,
        r.frame_size,
        r.sample_size,
        commitment_of(r, revealed),
        revealed,
        report,
        message,
    )


# ---- lookups for the CLI ------------------------------------------------------------------------


def household_by_register(session: Session, register_no: str) -> Household:
    """A household by its register number (低保证号)."""
    h = session.exec(select(Household).where(Household.register_no == register_no)).first()
    if h is None:
        raise NotFound(entity=f"household {register_no}")
    return h


def inspector_ids(session: Session, logins: Sequence[str]) -> list[uuid.UUID]:
    """User ids for inspector logins, refusing unknown ones."""
    users = {u.login: u.id for u in session.exec(select(User).where(col(User.login).in_(list(logins)))).all()}
    missing = [x for x in logins if x not in users]
    if missing:
        raise ValidationFailed("unknown_inspector", id=", ".join(missing))
    return [users[x] for x in logins]
