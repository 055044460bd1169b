"""The demo's residents: a few applications at every stage (one on public notice), and a sample to try."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import Session, col, select

from contracts.residents import ApplicationCreate, StageMove
from models.application import Application
from models.household import Household
from models.region import Region, RegionLevel
from services import applications, case_flow, case_import
from services.cipher import get_cipher
from services.config import get_settings
from services.context import Actor
from services.pii import id_check_char

SEED = 20261204
# name, stages to move on after 申请 (refusal as a reason string)
PLAN: list[tuple[str, int, str | None]] = [
    ("包玉兰", 2, None),
    ("王建国", 0, None),
    ("李秀英", 3, None),
    ("张海燕", 4, None),
    ("刘志强", 5, None),
    ("陈春花", 1, "家庭人均收入高于当地低保标准"),
]


@dataclass(frozen=True)
class DemoApplicant:
    """The sample the demo prints: what a resident types on /status."""

    number: str
    id_number: str
    name: str


def _id_number(rng: random.Random) -> str:
    born = date(rng.randint(1940, 1990), rng.randint(1, 12), rng.randint(1, 28))
    first17 = f"150422{born:%Y%m%d}{rng.randint(0, 999):03d}"
    return first17 + id_check_char(first17)


def seed(session: Session, today: date) -> DemoApplicant | None:
    """Creates the demo applications once; returns the first one's number, ID number and name."""
    rng = random.Random(SEED)
    ids = [_id_number(rng) for _ in PLAN]
    sample_hash = get_cipher().lookup_hash(ids[0])
    existing = session.exec(select(Application).where(Application.id_hash == sample_hash)).first()
    if existing is not None:
        seed_hotline(session, today)
        return DemoApplicant(existing.number, ids[0], PLAN[0][0])
    villages = session.exec(
        select(Region.code)
        .where(Region.level == RegionLevel.village)
        .order_by(col(Region.code))
        .limit(len(PLAN))
    ).all()
    if not villages:
        return None
    actor = Actor.system("demo")
    first: DemoApplicant | None = None
    for i, ((name, steps, refusal), idn) in enumerate(zip(PLAN, ids, strict=True)):
        start = today - timedelta(days=40)
        app = applications.create(
            session,
            actor,
            ApplicationCreate(
                applicant_name=name,
                id_number=idn,
                phone=f"1390476{1000 + i:04d}",
                village_code=villages[i % len(villages)],
                household_size=1 + i % 4,
                applied_on=start,
                monthly_amount=560.0 + 40 * i,
                contact_unit="林东镇民政所",
                contact_phone="0476-7822001",
            ),
        )
        for step in range(steps):
            # the fully paid one went through long ago; the others are on their way, one on notice now
            on = start + timedelta(days=7 * (step + 1) if steps == 5 else step + 1)
            on = today - timedelta(days=3) if step == 3 and steps < 5 else on
            applications.move(session, actor, app.id, StageMove(on=on, deciding_unit="林东镇人民政府"))
        if refusal:
            applications.move(session, actor, app.id, StageMove(refuse_reason=refusal, on=today))
        first = first or DemoApplicant(app.number, idn, name)
    seed_hotline(session, today)
    return first


# 12345 orders the demo imports as the hotline's export would hand them over: a GB18030 CSV
HOTLINE_HEADER = "工单编号,来电时间,来电内容,来电人,联系电话,所属区域,诉求类型,受理坐席"
HOTLINE_TEXTS = (
    ("反映家里的低保金这两个月没有到账，镇里说在核对，希望尽快发放。", "低保金发放"),
    ("来电人称村里评议低保时没有开会，名单是村干部定的，要求核查。", "低保资格认定"),
    ("匿名反映村干部亲属享受低保，家里开着小轿车，属于关系保。", "投诉举报"),
    ("咨询低保申请需要准备哪些材料、多久能有结果。", "政策咨询"),
)


def hotline_file(session: Session, today: date) -> bytes:
    """A small 12345 export about the demo's villages and households (names from the register)."""
    villages = session.exec(
        select(Region.code, Region.name)
        .where(Region.level == RegionLevel.village)
        .order_by(col(Region.code))
        .limit(4)
    ).all()
    lines = [HOTLINE_HEADER]
    for i, (text, kind) in enumerate(HOTLINE_TEXTS):
        code, village = villages[i % len(villages)] if villages else ("", "")
        head = session.exec(
            select(Household.head_name).where(Household.village_code == code).limit(1)
        ).first()
        named = i < 2 and head is not None
        at = today - timedelta(days=12 - 3 * i)
        lines.append(
            ",".join(
                (
                    f"GD{at:%Y%m%d}{9001 + i:06d}",
                    f"{at:%Y-%m-%d} {9 + i:02d}:{15 * i:02d}:00",
                    text,
                    head if named and head else "",
                    f"1390476{2000 + i:04d}" if named else "",
                    village,
                    kind,
                    f"{370 + i:04d}号",
                )
            )
        )
    return ("\n".join(lines) + "\n").encode("gb18030")


def seed_hotline(session: Session, today: date) -> int:
    """Imports the demo's 12345 export (once: re-importing changes nothing) and answers the oldest."""
    actor = Actor.system("demo")
    result = case_import.import_cases(
        session, get_settings(), actor, hotline_file(session, today), "12345.csv"
    )
    if result.case_ids:
        case_flow.assign(session, actor, result.case_ids[0], "林东镇民政所")
        case_flow.answer(
            session,
            actor,
            result.case_ids[0],
            "经核查，该户九月、十月低保金因银行卡变更未到账，已于本月补发。",
        )
    return result.created
