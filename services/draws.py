"""The verifiable draw: commit–reveal seeds, canonical snapshots, and the vectorised sampling core.

Design (algorithm version `feijian-draw/1`):

* Frame: the households in the committed snapshot, in snapshot order (sorted by household id).
  Strata are (township, tier). Take-all groups (by default registered cadre relatives) are drawn
  with certainty (π = 1) and do not count towards the stratum's sample size.
* Sample size per stratum over the remaining units: n_h = min(N_h, max(min_per_stratum,
  ceil(ratio · N_h))).
* Within a stratum, risk-weighted **randomised systematic PPS**: π_i = n_h · w_i / Σw, and units whose π
  reaches 1 are made certain and n_h is re-spread over the rest, iterated until no π exceeds 1. So the
  first-order inclusion probabilities are known exactly (what the Horvitz–Thompson estimator needs);
  the random order before the systematic pass makes every pair's joint probability positive in
  practice. Everything is one pass of numpy over all strata at once.
* Randomness: `PCG64(SeedSequence(int(derived_seed, 16)))`, using only the bit generator's raw 64-bit
  outputs (fully specified by PCG64 and SeedSequence, so independent of numpy's distribution code):
  first N outputs order the units within strata (ties broken by index, so every machine and sort
  agrees), then one output per stratum gives the systematic start u_h = (raw >> 11) / 2^53.
* Derived seed = SHA-256 over the netstrings (`len:value,`) of secret seed (hex), witness input
  (NFKC, whitespace collapsed), snapshot hash, params hash and algorithm version, in that order.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import secrets
import unicodedata
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

ALGORITHM_VERSION = "feijian-draw/1"
OVERDUE_MONTHS = {"常补": 12, "非常补": 6}
# the same household complained about this many times or more is flagged for attention (003)
REPEAT_COMPLAINTS = 3
SNAPSHOT_FIELDS = (
    "id",
    "register_no",
    "township",
    "village",
    "tier",
    "subsidy",
    "last_review",
    "cadre",
    "amount",
    "size",
    "complaints",
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


# ---- hashing and seeds --------------------------------------------------------------------------


def canonical_json(value: Any) -> bytes:
    """Sorted-key, compact, UTF-8 JSON: the one byte form every hash is taken over."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256 of bytes."""
    return hashlib.sha256(data).hexdigest()


def new_secret() -> str:
    """A fresh 256-bit secret seed (hex)."""
    return secrets.token_hex(32)


def seed_hash(secret_hex: str) -> str:
    """The published commitment to a secret seed: SHA-256 of its 32 bytes."""
    return sha256_hex(bytes.fromhex(secret_hex))


def normalize_witness(text: str) -> str:
    """NFKC, whitespace collapsed: '３ ５  6' and '3 5 6' are the same witness input."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def _netstring(value: str) -> bytes:
    raw = value.encode()
    return f"{len(raw)}:".encode() + raw + b","


def derive_seed(secret_hex: str, witness: str, snapshot_hash: str, params_hash: str, version: str) -> str:
    """SHA-256(secret ‖ witness ‖ snapshot hash ‖ params hash ‖ version), each part a netstring."""
    parts = (secret_hex, normalize_witness(witness), snapshot_hash, params_hash, version)
    return sha256_hex(b"".join(_netstring(p) for p in parts))


def rng_for(derived_hex: str) -> np.random.Generator:
    """The draw's generator, fully determined by the derived seed."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(int(derived_hex, 16))))


def params_hash(params: Mapping[str, Any]) -> str:
    """Hash of the committed sampling parameters."""
    return sha256_hex(canonical_json(params))


# ---- snapshots ----------------------------------------------------------------------------------


def snapshot_row(
    household_id: str,
    register_no: str,
    township: str,
    village: str,
    tier: str,
    subsidy: str,
    last_review: date | None,
    cadre: bool,
    amount: Decimal | float | str,
    size: int,
    complaints: int = 0,
) -> dict[str, Any]:
    """One household as the draw reads it (plain JSON values only)."""
    return {
        "id": household_id,
        "register_no": register_no,
        "township": township,
        "village": village,
        "tier": tier,
        "subsidy": subsidy,
        "last_review": last_review.isoformat() if last_review else None,
        "cadre": bool(cadre),
        "amount": str(Decimal(str(amount)).quantize(Decimal("0.01"))),
        "size": int(size),
        "complaints": int(complaints),
    }


def snapshot_document(
    rows: Sequence[Mapping[str, Any]], excluded: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The snapshot: frame rows sorted by id plus the recorded exclusions."""
    return {
        "version": 1,
        "households": sorted(rows, key=lambda r: str(r["id"])),
        "excluded": sorted(excluded, key=lambda r: str(r["id"])),
    }


def snapshot_hash(doc: Mapping[str, Any]) -> str:
    """The published hash of a snapshot document."""
    return sha256_hex(canonical_json(doc))


def pack_snapshot(doc: Mapping[str, Any]) -> bytes:
    """Compressed canonical JSON for storage."""
    return zlib.compress(canonical_json(doc), 6)


def unpack_snapshot(data: bytes) -> dict[str, Any]:
    """The stored snapshot document."""
    doc: dict[str, Any] = json.loads(zlib.decompress(data))
    return doc


@dataclass(frozen=True)
class RegisterDiff:
    """How two snapshots differ: households added, removed, or changed (with the changed fields)."""

    added: list[str]
    removed: list[str]
    changed: dict[str, list[str]]
    exclusions_changed: bool = False

    @property
    def empty(self) -> bool:
        """True when the snapshots hold the same households with the same fields."""
        return not (self.added or self.removed or self.changed or self.exclusions_changed)

    def as_dict(self, limit: int = 50) -> dict[str, Any]:
        """A JSON-friendly summary, naming at most `limit` households per list (by register number)."""
        return {
            "added": self.added[:limit],
            "removed": self.removed[:limit],
            "changed": dict(list(self.changed.items())[:limit]),
            "counts": {"added": len(self.added), "removed": len(self.removed), "changed": len(self.changed)},
            "exclusions_changed": self.exclusions_changed,
        }


def diff_snapshots(old: Mapping[str, Any], new: Mapping[str, Any]) -> RegisterDiff:
    """Names the households added, removed and changed between two snapshot documents."""
    a = {r["id"]: r for r in old.get("households", [])}
    b = {r["id"]: r for r in new.get("households", [])}
    added = sorted(b[k]["register_no"] for k in b.keys() - a.keys())
    removed = sorted(a[k]["register_no"] for k in a.keys() - b.keys())
    changed: dict[str, list[str]] = {}
    for k in sorted(a.keys() & b.keys(), key=lambda k: a[k]["register_no"]):
        fields = [f for f in SNAPSHOT_FIELDS if a[k].get(f) != b[k].get(f)]
        if fields:
            changed[a[k]["register_no"]] = fields
    return RegisterDiff(added, removed, changed, old.get("excluded") != new.get("excluded"))


def diff_params(old: Mapping[str, Any], new: Mapping[str, Any], prefix: str = "") -> list[str]:
    """The dotted names of parameters that differ."""
    out: list[str] = []
    for key in sorted(set(old) | set(new)):
        x, y = old.get(key), new.get(key)
        if isinstance(x, Mapping) and isinstance(y, Mapping):
            out.extend(diff_params(x, y, f"{prefix}{key}."))
        elif x != y:
            out.append(prefix + key)
    return out


# ---- the frame ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Frame:
    """Column arrays of the households the draw may select, in snapshot order."""

    ids: list[str]
    stratum: IntArray
    strata: list[str]
    weight: FloatArray
    take_all: BoolArray
    take_all_reason: list[str | None]


def _add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def review_overdue(subsidy: str, last_review: date | None, as_of: date) -> bool:
    """Whether the review is older than the rule allows (12 months 常补, 6 months 非常补); never = overdue."""
    if last_review is None:
        return True
    return _add_months(last_review, OVERDUE_MONTHS.get(subsidy, 12)) < as_of


def group_median(group: IntArray, values: FloatArray, n_groups: int) -> FloatArray:
    """The median of values within each group (vectorised; empty groups give 0)."""
    if values.size == 0:
        return np.zeros(n_groups)
    order = np.lexsort((values, group))
    counts = np.bincount(group, minlength=n_groups)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    sorted_vals = values[order]
    out = np.zeros(n_groups)
    has = counts > 0
    lo = starts[has] + (counts[has] - 1) // 2
    hi = starts[has] + counts[has] // 2
    out[has] = (sorted_vals[lo] + sorted_vals[hi]) / 2
    return out


def build_frame(doc: Mapping[str, Any], params: Mapping[str, Any], as_of: date) -> Frame:
    """Turns a snapshot and the sampling parameters into strata, risk weights and take-all flags."""
    rows = doc["households"]
    n = len(rows)
    keys = [f"{r['township']}|{r['tier']}" for r in rows]
    strata = sorted(set(keys))
    index = {k: i for i, k in enumerate(strata)}
    stratum = np.fromiter((index[k] for k in keys), dtype=np.int64, count=n)
    cadre = np.fromiter((bool(r["cadre"]) for r in rows), dtype=np.bool_, count=n)
    complaints = np.fromiter((int(r.get("complaints", 0)) for r in rows), dtype=np.int64, count=n)
    overdue = np.fromiter(
        (
            review_overdue(
                r["subsidy"], date.fromisoformat(r["last_review"]) if r["last_review"] else None, as_of
            )
            for r in rows
        ),
        dtype=np.bool_,
        count=n,
    )
    per_capita = np.fromiter(
        (float(r["amount"]) / max(int(r["size"]), 1) for r in rows), dtype=np.float64, count=n
    )
    risk = params.get("risk", {})
    factor = float(params.get("high_amount_factor", 1.5))
    high = per_capita > factor * group_median(stratum, per_capita, len(strata))[stratum]
    weight = risk_weights(cadre, overdue, complaints, high, risk)
    groups = set(params.get("take_all", ["cadre_relative"]))
    take_all = np.zeros(n, dtype=np.bool_)
    reasons: list[str | None] = [None] * n
    if "repeat_complaints" in groups:
        rc = complaints >= REPEAT_COMPLAINTS
        take_all |= rc
        for i in np.flatnonzero(rc):
            reasons[i] = "repeat_complaints"
    if "cadre_relative" in groups:
        take_all |= cadre
        for i in np.flatnonzero(cadre):
            reasons[i] = "cadre_relative"
    return Frame([str(r["id"]) for r in rows], stratum, strata, weight, take_all, reasons)


def risk_weights(
    cadre: BoolArray,
    overdue: BoolArray,
    complaints: IntArray,
    high_amount: BoolArray,
    risk: Mapping[str, Any],
) -> FloatArray:
    """w = 1 + a·cadre + b·overdue + c·min(complaints, cap) + d·high_amount (always ≥ 1)."""
    cap = int(risk.get("complaint_cap", 3))
    return (
        1.0
        + float(risk.get("cadre_relative", 2.0)) * cadre
        + float(risk.get("review_overdue", 1.0)) * overdue
        + float(risk.get("complaint", 0.5)) * np.minimum(complaints, cap)
        + float(risk.get("high_amount", 1.0)) * high_amount
    )


# ---- the sampling core (pure numpy) -------------------------------------------------------------


def stratum_sample_sizes(counts: IntArray, ratio: float, minimum: int) -> IntArray:
    """n_h = min(N_h, max(minimum, ceil(ratio·N_h))) (a tiny epsilon keeps 0.1·30 at 3, not 4)."""
    wanted = np.ceil(ratio * counts - 1e-9).astype(np.int64)
    sizes: IntArray = np.minimum(counts, np.maximum(minimum, wanted))
    return sizes


def inclusion_probabilities(
    stratum: IntArray, weight: FloatArray, n_h: IntArray, n_strata: int, max_iter: int = 100
) -> FloatArray:
    """π_i = n_h·w_i/Σw within each stratum, capped at 1 with the excess re-spread (iterated)."""
    certain = np.zeros(stratum.shape[0], dtype=np.bool_)
    pi = np.zeros(stratum.shape[0])
    for _ in range(max_iter):
        w_eff = np.where(certain, 0.0, weight)
        total = np.bincount(stratum, weights=w_eff, minlength=n_strata)
        remaining = n_h - np.bincount(stratum, weights=certain, minlength=n_strata).astype(np.int64)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(total > 0, remaining / total, 0.0)
        pi = np.where(certain, 1.0, weight * scale[stratum])
        newly = (pi >= 1.0 - 1e-12) & ~certain
        if not newly.any():
            break
        certain |= newly
    return np.minimum(pi, 1.0)


def uniform01(raw: npt.NDArray[np.uint64]) -> FloatArray:
    """Maps raw 64-bit outputs to [0, 1) with 53-bit resolution (as numpy's own `random` does)."""
    return (raw >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def random_order(stratum: IntArray, n_strata: int, rng: np.random.Generator) -> IntArray:
    """Units grouped by stratum, in random order within each; ties impossible, so any machine agrees."""
    n = stratum.shape[0]
    raw = rng.bit_generator.random_raw(n)
    bits = np.uint64(max(1, (n - 1).bit_length()))
    keys = ((raw >> bits) << bits) | np.arange(n, dtype=np.uint64)  # unique: low bits are the index
    by_key = np.argsort(keys)
    small = stratum[by_key].astype(np.int16 if n_strata < 32768 else np.int64)
    order: IntArray = by_key[np.argsort(small, kind="stable")]
    return order


def systematic_pps(stratum: IntArray, pi: FloatArray, n_strata: int, rng: np.random.Generator) -> BoolArray:
    """Randomised systematic PPS in every stratum at once: exactly Σπ_h units, unit i with probability π_i."""
    n = stratum.shape[0]
    order = random_order(stratum, n_strata, rng)
    starts = uniform01(rng.bit_generator.random_raw(n_strata))
    s_sorted = stratum[order]
    p_sorted = pi[order]
    cum = np.cumsum(p_sorted)
    counts = np.bincount(s_sorted, minlength=n_strata)
    ends = np.cumsum(counts)
    begin = ends - counts
    base = np.where(begin > 0, cum[np.maximum(begin - 1, 0)], 0.0)
    totals = np.where(counts > 0, cum[np.maximum(ends - 1, 0)] - base, 0.0)
    target = np.round(totals)
    with np.errstate(divide="ignore", invalid="ignore"):
        fix = np.where(totals > 0, target / totals, 0.0)  # removes float drift so each stratum sums exactly
    upper = (cum - base[s_sorted]) * fix[s_sorted]
    lower = upper - p_sorted * fix[s_sorted]
    u = starts[s_sorted]
    hit = np.floor(upper - u) > np.floor(lower - u)
    selected = np.zeros(n, dtype=np.bool_)
    selected[order] = hit
    return selected


@dataclass(frozen=True)
class DrawOutcome:
    """Selection and first-order inclusion probability of every frame unit."""

    selected: BoolArray
    pi: FloatArray
    n_h: IntArray


def draw(
    stratum: IntArray,
    weight: FloatArray,
    take_all: BoolArray,
    n_strata: int,
    ratio: float,
    minimum: int,
    rng: np.random.Generator,
) -> DrawOutcome:
    """The whole draw: take-all units with certainty, PPS-systematic in each stratum for the rest."""
    pool = ~take_all
    counts = np.bincount(stratum[pool], minlength=n_strata).astype(np.int64)
    n_h = stratum_sample_sizes(counts, ratio, minimum)
    w = np.where(pool, weight, 0.0)
    pi = inclusion_probabilities(stratum, w, n_h, n_strata)
    pi = np.where(take_all, 1.0, pi)
    pool_pi = np.where(pool, pi, 0.0)
    selected = systematic_pps(stratum, pool_pi, n_strata, rng) | take_all
    return DrawOutcome(selected, pi, n_h)


def draw_frame(frame: Frame, params: Mapping[str, Any], derived_hex: str) -> DrawOutcome:
    """Runs the draw on a frame with the committed parameters and the derived seed."""
    return draw(
        frame.stratum,
        frame.weight,
        frame.take_all,
        len(frame.strata),
        float(params.get("sample_ratio", 0.1)),
        int(params.get("min_per_stratum", 2)),
        rng_for(derived_hex),
    )


@dataclass(frozen=True)
class Recomputed:
    """A draw recomputed from a snapshot: per selected household id, (stratum, π, risk weight, reason)."""

    rows: dict[str, tuple[str, float, float, bool, str]]


def recompute(doc: Mapping[str, Any], params: Mapping[str, Any], derived_hex: str) -> Recomputed:
    """Runs the versioned draw on a snapshot (what both the draw and `verify` call)."""
    frame = build_frame(doc, params, date.fromisoformat(params["as_of"]))
    outcome = draw_frame(frame, params, derived_hex)
    rows: dict[str, tuple[str, float, float, bool, str]] = {}
    for i in np.flatnonzero(outcome.selected):
        ta = bool(frame.take_all[i])
        rows[frame.ids[i]] = (
            frame.strata[frame.stratum[i]],
            float(outcome.pi[i]),
            float(frame.weight[i]),
            ta,
            (frame.take_all_reason[i] or "take_all") if ta else "pps",
        )
    return Recomputed(rows)
