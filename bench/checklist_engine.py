"""Benchmark the checklist engine: per-step latency over a generated 60-step checklist, and full replay.

Prints one JSON line. Per-step latency is what the bot pays per message: `next_step` + `answer`.
"""

from __future__ import annotations

import json
import platform
import statistics
import time
from typing import Any

from checklists import Checklist, answer, findings, next_step, parse_checklist, replay, start

STEPS = 60


def build() -> Checklist:
    """A 60-step checklist, conditions on most steps (all referring back), a finding every few steps."""
    yn = {"zh-CN": "是否", "en": "Yes or no"}
    steps: list[dict[str, Any]] = []
    found: list[dict[str, Any]] = []
    for i in range(STEPS):
        sid = f"s{i}"
        kind = ("yes_no", "number", "choice", "multi_choice", "text")[i % 5]
        step: dict[str, Any] = {"id": sid, "kind": kind, "label": yn}
        if kind in ("choice", "multi_choice"):
            step["choices"] = [{"id": c, "label": {"zh-CN": c, "en": c}} for c in ("a", "b", "c", "d")]
        if kind == "number":
            step["validation"] = {"min": 0, "max": 1000, "constraint": ". >= 0"}
        if i >= 5 and i % 6 != 0:  # conditions on ~80% of steps, each true on the benchmark's answers
            step["when"] = (
                f"${{s{i - 5}}} != 'never'"
                f" and (${{s{i - 1}}} != '' or selected(${{s{(i // 5) * 5 - 2}}}, 'a'))"
                f" and not(${{s{(i // 5) * 5 - 4}}} > 999)"
            )
        steps.append(step)
        if i % 4 == 0:
            found.append(
                {
                    "id": f"f{i}",
                    "when": f"${{s{i}}} = 'no' or ${{s{i}}} = 'b'",
                    "category": "procedure",
                    "severity": "low",
                    "message": {"zh-CN": f"问题 ${{s{i}}}", "en": f"Problem ${{s{i}}}"},
                }
            )
    return parse_checklist(
        {"id": "bench", "version": 1, "title": yn, "steps": steps, "findings": found, "endings": []}
    )


def value_for(kind: str, i: int) -> Any:
    """A valid answer for a generated step."""
    return {"yes_no": "yes", "number": i, "choice": "b", "multi_choice": ["a", "c"], "text": "说明文字"}[kind]


def main() -> None:
    """Run the benchmark and print one JSON line."""
    cl = build()
    per_step: list[int] = []
    full: Any = None
    rounds = 200
    for _ in range(rounds):
        state = start(cl)
        n = 0
        while True:
            t0 = time.perf_counter_ns()
            step = next_step(cl, state)
            if step is None:
                break
            state = answer(cl, state, step.id, value_for(step.kind.value, n))
            per_step.append(time.perf_counter_ns() - t0)
            n += 1
        full = state
    assert full is not None and len(full.answers) == STEPS, len(full.answers)
    stored = [a.model_dump(mode="json") for a in full.answers]
    replays: list[int] = []
    for _ in range(100):
        t0 = time.perf_counter_ns()
        again = replay(cl, stored)
        findings(cl, again)
        replays.append(time.perf_counter_ns() - t0)
    per_step.sort()
    q = statistics.quantiles(per_step, n=100)
    print(
        json.dumps(
            {
                "bench": "checklist_engine",
                "steps": STEPS,
                "conditional_steps": sum(1 for s in cl.steps if s.when),
                "samples": len(per_step),
                "step_p50_us": round(q[49] / 1000, 1),
                "step_p99_us": round(q[98] / 1000, 1),
                "replay_plus_findings_median_ms": round(statistics.median(replays) / 1e6, 3),
                "replay_plus_findings_max_ms": round(max(replays) / 1e6, 3),
                "findings": len(findings(cl, full)),
                "python": platform.python_version(),
            }
        )
    )


if __name__ == "__main__":
    main()
