"""Read-only figures for the supervisor console: dashboard counts and keyset pages, scoped by region.

Every query here is bounded (grouped counts or one page), so a large register or audit log is never
loaded whole. Scope follows `Actor.sees`: admins see everything, a supervisor the subtree of his scope.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, or_, select

from models.audit import AuditEvent
from models.household import Household
from models.round import InspectionRound, RoundSample
from models.user import Role, User
from models.visit import Finding, Visit, VisitStatus
from services import audit
from services.context import Actor
from services.ledger_queries import subtree
from services.pii import mask_name
from services.rounds import required_share

ACTIVE = ("draft", "committed", "drawn", "assigned", "dispatched", "in_field")
MAX_PAGE = 200


def _scoped(q: Any, actor: Actor) -> Any:
    """Limits a query joined to Household to the actor's region."""
    if actor.role != Role.admin and actor.scope_code:
        q = q.where(col(Household.village_code).startswith(actor.scope_code))
    return q


@dataclass(frozen=True)
class TownshipCoverage:
    """How many drawn households a round has in one township."""

    township_code: str
    drawn: int


@dataclass(frozen=True)
class RoundCoverage:
    """A round's township coverage against the share its type requires."""

    round_id: uuid.UUID
    name: str
    status: str
    required: float
    townships_in_scope: int
    townships_covered: int
    share: float
    per_township: list[TownshipCoverage]

    @property
    def ok(self) -> bool:
        """Whether the covered share reaches the required one."""
        return self.townships_in_scope > 0 and self.share + 1e-9 >= self.required


def rounds_in_progress(session: Session, actor: Actor) -> list[InspectionRound]:
    """Rounds in scope that are not closed, newest first (at most a page)."""
    actor.require(Role.supervisor)
    q = select(InspectionRound).where(col(InspectionRound.status).in_(ACTIVE))
    if actor.role != Role.admin and actor.scope_code:
        q = q.where(col(InspectionRound.scope_code).startswith(actor.scope_code))
    return list(session.exec(q.order_by(col(InspectionRound.created_at).desc()).limit(MAX_PAGE)).all())


COVERAGE_TTL_S = 600.0
_coverage_cache: dict[tuple[uuid.UUID, datetime | None, str], tuple[float, RoundCoverage]] = {}


def round_coverage(session: Session, r: InspectionRound) -> RoundCoverage:
    """Drawn households per township of a round, and the share of the scope's townships covered.

    A drawn sample does not change, and counting the scope's townships reads the whole register of a
    wide scope (seconds at a million households), so a result is kept for ten minutes per process.
    """
    key = (r.id, r.drawn_at, r.status.value)
    now = time.monotonic()
    hit = _coverage_cache.get(key)
    if hit is not None and now - hit[0] < COVERAGE_TTL_S:
        return replace(hit[1], name=r.name)
    cov = _round_coverage(session, r)
    if r.drawn_at is not None:
        if len(_coverage_cache) > 1000:
            _coverage_cache.clear()
        _coverage_cache[key] = (now, cov)
    return cov


def _round_coverage(session: Session, r: InspectionRound) -> RoundCoverage:
    towns = session.exec(
        select(func.count(func.distinct(Household.township_code))).where(
            col(Household.village_code).startswith(r.scope_code)
        )
    ).one()
    rows = session.exec(
        select(Household.township_code, func.count())
        .select_from(RoundSample)
        .join(Household, col(Household.id) == col(RoundSample.household_id))
        .where(RoundSample.round_id == r.id)
        .group_by(Household.township_code)
        .order_by(Household.township_code)
    ).all()
    per = [TownshipCoverage(str(code), int(n)) for code, n in rows]
    total = int(towns or 0)
    share = len(per) / total if total else 0.0
    required = r.coverage_target or required_share(r.type)
    return RoundCoverage(r.id, r.name, r.status.value, required, total, len(per), share, per)


def visits_per_day(
    session: Session, actor: Actor, days: int = 30, today: date | None = None
) -> list[tuple[str, int]]:
    """Visits started per UTC day over the last `days` days in scope (days without visits count 0)."""
    actor.require(Role.supervisor)
    today = today or datetime.now(UTC).date()
    since = datetime.combine(today - timedelta(days=days - 1), datetime.min.time(), tzinfo=UTC)
    day = func.date(Visit.started_at)
    # the visit's own village code carries the scope: no join to the (large) register
    q = select(day, func.count()).select_from(Visit).where(col(Visit.started_at) >= since)
    if actor.role != Role.admin and actor.scope_code:
        q = q.where(subtree(col(Visit.village_code), actor.scope_code))
    counts = {str(d)[:10]: int(n) for d, n in session.exec(q.group_by(day)).all()}
    out = []
    for i in range(days):
        d = (today - timedelta(days=days - 1 - i)).isoformat()
        out.append((d, counts.get(d, 0)))
    return out


def findings_by_category(session: Session, actor: Actor) -> list[tuple[str, int]]:
    """Findings in scope counted per category, most frequent first."""
    actor.require(Role.supervisor)
    q = select(col(Finding.category), func.count()).select_from(Finding)
    if actor.role != Role.admin and actor.scope_code:
        q = q.where(subtree(col(Finding.village_code), actor.scope_code))
    rows = [
        (getattr(c, "value", str(c)), int(n))
        for c, n in session.exec(q.group_by(col(Finding.category))).all()
    ]
    return sorted(rows, key=lambda r: (-r[1], r[0]))


@dataclass(frozen=True)
class VisitRow:
    """One line of the visit list."""

    id: uuid.UUID
    register_no: str
    village_code: str
    status: str
    outcome: str | None
    started_at: datetime
    flags: list[str]


def visit_page(
    session: Session,
    actor: Actor,
    before: datetime | None = None,
    limit: int = 50,
    inspector_id: uuid.UUID | None = None,
) -> tuple[list[VisitRow], datetime | None]:
    """A page of visits in scope, newest first, keyset on the start time; and the next key."""
    actor.require(Role.supervisor)
    limit = max(1, min(limit, MAX_PAGE))
    q = select(Visit, Household).join(Household, col(Household.id) == col(Visit.household_id))
    if before is not None:
        q = q.where(col(Visit.started_at) < before)
    if inspector_id is not None:
        q = q.where(Visit.inspector_id == inspector_id)
    q = _scoped(q, actor).order_by(col(Visit.started_at).desc()).limit(limit + 1)
    rows = session.exec(q).all()
    page = [
        VisitRow(
            v.id,
            h.register_no,
            h.village_code,
            v.status.value,
            v.outcome.value if v.outcome else None,
            v.started_at,
            sorted({str(f.get("code") or f.get("kind") or "") for f in v.flags} - {""}),
        )
        for v, h in rows[:limit]
    ]
    nxt = rows[limit - 1][0].started_at if len(rows) > limit else None
    audit.record(session, actor, "visit.list", "visit", None, count=len(page))
    return page, nxt


def audit_page(
    session: Session, actor: Actor, before_seq: int | None = None, limit: int = 50
) -> tuple[list[AuditEvent], int | None]:
    """A page of the audit log, newest first, keyset on the sequence number; and the next key."""
    actor.require(Role.supervisor)
    limit = max(1, min(limit, MAX_PAGE))
    q = select(AuditEvent).order_by(col(AuditEvent.seq).desc()).limit(limit + 1)
    if before_seq is not None:
        q = q.where(col(AuditEvent.seq) < before_seq)
    rows = list(session.exec(q).all())
    nxt = rows[limit - 1].seq if len(rows) > limit else None
    return rows[:limit], nxt


@dataclass(frozen=True)
class VisitReview:
    """What the console shows of one visit: the API view, its household, photos and map points."""

    visit: Any  # contracts.visits.VisitPublic
    register_no: str
    head_name_masked: str
    evidence: list[Any]  # contracts.evidence.EvidencePublic
    map: dict[str, Any]
    timeline: list[tuple[str, float]]
    review: str | None = None  # the supervisor's review: accepted, sent_back (for a revisit)
    review_reason: str | None = None


def visit_map(visit: Visit, household: Household | None, radius_m: float) -> dict[str, Any]:
    """Check-in, live track and geofence in WGS-84 (the household's datum converted) for the map."""
    from media.geo import to_wgs84

    fence = None
    if household is not None and household.lat is not None and household.lon is not None:
        lat, lon = to_wgs84(household.lat, household.lon, household.datum)
        fence = {"lat": lat, "lon": lon, "radius_m": radius_m}
    track = [
        {"lat": float(p["lat"]), "lon": float(p["lon"]), "t": str(p.get("at", ""))[11:19]}
        for p in visit.track
        if "lat" in p and "lon" in p and not p.get("rejected")
    ]
    c = visit.checkin or {}
    checkin = {"lat": float(c["lat"]), "lon": float(c["lon"])} if "lat" in c and "lon" in c else None
    return {"fence": fence, "track": track, "checkin": checkin}


def visit_review(session: Session, actor: Actor, visit_id: uuid.UUID, radius_m: float) -> VisitReview:
    """One visit for review (scope-checked and audited by the visits service), with its photos."""
    from models.evidence import Evidence
    from services import access, evidence, visits

    actor.require(Role.supervisor)
    public = visits.get_visit(session, actor, visit_id)
    raw = access.visit_for_actor(session, actor, visit_id, write=False)
    household = session.get(Household, raw.household_id)
    photos = session.exec(
        select(Evidence)
        .where(Evidence.visit_id == raw.id)
        .order_by(col(Evidence.received_at))
        .limit(MAX_PAGE)
    ).all()
    return VisitReview(
        visit=public,
        register_no=household.register_no if household else "",
        head_name_masked=(mask_name(household.head_name) or "") if household else "",
        evidence=[evidence.to_public(e, actor.lang) for e in photos],
        map=visit_map(raw, household, _radius(radius_m)),
        timeline=[(str(k), float(v)) for k, v in raw.step_seconds.items()],
        review=raw.review.value if raw.review else None,
        review_reason=raw.review_reason,
    )


def _radius(radius_m: float) -> float:
    return radius_m if radius_m > 0 else 150.0


def verify_audit_chain(session: Session, actor: Actor) -> audit.ChainReport:
    """Walks the audit chain in batches (supervisors and admins); the check itself is audited."""
    actor.require(Role.supervisor)
    report = audit.verify_chain(session)
    audit.record(session, actor, "audit.verify", "audit_event", None, count=report.count, ok=report.ok)
    return report


QUALITY_DAYS = 90


@dataclass(frozen=True)
class InspectorQuality:
    """One inspector's figures over the window, with the county's pass rate to compare against."""

    inspector_id: uuid.UUID
    login: str
    name: str
    visits: int
    median_step_s: float | None
    rushed_share: float
    photos: int
    photos_flagged_share: float
    repeated_coords: int
    pass_rate: float
    pass_rate_outlier: bool


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    s = sorted(values)
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2


def _median_steps(session: Session, window: list[Any]) -> dict[uuid.UUID, float | None]:
    """Median step time per inspector: the median over the window's visits of each visit's median
    step time (kept on the visit). percentile_cont on PostgreSQL; on SQLite the values are read per
    inspector and the median taken here (SQLite has no ordered-set aggregates)."""
    inspector, med = col(Visit.inspector_id), col(Visit.step_median_s)
    window = [*window, med.is_not(None)]
    if session.get_bind().dialect.name == "postgresql":
        rows = session.exec(
            select(inspector, func.percentile_cont(0.5).within_group(med)).where(*window).group_by(inspector)
        ).all()
        return {uid: float(m) if m is not None else None for uid, m in rows}
    values: dict[uuid.UUID, list[float]] = {}
    for uid, value in session.exec(select(inspector, med).where(*window)).all():
        if value is not None:
            values.setdefault(uid, []).append(float(value))
    return {uid: _median(vs) for uid, vs in values.items()}


def inspector_quality(
    session: Session, actor: Actor, days: int = QUALITY_DAYS, now: datetime | None = None
) -> tuple[list[InspectorQuality], float]:
    """Per inspector in scope: visits, median step time, shares rushed and photos flagged, check-in
    points repeated across households, and the pass rate (no finding) against the county's.

    Counted in SQL, grouped by inspector (a few small result sets however many visits the window
    holds), over the summaries each visit keeps (check-in cell, rushed, median step time).
    Check-in points are compared on a grid of 1/10,000 degree (about 10 m)."""
    from sqlalchemy import case, text
    from sqlalchemy import select as sa_select

    from models.evidence import Evidence

    actor.require(Role.supervisor)
    since = (now or datetime.now(UTC)) - timedelta(days=days)
    window: list[Any] = [col(Visit.started_at) >= since, col(Visit.status) == VisitStatus.submitted]
    if actor.role != Role.admin and actor.scope_code:
        window.append(subtree(col(Visit.village_code), actor.scope_code))
    if session.get_bind().dialect.name == "postgresql":
        # for this transaction only: groupings of ~10⁵ visits hash in memory instead of sorting on
        # disk; and no JIT (compiling costs more than it saves at this size)
        session.execute(text("SET LOCAL work_mem = '32MB'"))
        session.execute(text("SET LOCAL jit = off"))
    inspector = col(Visit.inspector_id)
    cell = col(Visit.checkin_cell)
    # one pass over the window's visits; hash groupings only (no DISTINCT sorts):
    # per inspector, check-in point and household: visits, rushed ones, ones with a finding;
    # then per point: how many households share it; then per inspector
    with_finding = (
        select(col(Finding.visit_id).label("visit_id"))
        .where(col(Finding.visit_id).is_not(None))
        .group_by(col(Finding.visit_id))
        .subquery()
    )
    per_home = (
        sa_select(
            inspector.label("uid"),
            cell.label("cell"),
            func.count().label("n"),
            func.sum(case((col(Visit.rushed), 1), else_=0)).label("rushed"),
            func.count(with_finding.c.visit_id).label("failed"),
        )
        .select_from(Visit)
        .outerjoin(with_finding, with_finding.c.visit_id == col(Visit.id))
        .where(*window)
        .group_by(inspector, cell, col(Visit.household_id))
        .subquery()
    )
    homes = func.count()
    per_point = (
        sa_select(
            per_home.c.uid,
            func.sum(per_home.c.n).label("n"),
            func.sum(per_home.c.rushed).label("rushed"),
            func.sum(per_home.c.failed).label("failed"),
            case((per_home.c.cell.is_not(None) & (homes > 1), homes), else_=0).label("repeated"),
        )
        .group_by(per_home.c.uid, per_home.c.cell)
        .subquery()
    )
    counts = [
        (uid, int(n), int(r or 0), int(f or 0), int(rep or 0))
        for uid, n, r, f, rep in session.execute(
            sa_select(
                per_point.c.uid,
                func.sum(per_point.c.n),
                func.sum(per_point.c.rushed),
                func.sum(per_point.c.failed),
                func.sum(per_point.c.repeated),
            ).group_by(per_point.c.uid)
        ).all()
    ]
    flagged = case((~col(Evidence.accepted) | col(Evidence.reused), 1), else_=0)
    photos = {
        uid: (int(n), int(bad or 0))
        for uid, n, bad in session.exec(
            select(inspector, func.count(), func.sum(flagged))
            .select_from(Visit)
            .join(Evidence, col(Evidence.visit_id) == col(Visit.id))
            .where(*window)
            .group_by(inspector)
        ).all()
    }
    medians = _median_steps(session, window)
    total = sum(c[1] for c in counts)
    county_pass = 1 - sum(c[3] for c in counts) / total if total else 0.0
    ids = [c[0] for c in counts]
    users = {u.id: u for u in session.exec(select(User).where(col(User.id).in_(ids))).all()} if ids else {}
    out = []
    for uid, n, n_rushed, n_failed, repeated in counts:
        n_photos, n_bad = photos.get(uid, (0, 0))
        passed = (n - n_failed) / n
        # far from the county: beyond two binomial standard errors of the county's rate
        se = (county_pass * (1 - county_pass) / n) ** 0.5
        user = users.get(uid)
        out.append(
            InspectorQuality(
                uid,
                user.login if user else str(uid),
                user.name if user else "",
                n,
                medians.get(uid),
                n_rushed / n,
                n_photos,
                n_bad / n_photos if n_photos else 0.0,
                repeated,
                passed,
                n >= 5 and abs(passed - county_pass) > max(2 * se, 0.05),
            )
        )
    audit.record(session, actor, "inspector_quality.view", "user", None, inspectors=len(out), visits=total)
    return sorted(out, key=lambda q: (-q.rushed_share, q.login)), county_pass


# ---- the ledger and complaint cases on the dashboard ------------------------------------------

AGE_BUCKETS = (7, 30, 90)  # days an unclosed item has been on the ledger: ≤7, 8–30, 31–90, >90
DUE_SOON_DAYS = 3


@dataclass(frozen=True)
class LedgerBoard:
    """Ledger items in scope by state, unclosed ones by age, and how many are overdue."""

    by_state: list[tuple[str, int]]
    ageing: list[tuple[str, int]]
    overdue: int
    total: int


def ledger_board(session: Session, actor: Actor, today: date | None = None) -> LedgerBoard:
    """One grouped query over the items the actor may see (the ledger's own scope rule)."""
    from sqlalchemy import case

    from contracts.ledger import LedgerState
    from models.ledger import LedgerItem
    from services import ledger
    from services.rounds import local_today

    actor.require(Role.supervisor)
    today = today or local_today()
    now = datetime.combine(today, datetime.min.time(), tzinfo=UTC)
    # one pass, grouped by state and age bucket (first matching edge): two CASEs a row, ≤ 20 groups
    created = col(LedgerItem.created_at)
    edges = [(created >= now - timedelta(days=days), i) for i, days in enumerate(AGE_BUCKETS)]
    age = case(*edges, else_=len(AGE_BUCKETS))
    # the item's own village code carries the scope, so no join to the (large) register is needed
    q: Any = select(
        col(LedgerItem.state), age, func.count(), func.sum(case((ledger.overdue_clause(today), 1), else_=0))
    ).select_from(LedgerItem)
    if actor.role == Role.officer and not actor.scope_code:
        q = q.where(LedgerItem.responsible_user_id == actor.id)
    elif actor.role != Role.admin and actor.scope_code:
        q = q.where(
            or_(
                subtree(col(LedgerItem.village_code), actor.scope_code),
                col(LedgerItem.responsible_user_id) == actor.id,
            )
        )
    rows = session.exec(q.group_by(col(LedgerItem.state), age)).all()
    by_state: dict[str, int] = {}
    ages = [0] * (len(AGE_BUCKETS) + 1)
    late = 0
    for state, bucket, n, n_late in rows:
        key = getattr(state, "value", str(state))
        by_state[key] = by_state.get(key, 0) + int(n)
        late += int(n_late or 0)
        if key != LedgerState.closed.value:  # ageing counts the unclosed items only
            ages[int(bucket)] += int(n)
    labels = ["le7", "le30", "le90", "gt90"]
    order = [s.value for s in LedgerState]
    return LedgerBoard(
        by_state=[(s, by_state[s]) for s in order if s in by_state],
        ageing=list(zip(labels, ages, strict=True)),
        overdue=late,
        total=sum(by_state.values()),
    )


@dataclass(frozen=True)
class CaseDeadlines:
    """Complaint cases in scope against their time limits (counts only)."""

    open: int
    due_soon: int
    overdue: int
    by_state: list[tuple[str, int]]


def case_deadlines(session: Session, actor: Actor, today: date | None = None) -> CaseDeadlines:
    """Open cases (not answered or closed), those due within a few days, and those past their limit."""
    from sqlalchemy import case

    from contracts.residents import CaseState
    from models.application import Case
    from services.rounds import local_today

    actor.require(Role.supervisor)
    today = today or local_today()
    pending = col(Case.state).in_(
        [CaseState.received, CaseState.assigned, CaseState.investigating, CaseState.reopened]
    )
    q = select(
        col(Case.state),
        func.count(),
        func.sum(case((pending & (col(Case.due_on) < today), 1), else_=0)),
        func.sum(
            case(
                (
                    pending
                    & (col(Case.due_on) >= today)
                    & (col(Case.due_on) <= today + timedelta(days=DUE_SOON_DAYS)),
                    1,
                ),
                else_=0,
            )
        ),
    )
    if actor.role != Role.admin and actor.scope_code:
        q = q.where(col(Case.village_code).startswith(actor.scope_code))
    rows = session.exec(q.group_by(col(Case.state))).all()
    by_state = {getattr(s, "value", str(s)): int(n) for s, n, _, _ in rows}
    open_states = {
        s.value for s in (CaseState.received, CaseState.assigned, CaseState.investigating, CaseState.reopened)
    }
    return CaseDeadlines(
        open=sum(n for s, n in by_state.items() if s in open_states),
        due_soon=sum(int(soon or 0) for _, _, _, soon in rows),
        overdue=sum(int(late or 0) for _, _, late, _ in rows),
        by_state=[(s.value, by_state[s.value]) for s in CaseState if s.value in by_state],
    )


def responsible_choices(session: Session, actor: Actor, limit: int = 200) -> list[tuple[uuid.UUID, str]]:
    """Active officers and supervisors in the actor's region who may answer for a ledger item."""
    actor.require(Role.supervisor)
    q = select(User).where(col(User.role).in_([Role.officer, Role.supervisor]), col(User.active).is_(True))
    if actor.role != Role.admin and actor.scope_code:
        q = q.where(col(User.scope_code).startswith(actor.scope_code))
    users = session.exec(q.order_by(col(User.login)).limit(limit)).all()
    return [(u.id, f"{u.name} ({u.login})") for u in users]
