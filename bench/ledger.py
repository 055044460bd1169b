"""Benchmark the ledger on PostgreSQL: prints one JSON line.

* seed: a province-sized region tree (12 cities × 8 counties × 15 townships × 15 villages: 21,600
  villages), one household per two items, `--items` ledger items (default 1,000,000) with one finding
  each, by COPY; deadlines spread ±60 days around today, states mixed, so about a fifth is overdue.
* list: `ledger_queries.list_items` with typical filters (a county or township subtree + state open +
  overdue), 50 a page, first pages and a follow-up page by cursor; p50/p95 per page (audit included).
* overdue per township: `ledger_queries.overdue_by_township` over the whole province (one grouped
  query on the partial index of open items by village and deadline); median and best of 7 runs.
* export: `ledger_export.export_xlsx` of 100,000 items (one round's; fewer with a small `--items`) in a
  process of its own: wall and CPU seconds, the database backend's CPU seconds, peak RSS. Beside it
  the per-row ORM baseline (load every item as an object, then its household, findings, region and
  user names one query each, a normal openpyxl workbook) on `--baseline-items` rows, with its rows/s
  and the time it would need for the same count.
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing as mp
import os
import random
import resource
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
    "BENCH_PG_URL", f"postgresql+psycopg://postgres@127.0.0.1:5432/feijian_bench_ledger_{os.getpid()}"
)
PROVINCE = "15"
CITIES, COUNTIES, TOWNSHIPS, VILLAGES = 12, 8, 15, 15
EXPORT_ITEMS = 100_000
STATES = ["open"] * 4 + ["in_progress"] * 2 + ["fix_submitted", "closed", "closed", "returned"]
CATEGORIES = ["not_eligible", "missed", "procedure", "funds_misuse", "favour", "other"]


def region_tree() -> list[tuple[str, str, str, str | None]]:
    """(code, name, level, parent) of the whole province."""
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
    with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as cp:
        for row in rows:
            cp.write_row(row)


def _households(villages: list[str], n: int, token: str, now: datetime) -> Any:
    for i in range(n):
        v = villages[i % len(villages)]
        yield (
            uuid.UUID(int=i + 1), f"H{i:08d}", "王五", token, 3, v, v[:9], v[:6],
            "一般困难", "常补", 560, "active", False, now, now,
        )  # fmt: skip


def _items(villages: list[str], n: int, today: date, now: datetime, round_id: uuid.UUID) -> Any:
    rng = random.Random(7)
    n_households = max(1, n // 2)
    for i in range(n):
        h = i % n_households
        v = villages[h % len(villages)]
        state = STATES[rng.randrange(len(STATES))]
        money = 1200 if i % 10 == 0 else 0
        yield (
            uuid.UUID(int=(1 << 64) + i), i + 1, uuid.UUID(int=h + 1), v,
            round_id if i < EXPORT_ITEMS else None, CATEGORIES[i % len(CATEGORIES)], "medium",
            "fix_by_deadline", state, v[:9], "限期整改：停发并追回",
            today + timedelta(days=rng.randint(-60, 60)), "[]", "{}", money,
            money // 2 if state == "closed" else 0, now if state == "closed" else None, 0, now, now,
        )  # fmt: skip


def _findings(n: int, now: datetime) -> Any:
    n_households = max(1, n // 2)
    for i in range(n):
        yield (
            uuid.UUID(int=(2 << 64) + i), uuid.UUID(int=i % n_households + 1), "bench.rule",
            CATEGORIES[i % len(CATEGORIES)], "medium", "[]", f"问题{i}：收入超标", f"problem {i}", now,
            "finding", "visit", "confirmed", uuid.UUID(int=(1 << 64) + i),
        )  # fmt: skip


def seed(url: str, n: int) -> dict[str, Any]:
    """A fresh database with the tree, households, items and findings; seconds per part."""
    from sqlalchemy import create_engine, text

    from models.migrate import upgrade
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
    round_id = uuid.UUID(int=99)
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
            _households(villages, max(1, n // 2), token, now),
        )  # fmt: skip
        _copy(
            cur, "ledger_item",
            ["id", "number", "household_id", "village_code", "round_id", "category", "severity", "route",
             "state", "responsible_region_code", "measures", "deadline", "milestones", "outcome",
             "money_to_recover", "money_recovered", "closed_at", "version", "created_at", "updated_at"],
            _items(villages, n, today, now, round_id),
        )  # fmt: skip
        _copy(
            cur, "finding",
            ["id", "household_id", "rule_id", "category", "severity", "step_ids", "message_zh",
             "message_en", "created_at", "kind", "source", "review", "ledger_item_id"],
            _findings(n, now),
        )  # fmt: skip
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        # planner statistics and the visibility map, as autovacuum would leave a freshly loaded table
        c.execute(text("VACUUM (ANALYZE)"))
    engine.dispose()
    return {
        "seed_s": round(time.perf_counter() - t0, 1),
        "villages": len(villages),
        "round_id": str(round_id),
    }


def bench_list(url: str, pages: int = 60) -> dict[str, Any]:
    """p50/p95 of one page of the list with region subtree + state + overdue, and of a next page."""
    from sqlmodel import Session

    from contracts.ledger import LedgerState
    from models.db import make_engine
    from services import ledger_queries
    from services.context import Actor

    rng = random.Random(3)
    tree = region_tree()
    counties = [r[0] for r in tree if r[2] == "county"]
    towns = [r[0] for r in tree if r[2] == "township"]
    actor = Actor.system("bench")
    engine = make_engine(url)
    first, follow = [], []
    with Session(engine) as s:
        for i in range(pages):
            region = rng.choice(counties if i % 2 else towns)
            flt = ledger_queries.LedgerFilter(region=region, state=LedgerState.open, overdue=True)
            t = time.perf_counter()
            _, cursor = ledger_queries.list_items(s, actor, flt, 50)
            first.append(time.perf_counter() - t)
            if cursor:
                t = time.perf_counter()
                ledger_queries.list_items(s, actor, flt, 50, cursor)
                follow.append(time.perf_counter() - t)
            s.rollback()  # the audit rows of the bench are not kept
    engine.dispose()
    return {
        "list_p50_ms": _ms(statistics.median(first)),
        "list_p95_ms": _ms(_p95(first)),
        "list_next_page_p95_ms": _ms(_p95(follow)) if follow else None,
    }


def bench_overdue_per_township(url: str, runs: int = 7) -> dict[str, Any]:
    """`ledger_queries.overdue_by_township` over the whole province: median and best of runs."""
    from sqlalchemy import text
    from sqlmodel import Session

    from models.db import make_engine
    from services import ledger_queries
    from services.context import Actor

    engine = make_engine(url)
    actor = Actor.system("bench")
    times, cpus, groups, total = [], [], 0, 0
    with Session(engine) as s:
        backend = int(s.exec(text("SELECT pg_backend_pid()")).one()[0])
        for _ in range(runs):
            t, cpu = time.perf_counter(), _server_cpu(backend)
            counts = ledger_queries.overdue_by_township(s, actor)
            times.append(time.perf_counter() - t)
            after = _server_cpu(backend)
            if cpu is not None and after is not None:
                cpus.append(after - cpu)
            groups, total = len(counts), sum(counts.values())
    engine.dispose()
    return {
        "overdue_per_township_ms": _ms(statistics.median(times)),
        "overdue_per_township_best_ms": _ms(min(times)),
        # the server process's CPU for the query (10 ms ticks), which the host's load does not stretch
        "overdue_per_township_server_cpu_ms": _ms(statistics.median(cpus)) if cpus else None,
        "townships": groups,
        "overdue_items": total,
    }


def _export(url: str, round_id: str, q: mp.Queue) -> None:  # type: ignore[type-arg]
    from sqlalchemy import text
    from sqlmodel import Session

    from models.db import make_engine
    from services import ledger_export
    from services.context import Actor
    from services.ledger_queries import LedgerFilter

    engine = make_engine(url)
    with Session(engine) as s:
        backend = int(s.exec(text("SELECT pg_backend_pid()")).one()[0])
        t, cpu, server = time.perf_counter(), time.process_time(), _server_cpu(backend)
        n = ledger_export.export_xlsx(
            s, Actor.system("bench"), LedgerFilter(round_id=uuid.UUID(round_id)), io.BytesIO()
        )
        seconds, cpu, server_after = time.perf_counter() - t, time.process_time() - cpu, _server_cpu(backend)
        s.rollback()
    server_s = server_after - server if server is not None and server_after is not None else None
    q.put({"rows": n, "seconds": seconds, "cpu_s": cpu, "server_cpu_s": server_s, "peak_rss_mb": _rss_mb()})


def _baseline(url: str, round_id: str, limit: int, q: mp.Queue) -> None:  # type: ignore[type-arg]
    """The export written the obvious way: ORM objects, one query per related row, a normal workbook."""
    from openpyxl import Workbook
    from sqlmodel import Session, select

    from models.db import make_engine
    from models.household import Household
    from models.ledger import LedgerItem
    from models.region import Region
    from models.user import User
    from models.visit import Finding
    from services.cipher import get_cipher
    from services.pii import mask_id

    engine = make_engine(url)
    with Session(engine) as s:
        t, cpu = time.perf_counter(), time.process_time()
        items = s.exec(
            select(LedgerItem).where(LedgerItem.round_id == uuid.UUID(round_id)).order_by(LedgerItem.deadline)
        ).all()[:limit]
        wb = Workbook()
        ws = wb.active
        for it in items:
            h = s.get(Household, it.household_id)
            assert h is not None
            texts = [f.message_zh for f in s.exec(select(Finding).where(Finding.ledger_item_id == it.id))]
            region = s.get(Region, it.village_code)
            unit = s.get(Region, it.responsible_region_code)
            person = s.get(User, it.responsible_user_id) if it.responsible_user_id else None
            ws.append(
                [it.number, it.category.value, "；".join(texts), region.name if region else "", h.head_name,
                 mask_id(get_cipher().decrypt(h.head_id_enc)), unit.name if unit else "",
                 person.name if person else "", it.measures, it.deadline, it.state.value,
                 it.money_to_recover, it.money_recovered]
            )  # fmt: skip
        wb.save(io.BytesIO())
        seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
    q.put({"rows": len(items), "seconds": seconds, "cpu_s": cpu, "peak_rss_mb": _rss_mb()})


def _in_process(target: Any, *args: Any) -> dict[str, Any]:
    q: mp.Queue = mp.get_context("spawn").Queue()  # type: ignore[type-arg]
    p = mp.get_context("spawn").Process(target=target, args=(*args, q))
    p.start()
    result: dict[str, Any] = q.get()
    p.join()
    return result


def _server_cpu(pid: int) -> float | None:
    """CPU seconds a PostgreSQL backend on this host has used (None when its /proc entry is not here)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _p95(xs: list[float]) -> float:
    return sorted(xs)[max(0, int(len(xs) * 0.95) - 1)] if xs else 0.0


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def main() -> None:
    """Seeds, measures and prints one JSON line; the database is dropped at the end."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=1_000_000)
    ap.add_argument("--baseline-items", type=int, default=5_000)
    ap.add_argument("--keep", action="store_true", help="keep the database")
    args = ap.parse_args()
    out: dict[str, Any] = {"bench": "ledger", "items": args.items, "load_avg_before": os.getloadavg()[0]}
    out.update(seed(PG_URL, args.items))
    out.update(bench_list(PG_URL))
    out.update(bench_overdue_per_township(PG_URL))
    exp = _in_process(_export, PG_URL, out["round_id"])
    out["export"] = {
        "rows": exp["rows"],
        "seconds": round(exp["seconds"], 2),
        "cpu_s": round(exp["cpu_s"], 2),
        "server_cpu_s": round(exp["server_cpu_s"], 2) if exp["server_cpu_s"] is not None else None,
        "rows_per_s": round(exp["rows"] / exp["seconds"]),
        "peak_rss_mb": exp["peak_rss_mb"],
    }
    base = _in_process(_baseline, PG_URL, out["round_id"], args.baseline_items)
    rate = base["rows"] / base["seconds"]
    out["export_orm_baseline"] = {
        "rows": base["rows"],
        "seconds": round(base["seconds"], 2),
        "cpu_s": round(base["cpu_s"], 2),
        "rows_per_s": round(rate),
        "seconds_for_export_rows": round(exp["rows"] / rate, 1),
        "peak_rss_mb": base["peak_rss_mb"],
    }
    out["load_avg_after"] = os.getloadavg()[0]
    if not args.keep:
        from sqlalchemy import create_engine, text

        base_url, name = PG_URL.rsplit("/", 1)
        admin = create_engine(base_url + "/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
