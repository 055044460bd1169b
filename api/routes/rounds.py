"""Inspection rounds, draws, assignments and dispatch; the inspector's own assignments; public verify."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ActorDep, SessionDep, SettingsDep
from contracts.rounds import (
    AssignIn,
    AssignmentPublic,
    AssignOut,
    CheckOut,
    DispatchIn,
    DispatchOut,
    DrawIn,
    ExclusionIn,
    ExclusionOut,
    MarkIn,
    MyAssignment,
    PublicVerifyOut,
    ReleaseOut,
    RoundCreate,
    RoundPublic,
    SamplePublic,
    SwapIn,
    TeamPublic,
    VerifyOut,
)
from services import round_dispatch, round_teams, round_verify, rounds

router = APIRouter(tags=["rounds"])


def _verify_out(report: round_verify.VerifyReport) -> VerifyOut:
    return VerifyOut(
        round_id=report.round_id,
        ok=report.ok,
        draw_reproduced=report.draw_reproduced,
        checks=[CheckOut(name=c.name, ok=c.ok, detail=c.detail) for c in report.checks],
    )


def _releases(items: list[round_dispatch.Release]) -> list[ReleaseOut]:
    return [ReleaseOut(**r.as_dict()) for r in items]


@router.post("/rounds", response_model=RoundPublic, status_code=201)
def create_round(
    data: RoundCreate, session: SessionDep, actor: ActorDep, settings: SettingsDep
) -> RoundPublic:
    """Creates a draft round."""
    return rounds.to_public(rounds.create_round(session, actor, data, settings))


@router.get("/rounds", response_model=list[RoundPublic])
def list_rounds(session: SessionDep, actor: ActorDep) -> list[RoundPublic]:
    """Rounds in the caller's scope."""
    return [rounds.to_public(r) for r in rounds.list_rounds(session, actor)]


@router.get("/rounds/{round_id}", response_model=RoundPublic)
def get_round(round_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> RoundPublic:
    """One round with its public commitment."""
    return rounds.to_public(rounds.get_round(session, actor, round_id))


@router.post("/rounds/{round_id}/exclusions", response_model=ExclusionOut, status_code=201)
def add_exclusion(
    round_id: uuid.UUID, data: ExclusionIn, session: SessionDep, actor: ActorDep
) -> ExclusionOut:
    """Leaves a household out of a draft round, with a reason."""
    ex = rounds.add_exclusion(session, actor, round_id, data.household_id, data.reason, data.detail)
    return ExclusionOut(id=ex.id, household_id=ex.household_id, reason=ex.reason)


@router.post("/rounds/{round_id}/commit", response_model=RoundPublic)
def commit_round(
    round_id: uuid.UUID, session: SessionDep, actor: ActorDep, settings: SettingsDep
) -> RoundPublic:
    """Freezes the register snapshot and publishes the seed and snapshot hashes."""
    return rounds.to_public(rounds.commit_round(session, actor, round_id, settings))


@router.post("/rounds/{round_id}/draw", response_model=RoundPublic)
def draw_round(
    round_id: uuid.UUID, data: DrawIn, session: SessionDep, actor: ActorDep, settings: SettingsDep
) -> RoundPublic:
    """Draws the sample from the secret seed and the witnesses' input."""
    return rounds.to_public(rounds.draw_round(session, actor, round_id, data.witness, settings))


@router.get("/rounds/{round_id}/sample", response_model=list[SamplePublic])
def get_sample(round_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> list[SamplePublic]:
    """The drawn households (sealed; audited)."""
    return rounds.list_sample(session, actor, round_id)


@router.post("/rounds/{round_id}/assign", response_model=AssignOut)
def assign_round(
    round_id: uuid.UUID, data: AssignIn, session: SessionDep, actor: ActorDep, settings: SettingsDep
) -> AssignOut:
    """Forms teams and assigns the sample under the hard rules."""
    rep = round_teams.assign_round(
        session,
        actor,
        round_id,
        data.inspector_ids,
        data.teams,
        data.team_size,
        data.visits_per_day,
        settings,
    )
    return AssignOut(
        round_id=rep.round_id,
        teams=rep.teams,
        assigned=rep.assigned,
        unassignable=rep.unassignable,
        coverage=rep.coverage,
    )


@router.get("/rounds/{round_id}/teams", response_model=list[TeamPublic])
def get_teams(round_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> list[TeamPublic]:
    """The round's teams."""
    return round_teams.get_teams(session, actor, round_id)


@router.get("/rounds/{round_id}/assignments", response_model=list[AssignmentPublic])
def get_assignments(round_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> list[AssignmentPublic]:
    """Every assignment of the round (sealed; audited)."""
    return round_teams.list_assignments(session, actor, round_id)


@router.post("/rounds/{round_id}/swap", response_model=list[AssignmentPublic])
def swap(round_id: uuid.UUID, data: SwapIn, session: SessionDep, actor: ActorDep) -> list[AssignmentPublic]:
    """Moves or exchanges assignments by hand, within the hard rules (audited)."""
    round_teams.swap(session, actor, round_id, data.assignment_id, data.team_id, data.other_assignment_id)
    return round_teams.list_assignments(session, actor, round_id)


@router.post("/rounds/{round_id}/dispatch", response_model=DispatchOut)
def dispatch(
    round_id: uuid.UUID, data: DispatchIn, session: SessionDep, actor: ActorDep, settings: SettingsDep
) -> DispatchOut:
    """Releases the assignments due by a day (default today), optionally for one team."""
    rep = round_dispatch.dispatch(session, actor, round_id, data.day, data.team_id, settings=settings)
    return DispatchOut(
        round_id=rep.round_id, day=rep.day, released=rep.released, releases=_releases(rep.releases)
    )


@router.post("/rounds/{round_id}/close", response_model=RoundPublic)
def close_round(round_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> RoundPublic:
    """Closes the round."""
    return rounds.to_public(rounds.close_round(session, actor, round_id))


@router.post("/rounds/{round_id}/reveal", response_model=RoundPublic)
def reveal_round(round_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> RoundPublic:
    """Publishes the secret seed of a closed round."""
    return rounds.to_public(rounds.reveal_round(session, actor, round_id))


@router.get("/rounds/{round_id}/verify", response_model=VerifyOut)
def verify_round(
    round_id: uuid.UUID, session: SessionDep, actor: ActorDep, register: bool = True
) -> VerifyOut:
    """Recomputes the draw and compares (supervisors, any time after the draw)."""
    return _verify_out(round_verify.verify_round(session, actor, round_id, register))


@router.get("/public/rounds/{round_id}/verify", response_model=PublicVerifyOut)
def public_verify(round_id: uuid.UUID, session: SessionDep, register: bool = True) -> PublicVerifyOut:
    """Anyone: the commitment, the seed once revealed, and the verification (no household names)."""
    pv = round_verify.public_verification(session, round_id, register)
    return PublicVerifyOut(
        round_id=pv.round_id,
        name=pv.name,
        type=pv.type.value,
        status=pv.status.value,
        frame_size=pv.frame_size,
        sample_size=pv.sample_size,
        commitment=pv.commitment.model_dump(mode="json"),
        revealed=pv.revealed,
        verification=_verify_out(pv.verification) if pv.verification else None,
        message=pv.message,
    )


@router.get("/assignment-releases", response_model=list[ReleaseOut])
def releases(session: SessionDep, actor: ActorDep, since: Annotated[datetime, Query()]) -> list[ReleaseOut]:
    """Releases after a moment, per inspector (for notifiers; supervisors and admins)."""
    return _releases(round_dispatch.releases_since(session, actor, since))


@router.get("/me/assignments", response_model=list[MyAssignment])
def my_assignments(
    session: SessionDep, actor: ActorDep, released_since: datetime | None = None
) -> list[MyAssignment]:
    """The signed-in inspector's released assignments."""
    return round_dispatch.my_assignments(session, actor, released_since)


@router.get("/me/assignments/{assignment_id}", response_model=MyAssignment)
def my_assignment(assignment_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> MyAssignment:
    """One of the inspector's released assignments (404 otherwise, audited)."""
    return round_dispatch.my_assignment(session, actor, assignment_id)


@router.post("/me/assignments/{assignment_id}/status", response_model=MyAssignment)
def mark_assignment(
    assignment_id: uuid.UUID, data: MarkIn, session: SessionDep, actor: ActorDep
) -> MyAssignment:
    """Moves an assignment on (in_progress, done, revisit)."""
    round_dispatch.mark_assignment(session, actor, assignment_id, data.status)
    return round_dispatch.my_assignment(session, actor, assignment_id)
