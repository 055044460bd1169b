"""Benchmark the supervisor console on PostgreSQL: prints one JSON line.

* seed (COPY): a region tree (2 cities × 8 counties × 15 townships × 15 villages), `--households`
  households (default 1,000,000), one drawn round with `--visits` sampled households, `--visits`
  submitted visits (default 100,000) over the last 60 days, `--items` ledger items (default 200,000)
  with one finding each, 20,000 complaint cases, a province-wide supervisor.
* pages: every console page is requested `--runs` times through the real app (in-process ASGI client,
  signed in with a console session); the server time of each (the app's own handling, from request
  to response) as p50/p95 in ms. The supervisor's scope is the whole province: the worst case.
* dashboard: each dashboard query (console_stats) timed on its own, p95 in ms.
Target: p95 < 300 ms per page.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("FEIJIAN_PII_KEY", "ZmVpamlhbi1iZW5jaC1waWkta2V5LTMyLWJ5dGVzISE=")
os.environ.setdefault("FEIJIAN_SECRET_KEY", "ZmVpamlhbi1iZW5jaC1zZWNyZXQta2V5LTMyYnl0ZSE=")

PG_URL = os.environ.get(
    "BENCH_PG_URL", f"postgresql+psycopg://postgres@127.0.0.1:5432/feijian_bench_console_{os.getpid()}"
)
PROVINCE = "15"
CITIES, COUNTIES, TOWNSHIPS, VILLAGES = 2, 8, 15, 15
STATES = ["open"] * 4 + ["in_progress"] * 2 + ["fix_submitted", "closed", "closed", "returned"]
CATEGORIES = ["not_eligible", "missed", "procedure", "funds_misuse", "favour", "other"]
CASE_STATES = ["received", "assigned", "investigating", "answered", "closed"]
ROUND_ID = uuid.UUID(int=99)
SUP_LOGIN, SUP_PASSWORD = "bench-sup", "bench-pass-123"


def region_tree() -> list[tuple[str, str, str, str | None]]:
    """(code, name, level, parent) of the province."""
    out: list[tuple[str, str, str, str | None]] = [(PROVINCE, "省", "province", None)]
    for c in range(1, CITIES + 1):
        city = f"{PROVINCE}{c:02d}"
        out.append((city, f"市{c}", "city", PROVINCE))
        for k in range(1, COUNTIES + 1):
            county = f"{city}{k:02d}"
            out.append((county, f"县{c}-{k}", "county", city))
            for t in range(1, TOWNSHIPS + 1):
                town = f"{county}{t * 2:03d}"
                out.append((town, f"镇{c}-{k}-{t}", "township", county))
                for v in range(1, VILLAGES + 1):
                    out.append((f"{town}{v * 3:03d}", f"村{c}-{k}-{t}-{v}", "village", town))
    return out


def _copy(cur: Any, table: str, cols: list[str], rows: Any) -> None:
    with cur.copy(f'COPY "{table}" ({", ".join(cols)}) FROM STDIN') as cp:
        for row in rows:
            cp.write_row(row)


def _hid(i: int) -> uuid.UUID:
    return uuid.UUID(int=i + 1)


def seed(url: str, n_households: int, n_visits: int, n_items: int) -> dict[str, Any]:
    """A fresh database with everything the pages read; seconds taken."""
    from sqlalchemy import create_engine, text

    from models.migrate import upgrade
    from models.visit import checkin_cell
    from services.auth import hash_password
    from services.cipher import get_cipher

    base, name = url.rsplit("/", 1)
    admin = create_engine(base + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    upgrade(url)
    t0 = time.perf_counter()
    tree = region_tree()
    villages = [r[0] for r in tree if r[2] == "village"]
    now, today = datetime.now(UTC), date.today()
    token = get_cipher().encrypt("150422198001011234")
    rng = random.Random(7)
    inspectors = [uuid.UUID(int=(5 << 64) + i) for i in range(200)]
    engine = create_engine(url)
    with engine.begin() as conn:
        cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        _copy(cur, "region", ["code", "name", "level", "parent_code", "retired", "updated_at"],
              ((c, nm, lv, p, False, now) for c, nm, lv, p in tree))  # fmt: skip
        _copy(
            cur, "household",
            ["id", "register_no", "head_name", "head_id_enc", "size", "village_code", "township_code",
             "county_code", "tier", "subsidy_type", "monthly_amount", "status", "cadre_relative",
             "created_at", "updated_at"],
            ((_hid(i), f"H{i:08d}", "王五", token, 3, (v := villages[i % len(villages)]), v[:9], v[:6],
              "一般困难", "常补", 560, "active", False, now, now) for i in range(n_households)),
        )  # fmt: skip
        _copy(
            cur, "app_user",
            ["id", "login", "name", "role", "relative_id_hashes", "language", "active", "created_at",
             "home_township_code", "scope_code", "password_hash"],
            [(u, f"insp{i}", f"检查员{i}", "inspector", "[]", "zh-CN", True, now,
              villages[i % len(villages)][:9], None, None) for i, u in enumerate(inspectors)]
            + [(uuid.UUID(int=(6 << 64)), SUP_LOGIN, "督导员", "supervisor", "[]", "zh-CN", True, now,
                None, PROVINCE, hash_password(SUP_PASSWORD))],
        )  # fmt: skip
        _copy(
            cur, "inspection_round",
            ["id", "name", "type", "scope_code", "window_start", "window_end", "checklist_ids", "params",
             "coverage_target", "coverage", "status", "created_by", "frame_size", "sample_size",
             "created_at", "updated_at", "drawn_at"],
            [(ROUND_ID, "2026年冬季飞行检查", "flying", PROVINCE, today - timedelta(days=60),
              today + timedelta(days=5), "[]", "{}", 0.3, "{}", "in_field", "bench", n_households, n_visits,
              now, now, now)],
        )  # fmt: skip
        step = max(1, n_households // max(1, n_visits))
        _copy(
            cur, "round_sample",
            ["id", "round_id", "household_id", "stratum", "inclusion_prob", "design_weight", "risk_weight",
             "take_all", "reason"],
            ((uuid.UUID(int=(3 << 64) + i), ROUND_ID, _hid(i * step), "s", 0.1, 10.0, 1.0, False, "random")
             for i in range(n_visits)),
        )  # fmt: skip
        _copy(
            cur, "visit",
            ["id", "household_id", "inspector_id", "checklist_id", "checklist_version", "status",
             "participants", "answers", "step_seconds", "track", "checkin", "flags", "core_proof", "notes",
             "client_findings", "started_at", "finished_at", "updated_at", "round_id", "village_code",
             "checkin_cell", "rushed", "step_median_s"],
            ((uuid.UUID(int=(4 << 64) + i), _hid(i * step), inspectors[i % len(inspectors)], "home_visit", 1,
              "submitted", "[]", '[{"step_id": "door", "value": "在家"}]', '{"door": 40.0}', "[]",
              '{"lat": 43.9, "lon": 119.3}', '[{"code": "rushed"}]' if i % 9 == 0 else "[]", "{}", "[]", "[]",
              (st := now - timedelta(minutes=rng.randint(10, 60 * 24 * 60))), st + timedelta(minutes=20), now,
              ROUND_ID, villages[(i * step) % len(villages)], checkin_cell({"lat": 43.9, "lon": 119.3}),
              i % 9 == 0, 40.0) for i in range(n_visits)),
        )  # fmt: skip
        n_item_households = max(1, min(n_households, n_items // 2))
        _copy(
            cur, "ledger_item",
            ["id", "number", "household_id", "village_code", "round_id", "category", "severity", "route",
             "state", "responsible_region_code", "measures", "deadline", "milestones", "outcome",
             "money_to_recover", "money_recovered", "closed_at", "version", "created_at", "updated_at"],
            ((uuid.UUID(int=(1 << 64) + i), i + 1, _hid(i % n_item_households),
              (v := villages[(i % n_item_households) % len(villages)]), ROUND_ID if i % 2 else None,
              CATEGORIES[i % len(CATEGORIES)], ["low", "medium", "high"][i % 3], "fix_by_deadline",
              (s := STATES[rng.randrange(len(STATES))]), v[:9], "限期整改",
              today + timedelta(days=rng.randint(-60, 60)), "[]", "{}", 0, 0,
              now if s == "closed" else None, 0, now - timedelta(days=rng.randint(0, 200)), now)
             for i in range(n_items)),
        )  # fmt: skip
        _copy(
            cur, "finding",
            ["id", "household_id", "rule_id", "category", "severity", "step_ids", "message_zh",
             "message_en", "created_at", "kind", "source", "review", "ledger_item_id", "round_id",
             "village_code"],
            ((uuid.UUID(int=(2 << 64) + i), _hid(i % n_item_households), "bench.rule",
              CATEGORIES[i % len(CATEGORIES)], "medium", "[]", f"问题{i}", f"problem {i}", now, "finding",
              "visit", "confirmed", uuid.UUID(int=(1 << 64) + i), ROUND_ID,
              villages[(i % n_item_households) % len(villages)]) for i in range(n_items)),
        )  # fmt: skip
        _copy(
            cur, "resident_case",
            ["id", "number", "source", "category", "text", "anonymous", "state", "received_at", "due_on",
             "updated_at", "village_code"],
            ((uuid.UUID(int=(7 << 64) + i), f"C{i:08d}", "web", "other", "投诉", True,
              CASE_STATES[i % len(CASE_STATES)], now, today + timedelta(days=rng.randint(-20, 20)), now,
              villages[i % len(villages)]) for i in range(20_000)),
        )  # fmt: skip
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return {"seed_s": round(time.perf_counter() - t0, 1), "villages": len(villages)}


def migrate(url: str) -> float:
    """Brings a kept database to the newest schema (backfills included) and refreshes statistics."""
    from sqlalchemy import create_engine, text

    from models.migrate import upgrade

    t0 = time.perf_counter()
    upgrade(url)
    engine = create_engine(url)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return round(time.perf_counter() - t0, 1)


def _p95(xs: list[float]) -> float:
    return sorted(xs)[max(0, int(len(xs) * 0.95 + 0.5) - 1)] if xs else 0.0


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def bench_pages(url: str, runs: int) -> dict[str, Any]:
    """p50/p95 of each console page, with the server's own handling time."""
    import re

    from fastapi.testclient import TestClient

    from api.app import create_app
    from models.db import make_engine
    from services.config import Settings

    settings = Settings(env="test", database_url=url, release_every_s=0)
    engine = make_engine(url)
    app = create_app(settings, engine)
    timings: dict[str, list[float]] = {}

    @app.middleware("http")
    async def _timer(request: Any, call_next: Any) -> Any:
        t = time.perf_counter()
        response = await call_next(request)
        response.headers["x-bench-ms"] = str((time.perf_counter() - t) * 1000)
        return response

    out: dict[str, Any] = {}
    with TestClient(app) as client:
        page = client.get("/console/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf
        r = client.post(
            "/console/login",
            data={"username": SUP_LOGIN, "password": SUP_PASSWORD, "csrf_token": csrf.group(1)},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text[:300]
        ledger = client.get("/console/ledger").text
        item = re.search(r'/console/ledger/([0-9a-f-]{36})"', ledger)
        more = re.search(r'href="/console/ledger\?([^"]+)"', ledger)
        visits_page = client.get("/console/visits").text
        visit = re.search(r'/console/visits/([0-9a-f-]{36})"', visits_page)
        vmore = re.search(r'href="/console/visits\?([^"]+)"', visits_page)
        pages = {
            "dashboard": "/console/",
            "rounds": "/console/rounds",
            "round": f"/console/rounds/{ROUND_ID}",
            "assignments": f"/console/rounds/{ROUND_ID}/assignments",
            "visits": "/console/visits",
            "visits_next": "/console/visits?" + vmore.group(1).replace("&amp;", "&") if vmore else None,
            "visit": f"/console/visits/{visit.group(1)}" if visit else None,
            "quality": "/console/quality",
            "register": "/console/register",
            "register_search": "/console/register?register_no=H00500000",
            "users": "/console/users",
            "audit": "/console/audit",
            "ledger": "/console/ledger",
            "ledger_next": "/console/ledger?" + more.group(1).replace("&amp;", "&") if more else None,
            "ledger_county_overdue": "/console/ledger?region=150101&overdue=1",
            "ledger_township_open": "/console/ledger?region=150101002&state=open",
            "ledger_item": f"/console/ledger/{item.group(1)}" if item else None,
        }
        for name, path in pages.items():
            if path is None:
                continue
            for _ in range(runs):
                resp = client.get(path)
                assert resp.status_code == 200, (name, resp.status_code, resp.text[:300])
                timings.setdefault(name, []).append(float(resp.headers["x-bench-ms"]) / 1000)
    engine.dispose()
    for name, xs in timings.items():
        out[name] = {"p50_ms": _ms(statistics.median(xs)), "p95_ms": _ms(_p95(xs))}
    return out


def bench_dashboard_queries(url: str, runs: int) -> dict[str, Any]:
    """Each dashboard query on its own (a province-wide supervisor), p95 in ms."""
    from sqlmodel import Session, select

    from models.db import make_engine
    from models.user import User
    from services import console_stats
    from services.context import Actor

    engine = make_engine(url)
    out: dict[str, Any] = {}
    with Session(engine) as s:
        sup = s.exec(select(User).where(User.login == SUP_LOGIN)).one()
        actor = Actor.of(sup)
        calls = {
            "rounds_in_progress": lambda: console_stats.rounds_in_progress(s, actor),
            "round_coverage": lambda: [
                console_stats.round_coverage(s, r) for r in console_stats.rounds_in_progress(s, actor)
            ],
            "visits_per_day": lambda: console_stats.visits_per_day(s, actor),
            "findings_by_category": lambda: console_stats.findings_by_category(s, actor),
            "ledger_board": lambda: console_stats.ledger_board(s, actor),
            "case_deadlines": lambda: console_stats.case_deadlines(s, actor),
        }
        for name, call in calls.items():
            xs = []
            for _ in range(runs):
                t = time.perf_counter()
                call()
                xs.append(time.perf_counter() - t)
            s.rollback()
            out[name] = {"p50_ms": _ms(statistics.median(xs)), "p95_ms": _ms(_p95(xs))}
    engine.dispose()
    return out


def main() -> None:
    """Seeds, measures and prints one JSON line; the database is dropped at the end."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--households", type=int, default=1_000_000)
    ap.add_argument("--visits", type=int, default=100_000)
    ap.add_argument("--items", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--keep", action="store_true", help="keep the database")
    ap.add_argument(
        "--reuse",
        action="store_true",
        help="measure a kept database (skip the seed; migrate it to the newest schema)",
    )
    args = ap.parse_args()
    out: dict[str, Any] = {
        "bench": "console",
        "households": args.households,
        "visits": args.visits,
        "ledger_items": args.items,
        "runs": args.runs,
        "load_avg_before": os.getloadavg()[0],
    }
    if args.reuse:
        out["migrate_s"] = migrate(PG_URL)
    else:
        out.update(seed(PG_URL, args.households, args.visits, args.items))
    out["pages"] = bench_pages(PG_URL, args.runs)
    out["dashboard_queries"] = bench_dashboard_queries(PG_URL, args.runs)
    slow = {k: v["p95_ms"] for k, v in out["pages"].items() if v["p95_ms"] >= 300}
    out["target_p95_ms"] = 300
    out["pages_over_target"] = slow
    out["load_avg_after"] = os.getloadavg()[0]
    if not args.keep:
        from sqlalchemy import create_engine, text

        base, name = PG_URL.rsplit("/", 1)
        admin = create_engine(base + "/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
