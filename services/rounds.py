"""Inspection rounds, their lifecycle: create, exclusions, commit, draw, close, reveal.

The other capabilities of a round live beside it: `round_teams` (teams, assignment, swaps),
`round_dispatch` (dispatch, daily release, the inspector's own list), `round_verify` (verification),
`access` (who may see a round; sealed lists are readable only by supervisors whose scope holds the
round, every view is audited, and refusals are audited through `audit.refuse`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, func, select

from contracts.rounds import ROUND_TYPE_LABELS, Commitment, RoundCreate, RoundPublic, SamplePublic
from models.household import Household, HouseholdStatus
from models.region import Region
from models.round import InspectionRound, RoundExclusion, RoundSample, RoundSnapshot, RoundStatus, RoundType
from models.types import utcnow
from models.user import Role
from models.visit import Visit
from services import access, audit, case_duplicates, draws
from services.config import Settings, get_settings
from services.context import Actor
from services.errors import Conflict, NotFound, ValidationFailed

# ---- shared by the round capabilities -----------------------------------------------------------


def expect_status(r: InspectionRound, action: str, *allowed: RoundStatus) -> None:
    """Raises Conflict unless the round is in one of the allowed states."""
    if r.status not in allowed:
        raise Conflict("round_bad_status", status=r.status.value, action=action)


def touch(r: InspectionRound, status: RoundStatus | None = None) -> None:
    """Marks the round updated, moving it to `status` when given."""
    if status is not None:
        r.status = status
    r.updated_at = utcnow()


def settings_or_default(settings: Settings | None) -> Settings:
    """The given settings, or the environment's."""
    return settings or get_settings()


def local_today(settings: Settings | None = None, now: datetime | None = None) -> date:
    """Today's date where the inspections happen (settings.timezone)."""
    return (now or utcnow()).astimezone(ZoneInfo(settings_or_default(settings).timezone)).date()


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
    s = settings_or_default(settings)
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
    return access.round_for_actor(session, actor, round_id, "read")


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
    r = access.round_for_actor(session, actor, round_id, "exclude")
    expect_status(r, "exclude", RoundStatus.draft)
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
    """The in-scope active households as the draw reads them, complaint counts included.

    The counts go into the snapshot, so `verify` recomputes the repeat-complaint take-all group from
    what the draw saw, never from complaints received since.
    """
    raw = list(session.exec(_frame_query(r, params)).all())
    complaints = case_duplicates.complaint_counts(
        session, date.fromisoformat(params["as_of"]), get_settings().case_repeat_window_days
    )
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
            complaints.get(str(row[0]), 0),
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


def coverage_report(
    session: Session, r: InspectionRound, covered: set[str], stage: str, settings: Settings | None
) -> dict[str, Any]:
    """Township coverage of a stage (planned, drawn, assigned), stored on the round."""
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


def enforce_coverage(report: Mapping[str, Any], settings: Settings | None) -> None:
    """Refuses a round below its coverage target when the settings enforce coverage."""
    if not report["ok"] and settings_or_default(settings).enforce_coverage:
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
    r = access.round_for_actor(session, actor, round_id, "commit")
    expect_status(r, "commit", RoundStatus.draft)
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
    report = coverage_report(session, r, planned, "planned", settings)
    enforce_coverage(report, settings)
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
    touch(r, RoundStatus.committed)
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


def draw_round(
    session: Session, actor: Actor, round_id: uuid.UUID, witness: str, settings: Settings | None = None
) -> InspectionRound:
    """Derives the seed from the secret and the witnesses' input and stores the sample."""
    r = access.round_for_actor(session, actor, round_id, "draw")
    expect_status(r, "draw", RoundStatus.committed)
    witness = draws.normalize_witness(witness or "")
    if not witness:
        raise ValidationFailed("witness_required")
    snap = session.get(RoundSnapshot, r.id)
    assert snap is not None and r.secret_seed and r.snapshot_hash and r.params_hash and r.algorithm_version
    doc = draws.unpack_snapshot(snap.data)
    derived = draws.derive_seed(r.secret_seed, witness, r.snapshot_hash, r.params_hash, r.algorithm_version)
    result = draws.recompute(doc, r.params, derived)
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
    report = coverage_report(session, r, {towns[h] for h in result.rows}, "drawn", settings)
    touch(r, RoundStatus.drawn)
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
    r = access.round_for_actor(session, actor, round_id, "sample.view")
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


# ---- close and reveal ----------------------------------------------------------------------


def close_round(session: Session, actor: Actor, round_id: uuid.UUID) -> InspectionRound:
    """Closes a drawn round (fieldwork over or abandoned); the secret may then be revealed."""
    r = access.round_for_actor(session, actor, round_id, "close")
    expect_status(
        r, "close", RoundStatus.drawn, RoundStatus.assigned, RoundStatus.dispatched, RoundStatus.in_field
    )
    r.closed_at = utcnow()
    touch(r, RoundStatus.closed)
    session.flush()
    audit.record(session, actor, "round.close", "round", r.id)
    return r


def reveal_round(session: Session, actor: Actor, round_id: uuid.UUID) -> InspectionRound:
    """Publishes the secret seed of a closed round so that anyone can verify the draw."""
    r = access.round_for_actor(session, actor, round_id, "reveal")
    expect_status(r, "reveal", RoundStatus.closed)
    if r.revealed_at is None:
        r.revealed_at = utcnow()
        touch(r)
        session.flush()
        audit.record(session, actor, "round.reveal", "round", r.id, secret_seed=r.secret_seed)
    return r


# ---- lookups for the CLI ------------------------------------------------------------------------


def household_by_register(session: Session, register_no: str) -> Household:
    """A household by its register number (低保证号)."""
    h = session.exec(select(Household).where(Household.register_no == register_no)).first()
    if h is None:
        raise NotFound(entity=f"household {register_no}")
    return h
