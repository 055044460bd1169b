"""Benchmark: match 100,000 death records against 1,000,000 household members, on SQLite and PostgreSQL.

For each database, one process seeds the register (250,000 households of four members, keyed hashes
as the importer writes them; the ciphertext is a placeholder, as matching never decrypts), then
another process (so its peak memory is its own) measures:

- `match_s`: the bulk match — hash the file's ID numbers with the keyed hash, look them up in
  batches of thousands against the member index (services.crosschecks.match);
- `import_s`: the whole `import_deaths` — read and check every row, match, write the matches,
  findings and ledger items (BENCH_MATCHES of the records are on the register);
- the baseline: one keyed hash and one query per record (`find_members_one_by_one`), timed on a
  sample of BENCH_BASELINE records and scaled to the file (`baseline_est_s`); `speedup` is
  baseline_est_s / match_s.

Prints one JSON line: {"deaths_sqlite": {...}, "deaths_postgresql": {...}, "case_duplicates":
{"sqlite": {...}, "postgresql": {...}}}; the last is bench/case_duplicates.py's figure (one new
complaint checked against 100,000 open cases), run on both databases.
BENCH_MEMBERS, BENCH_RECORDS, BENCH_MATCHES, BENCH_BASELINE, BENCH_ONLY=sqlite|postgresql adjust it.
"""

from __future__ import annotations

import importlib.util
import json
import multiprocessing as mp
import operator
import os
import resource
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("FEIJIAN_PII_KEY", "ZmVpamlhbi1iZW5jaC1waWkta2V5LTMyLWJ5dGVzISE=")
os.environ.setdefault("FEIJIAN_SECRET_KEY", "ZmVpamlhbi1iZW5jaC1zZWNyZXQta2V5LTMyYnl0ZSE=")

MEMBERS = int(os.environ.get("BENCH_MEMBERS", "1000000"))
RECORDS = int(os.environ.get("BENCH_RECORDS", "100000"))
MATCHES = int(os.environ.get("BENCH_MATCHES", "300"))
BASELINE = int(os.environ.get("BENCH_BASELINE", "5000"))
ONLY = os.environ.get("BENCH_ONLY", "")
PER_HOUSEHOLD = 4
VILLAGE = "150422100200"
PG_URL = os.environ.get(
    "BENCH_PG_URL", f"postgresql+psycopg://postgres@127.0.0.1:5432/feijian_bench_xc_{os.getpid()}"
)
BORN0 = date(1940, 1, 1)


_W = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_W48 = 48 * sum(_W)


def _idn(region: str, i: int) -> str:
    """The i-th synthetic ID number of a region (unique per i below 365,000)."""
    born = BORN0 + timedelta(days=i // 1000)
    first17 = f"{region}{born:%Y%m%d}{i % 1000:03d}"
    return first17 + "10X98765432"[(sum(map(operator.mul, first17.encode(), _W)) - _W48) % 11]


def _prepare(url: str) -> None:
    from sqlalchemy import create_engine, text

    if url.startswith("postgresql"):
        base, name = url.rsplit("/", 1)
        admin = create_engine(base + "/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            c.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    from models.migrate import upgrade

    upgrade(url)


def _drop(url: str) -> None:
    from sqlalchemy import create_engine, text

    if url.startswith("postgresql"):
        base, name = url.rsplit("/", 1)
        admin = create_engine(base + "/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


H_COLS = (
    "id, register_no, head_name, head_id_enc, head_id_hash, size, village_code, township_code, county_code, "
    "tier, subsidy_type, monthly_amount, start_date, status, cadre_relative, created_at, updated_at"
)
DEFERRED = {
    "ix_household_member_id_hash": ("household_member", "id_hash"),
    "ix_household_member_household_id": ("household_member", "household_id"),
    "ix_household_head_id_hash": ("household", "head_id_hash"),
    "ix_household_village_code": ("household", "village_code"),
}
M_COLS = "id, household_id, name, relation, id_enc, id_hash, disabled, seriously_ill, position"


def _seed(url: str) -> None:
    """The register: households of four, every member with the keyed hash of its ID number.

    Written straight through the driver (executemany on SQLite, COPY on PostgreSQL) in the storage
    formats the importer's bulk writer uses; seeding is not what is measured.
    """
    from sqlalchemy import text

    from models.db import make_engine, unit_of_work
    from services.cipher import get_cipher
    from services.household_writer import OrderedIds
    from tests.factories import ensure_regions

    _prepare(url)
    new_id = OrderedIds()  # time-ordered keys: appended to the primary-key index, not scattered
    engine = make_engine(url)
    pg = url.startswith("postgresql")
    cipher = get_cipher().current
    with unit_of_work(engine) as session:
        ensure_regions(session, VILLAGE)
    now = "2026-01-01 00:00:00.000000"
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        # secondary indexes are built once after the load (a sort), not row by row
        for name in DEFERRED:
            cur.execute(f"DROP INDEX {name}")
        if not pg:
            cur.execute("PRAGMA cache_size = -262144")
            cur.execute("PRAGMA synchronous = OFF")
        step = 100_000
        for start in range(0, MEMBERS, step):
            ids = [_idn("150422", i) for i in range(start, min(start + step, MEMBERS))]
            hashes = cipher.lookup_hash_many(list(ids))
            households: list[tuple[Any, ...]] = []
            members: list[tuple[Any, ...]] = []
            hid = ""
            for k, digest in enumerate(hashes):
                i = start + k
                pos = i % PER_HOUSEHOLD
                if pos == 0:
                    hid = new_id()
                    households.append(
                        (
                            hid,
                            f"B{i // PER_HOUSEHOLD:08d}",
                            "王五",
                            "v1:placeholder",
                            digest,
                            PER_HOUSEHOLD,
                            VILLAGE,
                            VILLAGE[:9],
                            VILLAGE[:6],
                            "一般困难",
                            "常补",
                            560.0,
                            "2020-01-01",
                            "active",
                            False,
                            now,
                            now,
                        )
                    )
                role = "户主" if pos == 0 else "子女"
                members.append((new_id(), hid, "王五", role, "v1:placeholder", digest, False, False, pos))
            if pg:
                with cur.copy(f"COPY household ({H_COLS}) FROM STDIN") as copy:
                    for row in households:
                        copy.write_row(row)
                with cur.copy(f"COPY household_member ({M_COLS}) FROM STDIN") as copy:
                    for row in members:
                        copy.write_row(row)
            else:
                cur.executemany(
                    f"INSERT INTO household ({H_COLS}) VALUES ({', '.join('?' * 17)})", households
                )
                cur.executemany(
                    f"INSERT INTO household_member ({M_COLS}) VALUES ({', '.join('?' * 9)})", members
                )
            raw.commit()
        for name in DEFERRED:
            table, column = DEFERRED[name]
            cur.execute(f"CREATE INDEX {name} ON {table} ({column})")
        raw.commit()
    finally:
        raw.close()
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
    engine.dispose()


def _file(month_day: date) -> tuple[bytes, list[str]]:
    """The death file: MATCHES members of the register spread over it, the rest not on it."""
    every = max(MEMBERS // max(MATCHES, 1), 1)
    lines = ["姓名,身份证号,死亡日期,数据来源"]
    on_register: list[str] = []
    for j in range(RECORDS):
        if j < MATCHES:
            idn = _idn("150422", (j * every) % MEMBERS)
            on_register.append(idn)
        else:
            idn = _idn("150423", j)
        lines.append(f"王五,{idn},{month_day.isoformat()},殡仪馆")
    return ("\n".join(lines) + "\n").encode(), on_register


def _measure(url: str, out: Any) -> None:
    from sqlmodel import Session

    from models.db import make_engine
    from services import crosschecks
    from services.cipher import get_cipher
    from services.context import Actor
    from services.rounds import local_today

    today = local_today()
    month = f"{today.year}-{today.month:02d}"
    data, _ = _file(date(today.year - 1, today.month, 1))
    engine = make_engine(url)
    result: dict[str, Any] = {"members": MEMBERS, "records": RECORDS, "on_register": MATCHES}
    with Session(engine) as session:
        records, errors, _ = crosschecks.read_records(
            data, "d.csv", crosschecks.DEATH_COLUMNS, crosschecks.DEATH_REQUIRED, True, today
        )
        assert not errors, errors[:3]
        t = time.perf_counter()
        pairs = crosschecks.match(session, records)
        result["match_s"] = round(time.perf_counter() - t, 3)
        result["matched"] = len(pairs)
        # the baseline: one keyed hash and one query per record, on a sample, scaled to the file
        sample = [r.id_number for r in records[:BASELINE]]
        cipher = get_cipher().current
        t = time.perf_counter()
        found = crosschecks.find_members_one_by_one(session, [cipher.lookup_hash(x) or "" for x in sample])
        per = (time.perf_counter() - t) / max(len(sample), 1)
        result["baseline_sample"] = len(sample)
        result["baseline_sample_found"] = found
        result["baseline_per_record_ms"] = round(per * 1000, 4)
        result["baseline_est_s"] = round(per * RECORDS, 2)
        result["speedup"] = round(per * RECORDS / max(result["match_s"], 1e-9), 1)
        session.rollback()
    with Session(engine) as session:
        t = time.perf_counter()
        report = crosschecks.import_deaths(session, Actor.system("bench"), data, "deaths.csv", month)
        result["import_s"] = round(time.perf_counter() - t, 3)
        result["import_findings"] = report.findings
        result["import_ledger_items"] = report.ledger_items
        session.rollback()  # the next run of the benchmark finds the same register
    engine.dispose()
    result["peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    result["load_avg_1m"] = round(os.getloadavg()[0], 1)  # the machine is shared: read figures with it
    result["ok"] = result["match_s"] <= 3 and result["speedup"] >= 20 and result["peak_mb"] < 500
    out.put(result)


def _run(url: str) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    t = time.perf_counter()
    seeder = ctx.Process(target=_seed, args=(url,))
    seeder.start()
    seeder.join()
    if seeder.exitcode != 0:
        return {"error": f"seeding failed ({seeder.exitcode})"}
    seed_s = round(time.perf_counter() - t, 1)
    q = ctx.Queue()
    p = ctx.Process(target=_measure, args=(url, q))
    p.start()
    result: dict[str, Any] = q.get()
    p.join()
    result["seed_s"] = seed_s
    return result


def _duplicates() -> dict[str, Any]:
    """Duplicate detection of one new complaint against 100k open cases (bench/case_duplicates.py)."""
    spec = importlib.util.spec_from_file_location(
        "bench_case_duplicates", Path(__file__).with_name("case_duplicates.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    figures: dict[str, Any] = {}
    for name, pg in (("sqlite", None), ("postgresql", f"{PG_URL}_dup")):
        if ONLY and ONLY != name:
            continue
        figures[name] = module.measure(pg)
    return figures


def main() -> None:
    """Runs both databases and prints one JSON line."""
    out: dict[str, Any] = {}
    tmp = tempfile.mkdtemp(prefix="feijian-bench-xc-")
    for name, url in (("sqlite", f"sqlite:///{tmp}/bench.sqlite"), ("postgresql", PG_URL)):
        if ONLY and ONLY != name:
            continue
        try:
            out[f"deaths_{name}"] = _run(url)
        finally:
            _drop(url)
    out["case_duplicates"] = _duplicates()
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
