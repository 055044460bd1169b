"""Verification of a round's draw: by supervisors in scope, and the public check after reveal."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, select

from contracts.rounds import Commitment
from models.round import InspectionRound, RoundSample, RoundSnapshot, RoundStatus, RoundType
from services import access, audit, draws
from services.context import Actor
from services.errors import Conflict, NotFound
from services.rounds import commitment_of, register_rows


@dataclass
class Check:
    """One verification step."""

    name: str
    ok: bool
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class VerifyReport:
    """Whether the stored sample is exactly what the committed inputs produce, and what differs if not."""

    round_id: uuid.UUID
    ok: bool
    draw_reproduced: bool
    checks: list[Check]

    def failures(self) -> list[Check]:
        """The checks that failed."""
        return [c for c in self.checks if not c.ok]

    def public(self) -> VerifyReport:
        """The same report without household identifiers (counts and field names only)."""
        checks = []
        for c in self.checks:
            detail = {
                k: v for k, v in c.detail.items() if k in ("counts", "fields", "params", "expected", "actual")
            }
            if c.name == "register" and "changed" in c.detail:
                detail["fields"] = sorted({f for fs in c.detail["changed"].values() for f in fs})
            checks.append(Check(c.name, c.ok, detail))
        return VerifyReport(self.round_id, self.ok, self.draw_reproduced, checks)


def verify(session: Session, r: InspectionRound, compare_register: bool = True) -> VerifyReport:
    """Recomputes the draw from the stored snapshot, parameters and both inputs, and compares everything."""
    snap = session.get(RoundSnapshot, r.id)
    if snap is None or r.derived_seed is None or r.secret_seed is None:
        raise Conflict("round_bad_status", status=r.status.value, action="verify")
    checks: list[Check] = []
    checks.append(
        Check(
            "seed_commitment",
            draws.seed_hash(r.secret_seed) == r.seed_hash,
            {"expected": r.seed_hash, "actual": draws.seed_hash(r.secret_seed)},
        )
    )
    doc = draws.unpack_snapshot(snap.data)
    actual_snap = draws.snapshot_hash(doc)
    checks.append(
        Check(
            "snapshot", actual_snap == r.snapshot_hash, {"expected": r.snapshot_hash, "actual": actual_snap}
        )
    )
    params = dict(r.params)
    actual_params = draws.params_hash(params)
    changed_params = draws.diff_params(snap.params, params)
    checks.append(
        Check(
            "params",
            actual_params == r.params_hash and not changed_params,
            {"expected": r.params_hash, "actual": actual_params, "params": changed_params},
        )
    )
    derived = draws.derive_seed(
        r.secret_seed,
        r.witness_input or "",
        actual_snap,
        actual_params,
        r.algorithm_version or draws.ALGORITHM_VERSION,
    )
    checks.append(
        Check("derived_seed", derived == r.derived_seed, {"expected": r.derived_seed, "actual": derived})
    )
    stored = {
        str(s.household_id): s
        for s in session.exec(select(RoundSample).where(RoundSample.round_id == r.id)).all()
    }
    again = draws.recompute(doc, params, derived).rows
    regs = {row["id"]: row["register_no"] for row in doc["households"]}
    missing = sorted(regs.get(h, h) for h in stored.keys() - again.keys())
    extra = sorted(regs.get(h, h) for h in again.keys() - stored.keys())
    pi_diff = sorted(
        regs.get(h, h)
        for h in stored.keys() & again.keys()
        if abs(stored[h].inclusion_prob - again[h][1]) > 1e-9
    )
    checks.append(
        Check(
            "sample",
            not (missing or extra or pi_diff),
            {
                "not_reproduced": missing,
                "unexpected": extra,
                "probability_differs": pi_diff,
                "counts": {"stored": len(stored), "recomputed": len(again)},
            },
        )
    )
    draw_ok = all(c.ok for c in checks)
    if compare_register:
        excluded = {e["id"] for e in doc.get("excluded", [])}
        now_rows = [row for row in register_rows(session, r, snap.params) if row["id"] not in excluded]
        diff = draws.diff_snapshots(doc, draws.snapshot_document(now_rows, doc.get("excluded", [])))
        checks.append(Check("register", diff.empty, diff.as_dict()))
    return VerifyReport(r.id, all(c.ok for c in checks), draw_ok, checks)


def verify_round(
    session: Session, actor: Actor, round_id: uuid.UUID, compare_register: bool = True
) -> VerifyReport:
    """Verification by a supervisor in scope (any time after the draw; the secret stays unpublished)."""
    r = access.round_for_actor(session, actor, round_id, "verify")
    report = verify(session, r, compare_register)
    audit.record(
        session,
        actor,
        "round.verify",
        "round",
        r.id,
        ok=report.ok,
        failed=[c.name for c in report.failures()],
    )
    return report


@dataclass
class PublicVerification:
    """What anyone may see about a round's draw: commitment, the revealed seed, the verification."""

    round_id: uuid.UUID
    name: str
    type: RoundType
    status: RoundStatus
    frame_size: int
    sample_size: int
    commitment: Commitment
    revealed: bool
    verification: VerifyReport | None
    message: str


def public_verification(
    session: Session, round_id: uuid.UUID, compare_register: bool = True
) -> PublicVerification:
    """The public check: before reveal only the commitment; after it, the full verification (no names)."""
    r = session.get(InspectionRound, round_id)
    if r is None or r.committed_at is None:
        raise NotFound(entity="round")
    revealed = r.revealed_at is not None
    report = verify(session, r, compare_register).public() if revealed else None
    audit.record(
        session,
        "public",
        "round.verify.public",
        "round",
        r.id,
        revealed=revealed,
        ok=None if report is None else report.ok,
    )
    message = (
        "not_revealed" if not revealed else ("verified" if report and report.ok else "verification_failed")
    )
    return PublicVerification(
        r.id,
        r.name,
        r.type,
        r.status,
        r.frame_size,
        r.sample_size,
        commitment_of(r, revealed),
        revealed,
        report,
        message,
    )
