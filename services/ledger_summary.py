"""A round summary of the ledger: findings by category, items by state, overdue, money to recover."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from contracts.estimates import RoundEstimates
from contracts.ledger import FindingReview, LedgerState, LedgerSummary
from contracts.rounds import RoundStatus
from contracts.vocab import FindingCategory
from models.household import Household
from models.ledger import LedgerItem
from models.round import InspectionRound
from models.user import Role
from models.visit import Finding
from services import audit, estimates, ledger
from services.context import Actor
from services.ledger_queries import LedgerFilter, scoped_query, subtree
from services.rounds import local_today


def _findings_by_category(
    session: Session, actor: Actor, round_id: uuid.UUID | None, region: str | None
) -> dict[FindingCategory, int]:
    """Findings not dismissed, by category, of households in the actor's region."""
    q: Any = (
        select(col(Finding.category), func.count())
        .join(Household, col(Household.id) == col(Finding.household_id))
        .where(col(Finding.review) != FindingReview.dismissed)
    )
    if actor.role == Role.officer and not actor.scope_code:
        return {}
    if actor.role != Role.admin and actor.scope_code:
        q = q.where(subtree(col(Household.village_code), actor.scope_code))
    if region:
        q = q.where(subtree(col(Household.village_code), region))
    if round_id is not None:
        q = q.where(Finding.round_id == round_id)
    return {c: int(n) for c, n in session.exec(q.group_by(col(Finding.category))).all()}


def summary(
    session: Session,
    actor: Actor,
    round_id: uuid.UUID | None = None,
    region: str | None = None,
    today: date | None = None,
) -> LedgerSummary:
    """Counts and sums over the items the actor may see (of the round and region, when given)."""
    actor.require(*ledger.ACTING)
    today = today or local_today()
    items = scoped_query(actor, LedgerFilter(region=region, round_id=round_id), today)
    overdue = func.sum(case((ledger.overdue_clause(today), 1), else_=0))
    rows = session.exec(
        items.with_only_columns(
            col(LedgerItem.state),
            col(LedgerItem.category),
            func.count(),
            overdue,
            func.coalesce(func.sum(col(LedgerItem.money_to_recover)), 0),
            func.coalesce(func.sum(col(LedgerItem.money_recovered)), 0),
        ).group_by(col(LedgerItem.state), col(LedgerItem.category))
    ).all()
    by_state: dict[LedgerState, int] = {}
    by_category: dict[FindingCategory, int] = {}
    late, to_recover, recovered = 0, Decimal("0"), Decimal("0")
    for state, category, n, n_late, owed, paid in rows:
        by_state[state] = by_state.get(state, 0) + int(n)
        by_category[category] = by_category.get(category, 0) + int(n)
        late += int(n_late or 0)
        to_recover += Decimal(str(owed))
        recovered += Decimal(str(paid))
    audit.record(session, actor, "ledger.summary", "ledger_item", None, round_id=round_id, region=region)
    return LedgerSummary(
        round_id=round_id,
        region=region,
        findings_by_category=_findings_by_category(session, actor, round_id, region),
        items_by_category=by_category,
        items_by_state=by_state,
        items_total=sum(by_state.values()),
        overdue=late,
        money_to_recover=ledger.fen(to_recover),
        money_recovered=ledger.fen(recovered),
        estimates=_estimates(session, actor, round_id),
    )


# ---- estimates for the report upward (cadres branch) ------------------------------------------------


def _estimates(session: Session, actor: Actor, round_id: uuid.UUID | None) -> RoundEstimates | None:
    """The round's share estimates when it is closed and the actor is one of its supervisors."""
    if round_id is None or actor.role not in (Role.admin, Role.supervisor):
        return None
    r = session.get(InspectionRound, round_id)
    if r is None or r.status != RoundStatus.closed or not actor.sees(r.scope_code):
        return None
    return estimates.round_estimates(session, actor, round_id)
