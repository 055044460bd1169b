"""Benchmark repeat-complaint detection: prints one JSON line.

A store (SQLite file by default; BENCH_DB_URL for PostgreSQL, e.g.
postgresql+psycopg://postgres@127.0.0.1:5432/feijian_bench_dups, created and dropped here) holds
BENCH_CASES (100,000) open cases received over the last 60 days: 70 % about one of 20,000 households,
the rest only placed in one of 200 villages, in five categories, with texts built from a vocabulary
of complaint phrases. Then BENCH_QUERIES (400) new complaints — half about a household, half with only
a village — are each checked with `services.case_duplicates.find_match` (the candidate query on the
indexes, then rapidfuzz over the few texts left). Reported: p50 / p95 / max milliseconds per new
complaint (the issue asks p95 < 50 ms), the share that found a match, and the mean candidate count.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, insert, text  # noqa: E402
from sqlmodel import Session, col, func, select  # noqa: E402

from contracts.residents import CaseCategory, CaseSource, CaseState  # noqa: E402
from models.application import Case  # noqa: E402
from models.db import make_engine  # noqa: E402
from models.household import Household, HouseholdStatus, SubsidyType, Tier  # noqa: E402
from models.migrate import upgrade  # noqa: E402
from models.types import utcnow  # noqa: E402
from services import case_duplicates  # noqa: E402
from services.config import Settings  # noqa: E402

CASES = int(os.environ.get("BENCH_CASES", "100000"))
QUERIES = int(os.environ.get("BENCH_QUERIES", "400"))
HOUSEHOLDS, VILLAGES = 20_000, 200
COUNTY = "150422"

WHO = ["村干部", "村会计", "包村干部", "村主任", "网格员", "镇上的人", "组长"]
WHAT = ["扣了我家低保金", "拿着我家的存折", "不给我家办低保", "把低保给了亲戚", "收了好处费", "没有公示名单"]
WHEN = ["三个月了", "半年了", "一直这样", "去年开始", "今年", "好几次"]
EXTRA = ["请领导核查", "希望尽快处理", "家里很困难", "", "没人管", "打过12345"]


def _text(rng: random.Random) -> str:
    return rng.choice(WHO) + rng.choice(WHAT) + rng.choice(WHEN) + rng.choice(EXTRA)


def _villages() -> list[str]:
    return [f"{COUNTY}{100 + t:03d}{200 + v:03d}" for t in range(20) for v in range(VILLAGES // 20)]


def _seed(engine: object, rng: random.Random) -> tuple[list[tuple[uuid.UUID, str]], list[str]]:
    from models.region import Region

    villages = _villages()
    households: list[tuple[uuid.UUID, str]] = []
    with Session(engine) as s:  # type: ignore[call-overload]
        regions = {COUNTY: None} | {v[:9]: COUNTY for v in villages} | {v: v[:9] for v in villages}
        levels = {6: "county", 9: "township", 12: "village"}
        for code, parent in regions.items():
            s.add(Region(code=code, name=f"区划{code}", level=levels[len(code)], parent_code=parent))
        s.flush()
        rows = []
        for i in range(HOUSEHOLDS):
            hid, village = uuid.uuid4(), rng.choice(villages)
            households.append((hid, village))
            rows.append(
                {
                    "id": hid,
                    "register_no": f"LB{i:06d}",
                    "head_name": "张三",
                    "size": 2,
                    "village_code": village,
                    "township_code": village[:9],
                    "county_code": COUNTY,
                    "tier": Tier.ordinary,
                    "subsidy_type": SubsidyType.regular,
                    "monthly_amount": 560,
                    "status": HouseholdStatus.active,
                    "cadre_relative": False,
                    "created_at": utcnow(),
                    "updated_at": utcnow(),
                }
            )
        s.execute(insert(Household), rows)
        now, cats, batch = utcnow(), list(CaseCategory), []
        for i in range(CASES):
            hid, village = rng.choice(households) if rng.random() < 0.7 else (None, rng.choice(villages))
            batch.append(
                {
                    "id": uuid.uuid4(),
                    "number": f"AJB{i:09d}",
                    "source": CaseSource.hotline,
                    "category": rng.choice(cats),
                    "text": _text(rng),
                    "anonymous": True,
                    "household_id": hid,
                    "village_code": village,
                    "state": rng.choice([CaseState.received, CaseState.assigned, CaseState.investigating]),
                    "received_at": now - timedelta(seconds=rng.randint(0, 60 * 86400)),
                    "due_on": date.today() + timedelta(days=15),
                    "updated_at": now,
                }
            )
            if len(batch) == 10_000:
                s.execute(insert(Case), batch)
                batch = []
        if batch:
            s.execute(insert(Case), batch)
        s.commit()
    return households, villages


def _recreate(url: str, drop_only: bool = False) -> None:
    admin_url, name = url.rsplit("/", 1)
    admin = create_engine(f"{admin_url}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if not drop_only:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def measure(pg: str | None) -> dict[str, object]:
    """Seeds a store (SQLite, or the PostgreSQL database `pg`), times the detection of each new
    complaint, and returns the figures."""
    tmp = tempfile.TemporaryDirectory()
    url = pg or f"sqlite:///{tmp.name}/bench.sqlite"
    if pg:
        _recreate(pg)
    try:
        upgrade(url)
        engine = make_engine(url)
        rng = random.Random(17)
        t0 = time.perf_counter()
        households, _villages_seeded = _seed(engine, rng)
        seed_s = time.perf_counter() - t0
        settings = Settings(database_url=url)
        times: list[float] = []
        found = 0
        candidates: list[int] = []
        with Session(engine) as s:
            assert s.exec(select(func.count()).select_from(Case)).one() == CASES
            for q in range(QUERIES):
                hid, village = rng.choice(households)
                new = Case(
                    number="AJNEW",
                    source=CaseSource.hotline,
                    category=rng.choice(list(CaseCategory)),
                    text=_text(rng),
                    household_id=hid if q % 2 == 0 else None,
                    village_code=village,
                    due_on=date.today(),
                )
                t = time.perf_counter()
                match = case_duplicates.find_match(s, settings, new)
                times.append((time.perf_counter() - t) * 1000)
                found += match is not None
                since = new.received_at - timedelta(days=settings.case_duplicate_days)
                where = (
                    (Case.household_id == hid)
                    if q % 2 == 0
                    else ((Case.village_code == village) & (Case.category == new.category))
                )
                candidates.append(
                    s.exec(
                        select(func.count()).select_from(Case).where(where, col(Case.received_at) >= since)
                    ).one()
                )
        times.sort()
        figures: dict[str, object] = {
            "bench": "case_duplicates",
            "backend": "postgresql" if pg else "sqlite",
            "open_cases": CASES,
            "queries": QUERIES,
            "p50_ms": round(statistics.median(times), 2),
            "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2),
            "max_ms": round(times[-1], 2),
            "matched_share": round(found / QUERIES, 3),
            "mean_candidates": round(statistics.mean(candidates), 1),
            "seed_s": round(seed_s, 1),
        }
        engine.dispose()
    finally:
        if pg:
            _recreate(pg, drop_only=True)
        tmp.cleanup()
    return figures


def main() -> None:
    """Prints the figures as one JSON line (PostgreSQL when BENCH_DB_URL is set, else SQLite)."""
    print(json.dumps(measure(os.environ.get("BENCH_DB_URL"))))


if __name__ == "__main__":
    main()
