"""Benchmark the draw and the assignment: prints one JSON line.

* draw: 1,000,000 synthetic households in 300 strata (township × tier), risk weights 1–6, 1 % take-all,
  ratio 10 %, min 2 per stratum — the vectorised core (`services.draws.draw`), median of 3 runs;
  peak memory of one run by tracemalloc (numpy reports its buffers to it).
* baseline: the draw written the obvious way in Python — group units per stratum in a loop, then per
  stratum n_h times `random.choices(members, weights)` and remove the pick (weighted sampling without
  replacement). Also reported: a tuned pure-Python loop (`baseline_fast`: cumulative weights once per
  stratum, bisect, reject repeats), the fastest honest Python we could write, for scale.
  (Both baselines are successive sampling, not the product's exact-π systematic PPS; they are
  speed references for "a per-stratum Python loop", not the same design.)
* assignment: 5,000 drawn households in 30 townships × 12 villages to 100 inspectors (50 teams of 2),
  each inspector with 5 declared relatives, 5 % of households with a previous-round inspector
  (`services.assignments.form_teams` + `plan`, routes and geodesic legs included).
"""

from __future__ import annotations

import json
import platform
import random
import statistics
import sys
import time
import tracemalloc
from bisect import bisect_left
from itertools import accumulate
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services import assignments, draws

N, STRATA, RATIO, MINIMUM = 1_000_000, 300, 0.1, 2


def population(seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stratum index, risk weight and take-all flag of N households."""
    rng = np.random.default_rng(seed)
    stratum = rng.integers(0, STRATA, N)
    weight = 1.0 + rng.integers(0, 3, N) + 2.0 * (rng.random(N) < 0.05) + (rng.random(N) < 0.1)
    take_all = rng.random(N) < 0.01
    return stratum, weight, take_all


def vectorised(stratum: np.ndarray, weight: np.ndarray, take_all: np.ndarray) -> int:
    """The product's draw."""
    out = draws.draw(stratum, weight, take_all, STRATA, RATIO, MINIMUM, draws.rng_for("5e" * 32))
    return int(out.selected.sum())


def _groups(stratum: list[int], take_all: list[bool]) -> tuple[dict[int, list[int]], int]:
    groups: dict[int, list[int]] = {}
    certain = 0
    for i in range(len(stratum)):
        if take_all[i]:
            certain += 1
        else:
            groups.setdefault(stratum[i], []).append(i)
    return groups, certain


def _size(n_units: int) -> int:
    return min(n_units, max(MINIMUM, -(-n_units * 10 // 100)))


def baseline(stratum: list[int], weight: list[float], take_all: list[bool]) -> int:
    """Per stratum, n times `random.choices(members, weights)` and remove the pick (the obvious loop)."""
    rng = random.Random(7)
    groups, chosen = _groups(stratum, take_all)
    for members in groups.values():
        pool = list(members)
        ws = [weight[i] for i in pool]
        for _ in range(_size(len(members))):
            k = rng.choices(range(len(pool)), weights=ws)[0]
            pool.pop(k)
            ws.pop(k)
            chosen += 1
    return chosen


def baseline_fast(stratum: list[int], weight: list[float], take_all: list[bool]) -> int:
    """A tuned pure-Python loop: cumulative weights once per stratum, bisect, reject repeats."""
    rng = random.Random(7)
    groups, chosen = _groups(stratum, take_all)
    for members in groups.values():
        n = _size(len(members))
        cum = list(accumulate(weight[i] for i in members))
        total = cum[-1]
        picked: set[int] = set()
        while len(picked) < n:
            k = bisect_left(cum, rng.random() * total)  # what random.choices(cum_weights=...) does
            picked.add(members[min(k, len(members) - 1)])
        chosen += len(picked)
    return chosen


def assignment_population(
    seed: int = 3,
) -> tuple[list[assignments.HouseholdFacts], list[assignments.InspectorFacts]]:
    """5,000 drawn households and 100 inspectors with home townships and declared relatives."""
    rng = random.Random(seed)
    towns = [f"150422{100 + t:03d}" for t in range(30)]
    insp = [
        assignments.InspectorFacts(
            f"u{i:03d}", rng.choice(towns), frozenset(f"id{rng.randrange(20_000)}" for _ in range(5))
        )
        for i in range(100)
    ]
    hh = []
    for j in range(5000):
        t = rng.randrange(30)
        v = rng.randrange(12)
        lat = 43.5 + t * 0.03 + v * 0.004 + rng.random() * 0.01
        lon = 119.0 + t * 0.02 + v * 0.003 + rng.random() * 0.01
        prev = frozenset({insp[rng.randrange(100)].id}) if rng.random() < 0.05 else frozenset()
        hh.append(
            assignments.HouseholdFacts(
                f"h{j:05d}",
                towns[t],
                f"{towns[t]}{200 + v:03d}",
                lat,
                lon,
                frozenset({f"id{rng.randrange(20_000)}", f"id{rng.randrange(20_000)}"}),
                prev,
            )
        )
    return hh, insp


def main() -> None:
    """Runs everything and prints one JSON line."""
    stratum, weight, take_all = population()
    times = []
    sample = 0
    for _ in range(3):
        t0 = time.perf_counter()
        sample = vectorised(stratum, weight, take_all)
        times.append(time.perf_counter() - t0)
    draw_s = statistics.median(times)
    tracemalloc.start()
    vectorised(stratum, weight, take_all)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    s_list, w_list, t_list = stratum.tolist(), weight.tolist(), take_all.tolist()
    t0 = time.perf_counter()
    base_sample = baseline(s_list, w_list, t_list)
    baseline_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    baseline_fast(s_list, w_list, t_list)
    fast_s = time.perf_counter() - t0

    hh, insp = assignment_population()
    t0 = time.perf_counter()
    plan = assignments.plan(hh, assignments.form_teams(insp, 2))
    assign_s = time.perf_counter() - t0
    loads = [len(r) for r in plan.routes]

    result = {
        "bench": "draw",
        "households": N,
        "strata": STRATA,
        "sample": sample,
        "draw_s": round(draw_s, 4),
        "draw_peak_mb": round(peak / 2**20, 1),
        "baseline_s": round(baseline_s, 3),
        "baseline_sample": base_sample,
        "speedup": round(baseline_s / draw_s, 1),
        "baseline_fast_s": round(fast_s, 3),
        "speedup_vs_fast": round(fast_s / draw_s, 1),
        "assign_households": len(hh),
        "assign_inspectors": len(insp),
        "assign_s": round(assign_s, 3),
        "assign_unassignable": len(plan.unassignable),
        "assign_load_min_max": [min(loads), max(loads)],
        "targets_met": {
            "draw_le_1s": draw_s <= 1.0,
            "speedup_ge_20": baseline_s / draw_s >= 20,
            "memory_lt_500mb": peak < 500 * 2**20,
            "assign_le_2s": assign_s <= 2.0,
        },
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
