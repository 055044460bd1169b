"""The inspector-quality figures as the console first computed them: every visit of the window read
into Python. Kept only to check that the grouped SQL in services.console_stats gives the same figures."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from models.evidence import Evidence
from models.household import Household
from models.user import User
from models.visit import Finding, Visit, VisitStatus, checkin_cell, step_median
from services.console_stats import InspectorQuality
from services.context import Actor


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    s = sorted(values)
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2


def reference_quality(
    session: Session, actor: Actor, days: int = 90, now: datetime | None = None
) -> tuple[list[InspectorQuality], float]:
    since = (now or datetime.now(UTC)) - timedelta(days=days)
    q = (
        select(
            Visit.id, Visit.inspector_id, Visit.household_id, Visit.flags, Visit.step_seconds, Visit.checkin
        )
        .join(Household, col(Household.id) == col(Visit.household_id))
        .where(col(Visit.started_at) >= since, Visit.status == VisitStatus.submitted)
    )
    if actor.scope_code:
        q = q.where(col(Household.village_code).startswith(actor.scope_code))
    rows = session.exec(q).all()
    ids = [r[0] for r in rows]
    photos: dict[uuid.UUID, tuple[int, int]] = {}
    for vid, accepted, reused in session.exec(
        select(Evidence.visit_id, Evidence.accepted, Evidence.reused).where(col(Evidence.visit_id).in_(ids))
    ).all():
        n, bad = photos.get(vid, (0, 0))
        photos[vid] = (n + 1, bad + int((not accepted) or bool(reused)))
    failed = {
        v for v in session.exec(select(Finding.visit_id).where(col(Finding.visit_id).in_(ids))).all() if v
    }
    county_pass = 1 - len(failed) / len(ids) if ids else 0.0
    by: dict[uuid.UUID, list[Any]] = {}
    for r in rows:
        by.setdefault(r[1], []).append(r)
    users = {u.id: u for u in session.exec(select(User).where(col(User.id).in_(list(by)))).all()}
    out = []
    for uid, vs in by.items():
        n = len(vs)
        # the median over the visits of each visit's median step time
        steps = [m for v in vs if (m := step_median(v[4])) is not None]
        rushed = sum(1 for v in vs if any(f.get("code") == "rushed" for f in v[3] or []))
        shots = [photos.get(v[0], (0, 0)) for v in vs]
        n_photos, n_bad = sum(p[0] for p in shots), sum(p[1] for p in shots)
        points: dict[int, set[uuid.UUID]] = {}
        for v in vs:
            cell = checkin_cell(v[5])
            if cell is not None:
                points.setdefault(cell, set()).add(v[2])
        repeated = sum(len(hs) for hs in points.values() if len(hs) > 1)
        passed = sum(1 for v in vs if v[0] not in failed) / n
        se = (county_pass * (1 - county_pass) / n) ** 0.5
        outlier = n >= 5 and abs(passed - county_pass) > max(2 * se, 0.05)
        user = users.get(uid)
        out.append(
            InspectorQuality(
                uid,
                user.login if user else str(uid),
                user.name if user else "",
                n,
                _median(steps),
                rushed / n,
                n_photos,
                n_bad / n_photos if n_photos else 0.0,
                repeated,
                passed,
                outlier,
            )
        )
    return sorted(out, key=lambda q: (-q.rushed_share, q.login)), county_pass
