"""Hájek share estimates: interval coverage over simulated draws of a population whose rate is known."""

from __future__ import annotations

import numpy as np

from services import draws
from services.estimates import adjust_for_nonresponse, hajek_share, wilson


def _population(rng: np.random.Generator, n: int = 3000) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Strata (3 townships × 3 tiers), risk weights, take-all flags and outcomes tied to the risk."""
    stratum = rng.integers(0, 9, size=n).astype(np.int64)
    cadre = rng.random(n) < 0.02
    overdue = rng.random(n) < 0.3
    complaints = rng.poisson(0.3, size=n).astype(np.int64)
    high = rng.random(n) < 0.1
    weight = draws.risk_weights(cadre, overdue, complaints, high, {})
    base = 0.04 + 0.02 * (stratum % 3)
    p = np.clip(base + 0.10 * overdue + 0.15 * cadre + 0.05 * np.minimum(complaints, 3), 0, 1)
    y = (rng.random(n) < p).astype(np.float64)
    return stratum, weight, cadre, y.astype(np.float64), 9  # type: ignore[return-value]


def test_interval_covers_the_true_rate_at_the_nominal_level() -> None:
    """500 seeded draws: the 95% interval holds the known population share 90–99% of the time."""
    rng = np.random.default_rng(20261205)
    stratum, weight, take_all, y, n_strata = _population(rng)
    truth = float(y.mean())
    hits, widths = 0, []
    for _ in range(500):
        out = draws.draw(stratum, weight, take_all, n_strata, 0.08, 2, rng)
        s = out.selected
        est = hajek_share(y[s], out.pi[s], stratum[s])
        assert est is not None
        hits += est.low <= truth <= est.high
        widths.append(est.high - est.low)
    coverage = hits / 500
    assert 0.90 <= coverage <= 0.99, coverage
    assert 0.02 < float(np.mean(widths)) < 0.2


def test_township_domain_coverage() -> None:
    """A township (three strata) estimated alone also covers its own true share."""
    rng = np.random.default_rng(7)
    stratum, weight, take_all, y, n_strata = _population(rng)
    town = stratum // 3
    truth = float(y[town == 0].mean())
    hits = 0
    for _ in range(500):
        out = draws.draw(stratum, weight, take_all, n_strata, 0.15, 2, rng)
        s = out.selected & (town == 0)
        est = hajek_share(y[s], out.pi[s], stratum[s])
        assert est is not None
        hits += est.low <= truth <= est.high
    assert 0.90 <= hits / 500 <= 0.99


def test_estimate_is_unbiased_enough() -> None:
    """The mean of the estimates over many draws is close to the truth (Hájek bias is small)."""
    rng = np.random.default_rng(11)
    stratum, weight, take_all, y, n_strata = _population(rng)
    ests = []
    for _ in range(300):
        out = draws.draw(stratum, weight, take_all, n_strata, 0.1, 2, rng)
        est = hajek_share(y[out.selected], out.pi[out.selected], stratum[out.selected])
        assert est is not None
        ests.append(est.share)
    assert abs(float(np.mean(ests)) - float(y.mean())) < 0.01


def test_edges() -> None:
    """No units: no estimate; a census: no sampling error; no serious finding: the interval is not [0, 0]."""
    assert hajek_share(np.array([]), np.array([]), np.array([], dtype=np.int64)) is None
    census = hajek_share(np.array([1.0, 0.0]), np.array([1.0, 1.0]), np.array([0, 0]))
    assert census is not None and census.share == 0.5 and census.low == census.high == 0.5
    none = hajek_share(np.zeros(40), np.full(40, 0.1), np.zeros(40, dtype=np.int64))
    assert none is not None and none.share == 0.0 and none.low == 0.0 and 0.0 < none.high < 0.15
    lo, hi = wilson(0.5, 100)
    assert 0.39 < lo < 0.41 and 0.59 < hi < 0.61


def test_nonresponse_scales_weights_within_stratum() -> None:
    """Two of four drawn answered: their weights double, so the stratum's estimated size is kept."""
    pi = np.full(4, 0.25)
    adjusted = adjust_for_nonresponse(pi, np.array([True, True, False, False]), np.zeros(4, dtype=np.int64))
    assert np.allclose(1 / adjusted[:2], 8.0)
