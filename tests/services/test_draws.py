from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from scipy import stats
from sqlmodel import Session, col, select

from models.round import RoundSample, RoundSnapshot, RoundStatus
from services import draws, round_verify, rounds
from services.errors import Conflict, ValidationFailed
from tests.round_helpers import actor_of, drawn_round, new_round, populate, supervisor

# ---- pure core ---------------------------------------------------------------------------------


def _population(n: int = 40, strata: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    stratum = np.arange(n) % strata
    weight = 1.0 + rng.integers(0, 4, n).astype(float)
    take_all = np.zeros(n, dtype=bool)
    take_all[[5, 17]] = True
    return stratum, weight, take_all


def test_same_inputs_same_sample_and_seed_derivation_binds_every_input() -> None:
    stratum, weight, take_all = _population()
    a = draws.draw(stratum, weight, take_all, 3, 0.25, 1, draws.rng_for(draws.sha256_hex(b"x")))
    b = draws.draw(stratum, weight, take_all, 3, 0.25, 1, draws.rng_for(draws.sha256_hex(b"x")))
    assert (a.selected == b.selected).all() and (a.pi == b.pi).all()
    base = draws.derive_seed("00" * 32, "3 5 6", "s" * 64, "p" * 64, draws.ALGORITHM_VERSION)
    assert base == draws.derive_seed("00" * 32, " ３  5 6 ", "s" * 64, "p" * 64, draws.ALGORITHM_VERSION)
    for changed in (
        ("01" * 32, "3 5 6", "s" * 64, "p" * 64, draws.ALGORITHM_VERSION),
        ("00" * 32, "3 5 7", "s" * 64, "p" * 64, draws.ALGORITHM_VERSION),
        ("00" * 32, "3 5 6", "t" * 64, "p" * 64, draws.ALGORITHM_VERSION),
        ("00" * 32, "3 5 6", "s" * 64, "q" * 64, draws.ALGORITHM_VERSION),
        ("00" * 32, "3 5 6", "s" * 64, "p" * 64, "feijian-draw/2"),
    ):
        assert draws.derive_seed(*changed) != base


def test_sizes_take_all_and_capping() -> None:
    stratum, weight, take_all = _population()
    weight[0] = 500.0  # would exceed π = 1: made certain, the rest re-spread
    out = draws.draw(stratum, weight, take_all, 3, 0.25, 1, draws.rng_for("ab" * 32))
    assert out.selected[take_all].all() and (out.pi[take_all] == 1).all()
    assert out.pi[0] == 1.0 and out.selected[0]
    pool = ~take_all
    for s in range(3):
        in_s = pool & (stratum == s)
        assert out.selected[in_s].sum() == out.n_h[s] == round(out.pi[in_s].sum())
    assert (out.pi <= 1).all()


def test_inclusion_frequencies_match_probabilities_chi_square() -> None:
    """Over a fixed set of 3,000 seeds, observed inclusion counts fit R·π (not flaky: seeds are fixed)."""
    stratum, weight, take_all = _population(n=36, strata=3, seed=4)
    reps = 3000
    counts = np.zeros(stratum.shape[0])
    pi = None
    for k in range(reps):
        out = draws.draw(
            stratum, weight, take_all, 3, 0.3, 2, draws.rng_for(draws.sha256_hex(f"seed-{k}".encode()))
        )
        counts += out.selected
        pi = out.pi
    assert pi is not None
    free = (pi > 0) & (pi < 1)
    expected = reps * pi[free]
    statistic = float((((counts[free] - expected) ** 2) / (expected * (1 - pi[free]))).sum())
    dof = int(free.sum()) - 3  # each stratum's total is fixed
    p_value = stats.chi2.sf(statistic, dof)
    assert p_value > 0.001, (statistic, dof, p_value)
    assert (counts[take_all] == reps).all()


def test_review_overdue_rule() -> None:
    as_of = date(2026, 7, 1)
    assert draws.review_overdue("常补", date(2025, 6, 30), as_of)
    assert not draws.review_overdue("常补", date(2025, 7, 1), as_of)
    assert draws.review_overdue("非常补", date(2025, 12, 31), as_of)
    assert not draws.review_overdue("非常补", date(2026, 1, 2), as_of)
    assert draws.review_overdue("常补", None, as_of)


def test_snapshot_diff_names_households_and_fields() -> None:
    row = draws.snapshot_row(
        "a", "LB1", "150422100", "150422100200", "一般困难", "常补", None, False, "500", 2
    )
    other = draws.snapshot_row("b", "LB2", "150422100", "150422100200", "特困", "常补", None, True, "800", 1)
    old = draws.snapshot_document([row, other], [])
    new = draws.snapshot_document(
        [
            {**row, "tier": "特困"},
            draws.snapshot_row("c", "LB3", "150422101", "150422101200", "特困", "常补", None, False, "1", 1),
        ],
        [],
    )
    diff = draws.diff_snapshots(old, new)
    assert diff.added == ["LB3"] and diff.removed == ["LB2"] and diff.changed == {"LB1": ["tier"]}
    assert draws.unpack_snapshot(draws.pack_snapshot(old)) == old


# ---- through the store (SQLite and PostgreSQL) -------------------------------------------------


def _sample_ids(session: Session, round_id: object) -> set[str]:
    return {
        str(s.household_id) for s in session.exec(select(RoundSample).where(RoundSample.round_id == round_id))
    }


def test_draw_is_deterministic_and_verifies(session: Session) -> None:
    populate(session)
    actor = actor_of(supervisor(session))
    r = drawn_round(session, actor)
    assert r.status == RoundStatus.drawn and r.sample_size > 0
    assert r.seed_hash == draws.seed_hash(r.secret_seed or "")
    assert rounds.to_public(r).commitment.secret_seed is None  # sealed until reveal
    snap = session.get(RoundSnapshot, r.id)
    assert snap is not None
    again = draws.recompute(draws.unpack_snapshot(snap.data), r.params, r.derived_seed or "")
    assert set(again.rows) == _sample_ids(session, r.id)
    cadre = [row["id"] for row in draws.unpack_snapshot(snap.data)["households"] if row["cadre"]]
    assert cadre and set(cadre) <= _sample_ids(session, r.id)  # take-all stratum
    rep = round_verify.verify_round(session, actor, r.id)
    assert rep.ok and rep.draw_reproduced, rep.failures()
    assert r.coverage["drawn"]["townships_covered"] == 4


def test_verify_fails_naming_register_and_parameter_changes(session: Session) -> None:
    households = populate(session)
    actor = actor_of(supervisor(session))
    r = drawn_round(session, actor)
    households[0].tier = next(t for t in type(households[0].tier) if t != households[0].tier)
    session.flush()
    rep = round_verify.verify_round(session, actor, r.id)
    assert not rep.ok and rep.draw_reproduced
    register = next(c for c in rep.failures() if c.name == "register")
    assert register.detail["changed"] == {households[0].register_no: ["tier"]}
    assert round_verify.verify_round(session, actor, r.id, compare_register=False).ok

    r.params = {**r.params, "sample_ratio": 0.9}
    session.flush()
    rep = round_verify.verify_round(session, actor, r.id, compare_register=False)
    failed = {c.name: c for c in rep.failures()}
    assert "params" in failed and failed["params"].detail["params"] == ["sample_ratio"]
    assert "derived_seed" in failed and "sample" in failed


def test_verify_detects_a_tampered_snapshot(session: Session) -> None:
    populate(session)
    actor = actor_of(supervisor(session))
    r = drawn_round(session, actor)
    snap = session.get(RoundSnapshot, r.id)
    assert snap is not None
    doc = draws.unpack_snapshot(snap.data)
    doc["households"][0]["cadre"] = not doc["households"][0]["cadre"]
    snap.data = draws.pack_snapshot(doc)
    session.flush()
    rep = round_verify.verify_round(session, actor, r.id, compare_register=False)
    assert {"snapshot", "derived_seed"} <= {c.name for c in rep.failures()}


def test_state_machine_witness_and_exclusions(session: Session) -> None:
    households = populate(session)
    actor = actor_of(supervisor(session))
    r = new_round(session, actor)
    with pytest.raises(Conflict):
        rounds.draw_round(session, actor, r.id, "1 2 3")
    rounds.add_exclusion(session, actor, r.id, households[0].id, "hospitalised", "住院，无法入户")
    rounds.commit_round(session, actor, r.id)
    with pytest.raises(ValidationFailed):
        rounds.draw_round(session, actor, r.id, "   ")
    rounds.draw_round(session, actor, r.id, "1 2 3")
    assert str(households[0].id) not in _sample_ids(session, r.id)
    snap = session.get(RoundSnapshot, r.id)
    assert snap is not None
    assert draws.unpack_snapshot(snap.data)["excluded"] == [
        {"id": str(households[0].id), "reason": "hospitalised"}
    ]
    assert session.exec(select(RoundSample).where(col(RoundSample.round_id) == r.id)).first() is not None


def test_coverage_is_reported_and_enforced(session: Session, settings) -> None:  # type: ignore[no-untyped-def]
    populate(session)
    actor = actor_of(supervisor(session))
    from tests.round_helpers import TOWNS

    r = new_round(session, actor, townships=[TOWNS[0]])  # 1 of 4 townships = 25 %
    strict = settings.model_copy(update={"enforce_coverage": True, "supervision_min_township_share": 0.5})
    r.coverage_target = 0.5
    with pytest.raises(Conflict) as err:
        rounds.commit_round(session, actor, r.id, strict)
    assert err.value.code == "coverage_short"
    ok = rounds.commit_round(session, actor, r.id, settings)
    assert ok.coverage["planned"]["share"] == 0.25 and not ok.coverage["planned"]["ok"]
