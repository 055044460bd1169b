"""The demo's earlier, finished round and its rectification ledger, in every state.

Two months before today a flying round was drawn over three townships; one team visited a dozen of
the drawn households, found problems and took a photo at each door. The findings were reviewed and
put on the ledger then, so their deadlines have passed: some items are still open (overdue), one is
being fixed, one waits for verification, one was returned, some were closed on the visit's photo
(one of them reopened by a recheck), one waits with money partly recovered, and the 人情保 case went to
discipline inspection.
Each of the three townships has an officer (off1–off3) who is responsible for its items.
"""

from __future__ import annotations

import io
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from PIL import Image
from sqlmodel import Session, col, select

from contracts.ledger import FixIn, FixOutcome, OutcomeChange, VerifyIn
from contracts.rounds import RoundCreate, SamplingParams
from contracts.users import UserCreate
from contracts.vocab import FindingCategory, Outcome, Severity
from models.evidence import Evidence
from models.household import Household
from models.ledger import LedgerItem
from models.round import Assignment, AssignmentStatus, RoundSample, RoundTeam, TeamMember
from models.user import Role, User
from models.visit import Finding, Visit, VisitStatus
from services import evidence, findings_review, ledger, rounds, users
from services.config import Settings
from services.context import Actor

COUNTY = "150422"
VISITS = 12
# (category, severity, message) of the problem each visited household had, in turn
PROBLEMS = [
    (
        FindingCategory.NOT_ELIGIBLE,
        Severity.high,
        "家庭有登记车辆，收入超标",
        "Household owns a car; income above the line",
    ),
    (
        FindingCategory.NOT_NOTICED,
        Severity.low,
        "公示栏未公示该户",
        "The household was not on the notice board",
    ),
    (FindingCategory.PROCEDURE, Severity.medium, "档案缺少入户调查表", "The file lacks the home-visit form"),
    (
        FindingCategory.FAVOUR,
        Severity.high,
        "村干部亲属未备案享受低保",
        "A cadre's relative on dibao, not registered",
    ),
    (
        FindingCategory.PAID_AFTER_DEATH,
        Severity.high,
        "户主已去世仍在领取",
        "Head of household dead but still paid",
    ),
    (FindingCategory.DISSATISFIED, Severity.low, "对发放时间不满意", "Unhappy with the payment date"),
]

# problems whose fix is to take the household off dibao and recover what was overpaid
EXIT_CATEGORIES = frozenset(
    {FindingCategory.NOT_ELIGIBLE, FindingCategory.PAID_AFTER_DEATH, FindingCategory.FAVOUR}
)


@dataclass
class DemoLedger:
    """What the ledger demo created."""

    round_name: str = ""
    items: int = 0
    states: dict[str, int] = field(default_factory=dict)
    officers: list[tuple[str, str, str]] = field(default_factory=list)  # (login, password, township)


def _photo(seed: int) -> bytes:
    rng = random.Random(seed)
    img = Image.new("RGB", (320, 240), (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    for _ in range(30):
        x, y = rng.randrange(300), rng.randrange(220)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        img.paste(colour, (x, y, x + rng.randrange(5, 20), y + rng.randrange(5, 20)))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=80)
    return buf.getvalue()


def _officers(session: Session, townships: list[str]) -> list[tuple[str, str, str]]:
    admin = Actor.system("demo")
    out = []
    for i, town in enumerate(townships, start=1):
        login, password = f"off{i}", f"feijian-off{i}"
        if session.exec(select(User).where(User.login == login)).first() is None:
            users.create_user(
                session,
                admin,
                UserCreate(
                    login=login, name=f"整改责任人{i}", role=Role.officer, password=password, scope_code=town
                ),
            )
        out.append((login, password, town))
    return out


def _visit(
    session: Session, settings: Settings, a: Assignment, team: list[User], day: date, n: int
) -> tuple[Visit, list[Finding]]:
    inspector = team[0]
    started = datetime.combine(day, time(2, 0), tzinfo=UTC) + timedelta(minutes=40 * n)
    v = Visit(
        household_id=a.household_id,
        inspector_id=inspector.id,
        assignment_id=a.id,
        round_id=a.round_id,
        participants=[str(u.id) for u in team],
        started_at=started,
    )
    session.add(v)
    session.flush()
    evidence.add_evidence(session, Actor.of(inspector), settings, v.id, _photo(n), "telegram_document")
    cat, sev, zh, en = PROBLEMS[n % len(PROBLEMS)]
    f = Finding(
        visit_id=v.id,
        household_id=a.household_id,
        round_id=a.round_id,
        rule_id=f"demo_{cat.value}",
        category=cat,
        severity=sev,
        message_zh=zh,
        message_en=en,
        created_at=started,
    )
    session.add(f)
    v.status, v.outcome = VisitStatus.submitted, Outcome.COMPLETED
    v.finished_at = v.updated_at = started + timedelta(minutes=35)
    session.add(v)
    session.flush()
    return v, [f]


def _round(session: Session, sup: Actor, today: date) -> tuple[str, list[Household]]:
    start = today - timedelta(days=60)
    r = rounds.create_round(
        session,
        sup,
        RoundCreate(
            name=f"{start:%Y年%m月}飞行检查（已结束）",
            scope_code=COUNTY,
            window_start=start,
            window_end=start + timedelta(days=4),
            checklist_ids=["home_visit"],
            params=SamplingParams(sample_ratio=0.004, min_per_stratum=1),
        ),
    )
    rounds.commit_round(session, sup, r.id)
    rounds.draw_round(session, sup, r.id, "2 7 1 8 2 8")
    drawn = session.exec(
        select(Household)
        .join(RoundSample, col(RoundSample.household_id) == col(Household.id))
        .where(RoundSample.round_id == r.id)
        .order_by(col(Household.township_code), col(Household.register_no))
    ).all()
    towns = sorted({h.township_code for h in drawn})[:3]
    chosen = [h for t in towns for h in [x for x in drawn if x.township_code == t][: VISITS // len(towns)]]
    return str(r.id), chosen


def seed_ledger(session: Session, settings: Settings, today: date) -> DemoLedger:
    """Seeds the earlier round, its visits and findings, the officers and ledger items in every state."""
    sup_user = session.exec(select(User).where(User.login == "sup1")).one()
    sup, sup2 = Actor.of(sup_user), Actor.of(session.exec(select(User).where(User.login == "sup2")).one())
    round_id, households = _round(session, sup, today)
    rid = uuid.UUID(round_id)
    officers = _officers(session, sorted({h.township_code for h in households}))
    team_users = list(
        session.exec(select(User).where(User.role == Role.inspector).order_by(col(User.login))).all()
    )[:2]
    team = RoundTeam(round_id=rid, number=1, label="第1组")
    session.add(team)
    session.flush()
    for u in team_users:
        session.add(TeamMember(team_id=team.id, user_id=u.id))
    day = today - timedelta(days=59)
    findings: list[Finding] = []
    for n, h in enumerate(households):
        a = Assignment(
            round_id=rid,
            team_id=team.id,
            household_id=h.id,
            visit_date=day,
            route_order=n,
            status=AssignmentStatus.done,
            released_at=datetime.combine(day, time(0, 0), tzinfo=UTC),
        )
        session.add(a)
        session.flush()
        findings += _visit(session, settings, a, team_users, day, n)[1]
    r = rounds.get_round(session, sup, rid)
    rounds.close_round(session, sup, r.id)
    items = [findings_review.confirm(session, sup, f.id, today=day + timedelta(days=2)) for f in findings]
    _play(session, sup, sup2, items)
    states: dict[str, int] = {}
    for it in session.exec(select(LedgerItem).where(LedgerItem.round_id == rid)).all():
        states[it.state.value] = states.get(it.state.value, 0) + 1
    return DemoLedger(r.name, len(items), dict(sorted(states.items())), officers)


def _officer_of(session: Session, item: LedgerItem) -> Actor:
    assert item.responsible_user_id is not None
    u = session.get(User, item.responsible_user_id)
    assert u is not None
    return Actor.of(u)


def _evidence_ids(session: Session, item: LedgerItem) -> list[uuid.UUID]:
    return [
        e.id for e in session.exec(select(Evidence).where(Evidence.household_id == item.household_id)).all()
    ]


def _play(session: Session, sup: Actor, sup2: Actor, items: list[LedgerItem]) -> None:
    """Moves the items to every state (item 0–1 stay open and overdue)."""
    plan = [
        "open",
        "open",
        "in_progress",
        "fix_submitted",
        "returned",
        "closed",
        "closed",
        "reopened",
        "recovering",
    ]
    for item, what in zip(items, plan, strict=False):
        if what == "open":
            continue
        off = _officer_of(session, item)
        ledger.start(session, off, item.id, "已安排村委会核实")
        if what == "in_progress":
            continue
        outcome = FixOutcome()
        if item.category in EXIT_CATEGORIES:
            outcome = FixOutcome(change=OutcomeChange.exit, months=6, amount_to_recover=Decimal("3360.00"))
        if what == "recovering":
            outcome = FixOutcome(
                change=OutcomeChange.recover,
                months=10,
                amount_to_recover=Decimal("5600.00"),
                recovered=Decimal("2000.00"),
            )
        ledger.submit_fix(session, off, item.id, FixIn(note="已整改，附入户照片", outcome=outcome))
        if what == "fix_submitted":
            continue
        if what == "returned":
            ledger.return_fix(session, sup, item.id, "照片不能证明已整改，请补充停发记录")
            continue
        if what == "recovering":
            continue
        ledger.verify(
            session, sup2, item.id, VerifyIn(evidence_ids=_evidence_ids(session, item), note="核验属实，销号")
        )
        if what == "reopened":
            ledger.reopen(session, sup, item.id, "复核发现问题仍然存在")
