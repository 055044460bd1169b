"""Benchmark the round estimates: prints one JSON line.

* A simulated county of 200,000 households in 30 townships × 3 tiers, risk weights from the draw's
  rule, a true serious-finding rate tied to the risk (known, so coverage is measured), 1 % take-all.
* Each repetition draws with the product's draw (`services.draws.draw`, ratio 2 %, min 2 per stratum),
  then estimates the county share and every township's share (`services.estimates.hajek_share`).
* Reported: median milliseconds for the 31 estimates of one draw, the county interval's coverage over
  the repetitions and its mean width, and the mean township coverage.
"""

from __future__ import annotations

import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services import draws, estimates

N, TOWNS, TIERS, RATIO, MINIMUM, REPS = 200_000, 30, 3, 0.02, 2, 200


def main() -> None:
    """Runs the repetitions and prints the figures."""
    rng = np.random.default_rng(20261205)
    stratum = rng.integers(0, TOWNS * TIERS, size=N).astype(np.int64)
    town = stratum // TIERS
    cadre = rng.random(N) < 0.01
    overdue = rng.random(N) < 0.3
    complaints = rng.poisson(0.3, size=N).astype(np.int64)
    high = rng.random(N) < 0.1
    weight = draws.risk_weights(cadre, overdue, complaints, high, {})
    p = np.clip(0.03 + 0.01 * (town % 5) + 0.1 * overdue + 0.15 * cadre, 0, 1)
    y = (rng.random(N) < p).astype(np.float64)
    truth = float(y.mean())
    town_truth = np.bincount(town, weights=y, minlength=TOWNS) / np.bincount(town, minlength=TOWNS)
    hits, town_hits, widths, times = 0, 0, [], []
    for _ in range(REPS):
        out = draws.draw(stratum, weight, cadre, TOWNS * TIERS, RATIO, MINIMUM, rng)
        s = out.selected
        t0 = time.perf_counter()
        est = estimates.hajek_share(y[s], out.pi[s], stratum[s])
        per_town = [
            estimates.hajek_share(y[s & (town == k)], out.pi[s & (town == k)], stratum[s & (town == k)])
            for k in range(TOWNS)
        ]
        times.append((time.perf_counter() - t0) * 1000)
        assert est is not None
        hits += est.low <= truth <= est.high
        widths.append(est.high - est.low)
        town_hits += sum(
            1 for k, e in enumerate(per_town) if e is not None and e.low <= town_truth[k] <= e.high
        )
    print(
        json.dumps(
            {
                "bench": "estimates",
                "households": N,
                "strata": TOWNS * TIERS,
                "sample_ratio": RATIO,
                "repetitions": REPS,
                "true_share": round(truth, 4),
                "county_coverage": round(hits / REPS, 3),
                "county_mean_width": round(statistics.mean(widths), 4),
                "township_coverage": round(town_hits / (REPS * TOWNS), 3),
                "median_ms_31_estimates": round(statistics.median(times), 2),
                "python": platform.python_version(),
            }
        )
    )


if __name__ == "__main__":
    main()
