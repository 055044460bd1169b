from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select

from models.audit import AuditEvent
from models.round import Assignment, RoundSample, RoundStatus, RoundTeam
from services import assignments as core
from services import round_dispatch, round_teams
from services.cipher import get_cipher
from services.errors import Conflict, ValidationFailed
from tests.round_helpers import TOWNS, actor_of, drawn_round, inspectors, populate, relative_hash, supervisor

# ---- pure rules (hypothesis) -------------------------------------------------------------------

towns = st.sampled_from(["t1", "t2", "t3", "t4", "t5"])
hashes = st.sampled_from([f"h{i}" for i in range(12)])


@st.composite
def populations(draw: st.DrawFn) -> tuple[list[core.HouseholdFacts], list[core.InspectorFacts]]:
    n_insp = draw(st.integers(2, 9))
    insp = [
        core.InspectorFacts(f"u{i}", draw(st.none() | towns), frozenset(draw(st.sets(hashes, max_size=3))))
        for i in range(n_insp)
    ]
    hh = []
    for j in range(draw(st.integers(0, 40))):
        town = draw(towns)
        located = draw(st.booleans())
        hh.append(
            core.HouseholdFacts(
                f"h{j:03d}",
                town,
                town + draw(st.sampled_from(["a", "b"])),
                draw(st.floats(40, 45)) if located else None,
                draw(st.floats(115, 120)) if located else None,
                frozenset(draw(st.sets(hashes, max_size=2))),
                frozenset(draw(st.sets(st.sampled_from([i.id for i in insp]), max_size=2))),
            )
        )
    return hh, insp


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(populations(), st.integers(2, 3))
def test_hard_rules_hold_for_any_population(
    data: tuple[list[core.HouseholdFacts], list[core.InspectorFacts]], size: int
) -> None:
    households, insp = data
    teams = core.form_teams(insp, size)
    assert all(len(t) >= size for t in teams) and sum(map(len, teams)) == (len(insp) if teams else 0)
    plan = core.plan(households, teams)
    placed = plan.team_of()
    assert set(placed) | set(plan.unassignable) == {h.id for h in households}
    assert not set(placed) & set(plan.unassignable)
    by_id = {h.id: h for h in households}
    for hid, t in placed.items():
        assert core.violations(by_id[hid], teams[t]) == []
    for hid, rules in plan.unassignable.items():
        assert teams == [] or all(core.violations(by_id[hid], team) for team in teams)
        assert rules and set(rules) <= {*core.HARD_RULES, "no_team"}


def test_balance_grouping_and_route() -> None:
    hh = [
        core.HouseholdFacts(
            f"{v}{k}", "t1" if v in "ab" else "t2", v, 43 + 0.01 * k + (0.5 if v in "bd" else 0), 119
        )
        for v in "abcd"
        for k in range(5)
    ]
    teams = core.form_teams([core.InspectorFacts(f"u{i}", "t9") for i in range(4)], 2)
    plan = core.plan(hh, teams)
    assert sorted(map(len, plan.routes)) == [10, 10]
    for route in plan.routes:  # villages stay whole: each team holds two villages of five
        assert len({h[0] for h in route}) == 2
        legs = [plan.legs_m[h] for h in route]
        assert legs[0] is None and all(x is not None and x < 60_000 for x in legs[1:])
    assert (
        core.schedule(7, date(2026, 1, 1), date(2026, 1, 2), 3)
        == [date(2026, 1, 1)] * 4 + [date(2026, 1, 2)] * 3
    )


def test_two_opt_removes_a_crossing() -> None:
    pts = [(0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0)]
    d = core.haversine_matrix(np.array([p[0] for p in pts]), np.array([p[1] for p in pts]))
    crossing = [0, 3, 1, 2]
    better = core.two_opt(d, crossing)
    length = lambda r: sum(d[a, b] for a, b in itertools.pairwise(r))  # noqa: E731
    assert better[0] == 0 and length(better) < length(crossing)


# ---- through the store -------------------------------------------------------------------------


def test_assignment_respects_rules_and_lists_the_blocked(session: Session) -> None:
    households = populate(session)
    sup = actor_of(supervisor(session))
    users = inspectors(session, 6)
    r = drawn_round(session, sup)
    sampled = {s.household_id for s in session.exec(select(RoundSample).where(RoundSample.round_id == r.id))}
    target = next(h for h in households if h.id in sampled)
    head_id = get_cipher().decrypt(target.head_id_enc)
    assert head_id
    for u in users:  # everyone declared the target's head as a relative: nobody may visit it
        u.relative_id_hashes = [relative_hash(head_id)]
    session.flush()
    rep = round_teams.assign_round(session, sup, r.id)
    assert [u["household_id"] for u in rep.unassignable] == [str(target.id)]
    assert "declared_relative" in rep.unassignable[0]["rules"]
    assert rep.assigned == len(sampled) - 1 and len(rep.teams) == 3
    homes = {u.id: u.home_township_code for u in users}
    by_id = {h.id: h for h in households}
    members = {t.id: t.inspector_ids for t in rep.teams}
    for a in session.exec(select(Assignment).where(Assignment.round_id == r.id)):
        assert by_id[a.household_id].township_code not in {homes[m] for m in members[a.team_id]}
        assert r.window_start <= a.visit_date <= r.window_end
    blocked = session.exec(select(RoundSample).where(RoundSample.household_id == target.id)).one()
    assert "declared_relative" in (blocked.blocked_rule or "")
    assert r.status == RoundStatus.assigned


def test_manual_swap_only_within_hard_rules_and_audited(session: Session) -> None:
    populate(session)
    sup = actor_of(supervisor(session))
    inspectors(session, 8)
    r = drawn_round(session, sup)
    round_teams.assign_round(session, sup, r.id)
    teams = {t.id: t for t in session.exec(select(RoundTeam).where(RoundTeam.round_id == r.id))}
    views = round_teams.list_assignments(session, sup, r.id)
    home = {t.id: set() for t in teams.values()}
    for t in round_teams.get_teams(session, sup, r.id):
        home[t.id] = {TOWNS[int(login[4:]) % 4] for login in t.inspector_logins}
    a = views[0]
    forbidden = next(t for t, towns in home.items() if a.village_code[:9] in towns)
    with pytest.raises(Conflict) as err:
        round_teams.swap(session, sup, r.id, a.id, team_id=forbidden)
    assert err.value.code == "swap_violates"
    allowed = next(t for t, towns in home.items() if a.village_code[:9] not in towns and t != a.team_id)
    round_teams.swap(session, sup, r.id, a.id, team_id=allowed)
    assert session.get(Assignment, a.id).team_id == allowed  # type: ignore[union-attr]
    ev = session.exec(select(AuditEvent).where(AuditEvent.action == "round.swap")).one()
    assert ev.details["moves"][0]["to"] == str(allowed)


def test_too_few_inspectors(session: Session) -> None:
    populate(session, per_village=2)
    sup = actor_of(supervisor(session))
    inspectors(session, 1)
    r = drawn_round(session, sup)
    with pytest.raises(ValidationFailed) as err:
        round_teams.assign_round(session, sup, r.id)
    assert err.value.code == "too_few_inspectors"


def test_previous_round_inspectors_are_blocked(session: Session) -> None:
    populate(session, per_village=2)
    sup = actor_of(supervisor(session))
    users = inspectors(session, 4)
    first = drawn_round(session, sup, ratio=1.0)
    round_teams.assign_round(session, sup, first.id)
    before = {
        a.household_id: a.team_id
        for a in session.exec(select(Assignment).where(Assignment.round_id == first.id))
    }
    second = drawn_round(session, sup, ratio=1.0, witness="9 9")
    rep = round_teams.assign_round(session, sup, second.id, inspector_ids=[u.id for u in users])
    # same pairing as before (same inspectors, same teams) → every household's old team is blocked
    old_members = {t.id: set(t.inspector_ids) for t in round_teams.list_teams(session, first.id)}
    new_members = {t.id: set(t.inspector_ids) for t in rep.teams}
    for a in session.exec(select(Assignment).where(Assignment.round_id == second.id)):
        assert not new_members[a.team_id] & old_members[before[a.household_id]]
    assert all("previous_visit" in u["rules"] or "own_township" in u["rules"] for u in rep.unassignable)


def test_dispatch_releases_by_day_and_release_due_feeds_notices(session: Session) -> None:
    populate(session)
    sup = actor_of(supervisor(session))
    inspectors(session, 4)
    start = date(2026, 3, 2)
    r = drawn_round(session, sup, start=start)
    round_teams.assign_round(session, sup, r.id, visits_per_day=1)
    day0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 in Asia/Shanghai
    with pytest.raises(Conflict):
        round_dispatch.dispatch(session, sup, r.id, day=date(2026, 3, 3), now=day0)
    rep = round_dispatch.dispatch(session, sup, r.id, now=day0)
    rows = list(session.exec(select(Assignment).where(Assignment.round_id == r.id)))
    assert rep.released == sum(a.visit_date == start for a in rows) > 0
    assert {a.visit_date for a in rows if a.released_at} == {start}
    assert all(len(x.assignment_ids) >= 1 and x.released_at == day0 for x in rep.releases)
    day1 = day0 + timedelta(days=1)
    due = round_dispatch.release_due(session, day1)
    assert sum(len(x.assignment_ids) for x in due) // 2 == sum(a.visit_date == date(2026, 3, 3) for a in rows)
    assert round_dispatch.release_due(session, day1) == []  # nothing released twice
    feed = round_dispatch.releases_since(session, sup, day0)
    assert {(x.inspector_id, tuple(x.assignment_ids)) for x in feed} == {
        (x.inspector_id, tuple(x.assignment_ids)) for x in due
    }
