"""A closed round's estimates from its stored inclusion probabilities, in the API and the ledger summary."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from contracts.vocab import Severity
from models.round import RoundSample
from models.user import Role
from models.visit import Finding, Visit, VisitStatus
from services import estimates, ledger_summary, rounds
from services.errors import Conflict
from tests.factories import make_user
from tests.round_helpers import COUNTY, actor_of, drawn_round, populate, supervisor


def test_closed_round_estimates_per_township_and_county(session: Session) -> None:
    """Visited sample units with serious findings give Hájek shares whose intervals hold the estimate."""
    populate(session, per_village=6)
    sup = actor_of(supervisor(session))
    r = drawn_round(session, sup)
    with pytest.raises(Conflict):
        estimates.round_estimates(session, sup, r.id)
    samples = session.exec(select(RoundSample).where(RoundSample.round_id == r.id)).all()
    assert samples
    inspector = make_user(session, "ins-est", Role.inspector)
    for i, s in enumerate(samples):
        if i % 5 == 4:
            continue  # not visited: a non-respondent
        session.add(
            Visit(
                household_id=s.household_id,
                inspector_id=inspector.id,
                round_id=r.id,
                status=VisitStatus.submitted,
            )
        )
        if i % 3 == 0:
            session.add(
                Finding(
                    household_id=s.household_id,
                    round_id=r.id,
                    rule_id="income_over",
                    category="not_eligible",
                    severity=Severity.high,
                    message_zh="收入超标",
                    message_en="income over",
                )
            )
    session.flush()
    rounds.close_round(session, sup, r.id)
    out = estimates.round_estimates(session, sup, r.id)
    assert out.method == estimates.METHOD and [c.region_code for c in out.counties] == [COUNTY]
    assert len(out.townships) == 4
    county = out.counties[0]
    assert county.sampled == len(samples) and county.visited == len(samples) - len(samples) // 5
    assert county.share is not None and county.ci_low is not None and county.ci_high is not None
    assert 0.0 <= county.ci_low <= county.share <= county.ci_high <= 1.0
    assert county.with_serious == sum(t.with_serious for t in out.townships)
    summary = ledger_summary.summary(session, sup, round_id=r.id)
    assert summary.estimates is not None and summary.estimates.counties[0].share == county.share
    officer = actor_of(make_user(session, "off-est", Role.officer, scope_code=COUNTY + "100"))
    assert ledger_summary.summary(session, officer, round_id=r.id).estimates is None
