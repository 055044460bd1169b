"""The demo county: deterministic regions, households, inspectors and supervisors for training and trials."""

from __future__ import annotations

import csv
import io
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlmodel import Session, col, func, select

from contracts.users import UserCreate
from models.household import Household
from models.region import Region, RegionLevel
from models.user import Role, User
from services import household_import, regions, users
from services.context import Actor
from services.pii import id_check_char

COUNTY = "150422"  # 巴林左旗, Inner Mongolia
COUNTY_SEAT = (43.98, 119.38)
SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
    "余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段钱汤尹黎易常武乔贺赖龚文"
)
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英玉兰萍毅浩宇鹏飞华红梅建国建华志强海燕春花"
RELATIONS = ["配偶", "父子", "母子", "父女", "母女", "祖孙", "兄妹", "儿媳", "女婿"]


@dataclass
class DemoLogin:
    """A printed demo login."""

    login: str
    password: str
    role: Role
    name: str
    township: str | None = None


@dataclass
class DemoReport:
    """What the seeding created."""

    households: int = 0
    villages: int = 0
    logins: list[DemoLogin] = field(default_factory=list)
    already_seeded: bool = False


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _id(rng: random.Random, born: date) -> str:
    first17 = f"{COUNTY}{born:%Y%m%d}{rng.randint(0, 999):03d}"
    return first17 + id_check_char(first17)


def _offset(lat: float, lon: float, km: float, bearing: float) -> tuple[float, float]:
    dlat = km / 111.0 * math.cos(bearing)
    dlon = km / (111.0 * math.cos(math.radians(lat))) * math.sin(bearing)
    return lat + dlat, lon + dlon


def village_positions(villages: list[Region], seed: int) -> dict[str, tuple[float, float]]:
    """Plausible positions: townships spread around the county seat, villages around their township."""
    rng = random.Random(f"places-{seed}")
    townships = sorted({v.code[:9] for v in villages})
    centre: dict[str, tuple[float, float]] = {}
    for i, t in enumerate(townships):
        bearing = 2 * math.pi * i / max(len(townships), 1) + rng.uniform(-0.2, 0.2)
        km = 0.0 if t.endswith("100") and i == 0 else rng.uniform(12, 45)
        centre[t] = _offset(*COUNTY_SEAT, km, bearing)
    return {
        v.code: _offset(*centre[v.code[:9]], rng.uniform(0.5, 6), rng.uniform(0, 2 * math.pi))
        for v in villages
    }


def register_csv(villages: list[Region], count: int, seed: int) -> bytes:
    """A register file, in the shape people upload, for the demo county (members one row each)."""
    rng = random.Random(f"households-{seed}")
    places = village_positions(villages, seed)
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(
        [
            "低保证号",
            "户主姓名",
            "身份证号",
            "联系电话",
            "家庭人口",
            "住址",
            "所属村(居)",
            "经度",
            "纬度",
            "坐标系",
            "保障类别",
            "补助类型",
            "月保障金额",
            "保障起始日期",
            "最近复核日期",
            "干部亲属备案",
            "成员姓名",
            "与户主关系",
            "成员身份证号",
            "残疾",
            "重病",
        ]
    )
    today = date(2026, 11, 1)
    for n in range(count):
        v = villages[n % len(villages)] if n < len(villages) else rng.choice(villages)
        lat, lon = _offset(*places[v.code], rng.uniform(0.02, 0.6), rng.uniform(0, 2 * math.pi))
        tier = rng.choices(["特困", "比较困难", "一般困难"], weights=[15, 35, 50])[0]
        size = rng.choices([1, 2, 3, 4, 5, 6], weights=[25, 30, 20, 14, 8, 3])[0]
        per_head = {"特困": 720, "比较困难": 560, "一般困难": 420}[tier]
        amount = per_head * size * rng.uniform(0.85, 1.1) * (3.0 if rng.random() < 0.01 else 1.0)
        head_born = date(rng.randint(1940, 1990), rng.randint(1, 12), rng.randint(1, 28))
        head_id = _id(rng, head_born)
        head = _name(rng)
        start = today - timedelta(days=rng.randint(60, 3000))
        review = today - timedelta(days=rng.randint(10, 700))
        common = [
            f"LB{COUNTY}{n + 1:05d}",
            head,
            head_id,
            f"1{rng.choice('3578')}{rng.randint(0, 999999999):09d}",
            size,
            f"{v.name}{rng.randint(1, 200)}号",
            v.code,
            f"{lon:.6f}",
            f"{lat:.6f}",
            "WGS84",
            tier,
            rng.choices(["常补", "非常补"], weights=[70, 30])[0],
            f"{amount:.2f}",
            start.isoformat(),
            review.isoformat(),
            "是" if rng.random() < 0.03 else "否",
        ]
        w.writerow(
            [
                *common,
                head,
                "户主",
                head_id,
                "是" if rng.random() < 0.08 else "否",
                "是" if rng.random() < 0.1 else "否",
            ]
        )
        for _ in range(size - 1):
            born = date(rng.randint(1935, 2022), rng.randint(1, 12), rng.randint(1, 28))
            w.writerow(
                [
                    *common,
                    _name(rng),
                    rng.choice(RELATIONS),
                    _id(rng, born),
                    "是" if rng.random() < 0.05 else "否",
                    "是" if rng.random() < 0.05 else "否",
                ]
            )
    return out.getvalue().encode("utf-8-sig")


def seed(
    session: Session,
    households: int = 5000,
    inspectors: int = 40,
    seed_value: int = 20261122,
    progress: Callable[[int, int], None] | None = None,
) -> DemoReport:
    """Loads the demo county and its people unless the store already has households."""
    actor = Actor.system("demo")
    report = DemoReport()
    if session.exec(select(func.count()).select_from(Household)).one() > 0:
        report.already_seeded = True
        report.logins = demo_logins(inspectors, seed_value)
        return report
    regions.load_packaged(session, actor)
    villages = list(
        session.exec(
            select(Region)
            .where(Region.level == RegionLevel.village, col(Region.code).startswith(COUNTY))
            .order_by(col(Region.code))
        ).all()
    )
    report.villages = len(villages)
    data = register_csv(villages, households, seed_value)
    result = household_import.import_households(session, actor, data, "demo-register.csv", progress=progress)
    report.households = result.households
    for login in demo_logins(inspectors, seed_value, [v.code[:9] for v in villages]):
        users.create_user(
            session,
            actor,
            UserCreate(
                login=login.login,
                name=login.name,
                role=login.role,
                password=login.password,
                home_township_code=login.township,
                scope_code=COUNTY if login.role != Role.inspector else None,
            ),
        )
    report.logins = demo_logins(inspectors, seed_value)
    return report


@dataclass
class DemoRound:
    """The demo's dispatched round: who has tasks today."""

    round_id: str
    name: str
    sample: int
    released_today: dict[str, int]


def seed_round(session: Session, today: date, witness: str = "3 1 4 1 5 9") -> DemoRound:
    """A flying round over the demo county, drawn with witnesses, assigned to teams and dispatched today."""
    from contracts.rounds import RoundCreate, SamplingParams
    from services import round_dispatch, round_teams, rounds

    sup = session.exec(select(User).where(User.login == "sup1")).one()
    actor = Actor.of(sup)
    data = RoundCreate(
        name=f"{today:%Y年%m月}飞行检查（演示）",
        scope_code=COUNTY,
        window_start=today,
        window_end=today + timedelta(days=6),
        checklist_ids=["home_visit"],
        params=SamplingParams(sample_ratio=0.02, min_per_stratum=1),
    )
    r = rounds.create_round(session, actor, data)
    rounds.commit_round(session, actor, r.id)
    rounds.draw_round(session, actor, r.id, witness)
    inspectors = session.exec(select(col(User.id)).where(User.role == Role.inspector)).all()
    round_teams.assign_round(session, actor, r.id, list(inspectors), visits_per_day=4)
    report = round_dispatch.dispatch(session, actor, r.id, today)
    counts: dict[str, int] = {}
    for rel in report.releases:
        counts[rel.inspector_login] = counts.get(rel.inspector_login, 0) + len(rel.assignment_ids)
    return DemoRound(str(r.id), r.name, r.sample_size, dict(sorted(counts.items())))


def demo_logins(inspectors: int, seed_value: int, townships: list[str] | None = None) -> list[DemoLogin]:
    """The demo accounts (deterministic; passwords are for the local demo only)."""
    rng = random.Random(f"people-{seed_value}")
    towns: list[str | None] = [*sorted(set(townships or []))] or [None]
    out = [DemoLogin("admin", "feijian-admin", Role.admin, "系统管理员")]
    out += [DemoLogin(f"sup{i}", f"feijian-sup{i}", Role.supervisor, _name(rng)) for i in range(1, 4)]
    out += [
        DemoLogin(f"insp{i:02d}", f"feijian-insp{i:02d}", Role.inspector, _name(rng), towns[i % len(towns)])
        for i in range(1, inspectors + 1)
    ]
    return out


def existing_logins(session: Session) -> list[User]:
    """Accounts present in the store (to print on a re-run)."""
    return list(session.exec(select(User).order_by(col(User.role), col(User.login))).all())


def training_places(session: Session, day: date) -> list[dict[str, object]]:
    """Today's released households as named points for the sandbox chat (masked names, WGS-84)."""
    from media.geo import to_wgs84
    from models.round import Assignment
    from services.pii import mask_name

    rows = session.exec(
        select(Assignment, Household)
        .join(Household, col(Household.id) == col(Assignment.household_id))
        .where(Assignment.visit_date == day, col(Assignment.released_at).is_not(None))
        .order_by(col(Assignment.route_order))
    ).all()
    names = {
        r.code: r.name for r in session.exec(select(Region).where(Region.level == RegionLevel.village)).all()
    }
    places: list[dict[str, object]] = []
    for a, h in rows:
        if h.lat is None or h.lon is None:
            continue
        lat, lon = to_wgs84(h.lat, h.lon, h.datum.value if h.datum else "wgs84")
        places.append(
            {
                "id": str(a.id),
                "name": f"{names.get(h.village_code, h.village_code)} {mask_name(h.head_name)}",
                "latitude": round(lat, 6),
                "longitude": round(lon, 6),
                "address": h.address,
            }
        )
    return places


def demo_invites(session: Session, logins: list[str]) -> dict[str, str]:
    """Fresh one-time invite codes for the given demo accounts (older unused codes are revoked)."""
    from services import invites

    actor = Actor.system("demo")
    return {login: invites.create_invite(session, actor, login=login, ttl_hours=72).code for login in logins}
