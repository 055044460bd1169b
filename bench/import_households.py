"""Benchmark: import 100,000 register rows into SQLite and PostgreSQL; baseline = one ORM add+commit per row.

Prints one JSON line. Each measurement runs in its own process so its peak memory is its own.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("FEIJIAN_PII_KEY", "ZmVpamlhbi1iZW5jaC1waWkta2V5LTMyLWJ5dGVzISE=")
os.environ.setdefault("FEIJIAN_SECRET_KEY", "ZmVpamlhbi1iZW5jaC1zZWNyZXQta2V5LTMyYnl0ZSE=")

ROWS = int(os.environ.get("BENCH_ROWS", "100000"))
BASELINE_ROWS = int(os.environ.get("BENCH_BASELINE_ROWS", "2000"))
# a database of this run's own, so two people benchmarking on one host never drop each other's
PG_URL = os.environ.get(
    "BENCH_PG_URL", f"postgresql+psycopg://postgres@127.0.0.1:5432/feijian_bench_{os.getpid()}"
)


def _csv(rows: int) -> bytes:
    from services.pii import id_check_char

    rng = random.Random(1)
    lines = [
        "低保证号,户主姓名,身份证号,联系电话,家庭人口,住址,所属村(居),经度,纬度,坐标系,保障类别,补助类型,月保障金额"
    ]
    for i in range(rows):
        first17 = (
            f"150422{rng.randint(1940, 2000)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{i % 1000:03d}"
        )
        idn = first17 + id_check_char(first17)
        lines.append(
            f"B{i:07d},王五,{idn},138{i:08d},3,林东镇{i}号,150422100200,119.38,43.98,WGS84,一般困难,常补,560"
        )
    return ("\n".join(lines) + "\n").encode()


def _prepare(url: str) -> None:
    from sqlalchemy import create_engine, text

    if url.startswith("postgresql"):
        base, name = url.rsplit("/", 1)
        admin = create_engine(base + "/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            c.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    from models.db import make_engine, unit_of_work
    from models.migrate import upgrade
    from services.context import Actor
    from services.regions import load_packaged

    upgrade(url)
    with unit_of_work(make_engine(url)) as s:
        load_packaged(s, Actor.system("bench"))


def _drop(url: str) -> None:
    from sqlalchemy import create_engine, text

    base, name = url.rsplit("/", 1)
    admin = create_engine(base + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _run_import(url: str, data: bytes, q: mp.Queue) -> None:  # type: ignore[type-arg]
    from models.db import make_engine, unit_of_work
    from services.context import Actor
    from services.household_import import import_households

    engine = make_engine(url)
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    cpu0 = usage0.ru_utime + usage0.ru_stime
    t = time.perf_counter()
    with unit_of_work(engine) as s:
        report = import_households(s, Actor.system("bench"), data, "bench.csv")
    elapsed = time.perf_counter() - t
    usage = resource.getrusage(resource.RUSAGE_SELF)
    parser = resource.getrusage(resource.RUSAGE_CHILDREN)  # the parser process, once it has ended
    assert report.created == ROWS, report.as_dict()
    q.put(
        {
            "seconds": elapsed,
            "peak_mb": usage.ru_maxrss / 1024,
            "cpu_s": usage.ru_utime + usage.ru_stime - cpu0,  # this process's CPU: less noisy on a busy host
            "parser_cpu_s": parser.ru_utime + parser.ru_stime,
            "parser_peak_mb": parser.ru_maxrss / 1024,
        }
    )


def _run_baseline(url: str, q: mp.Queue) -> None:  # type: ignore[type-arg]
    from decimal import Decimal

    from sqlmodel import Session

    from models.db import make_engine
    from models.household import Household, SubsidyType, Tier
    from services.cipher import get_cipher

    engine = make_engine(url)
    cipher = get_cipher()
    t = time.perf_counter()
    with Session(engine) as s:
        for i in range(BASELINE_ROWS):
            idn = "15042219900101001X"
            s.add(
                Household(
                    register_no=f"N{i:07d}",
                    head_name="王五",
                    head_id_enc=cipher.encrypt(idn),
                    head_id_hash=cipher.lookup_hash(idn),
                    village_code="150422100200",
                    township_code="150422100",
                    county_code="150422",
                    tier=Tier.ordinary,
                    subsidy_type=SubsidyType.regular,
                    monthly_amount=Decimal("560"),
                )
            )
            s.commit()
    q.put({"seconds": time.perf_counter() - t})


def _in_process(target, *args):  # type: ignore[no-untyped-def]
    q: mp.Queue = mp.Queue()  # type: ignore[type-arg]
    p = mp.Process(target=target, args=(*args, q))
    p.start()
    result = q.get()
    p.join()
    return result


def main() -> None:
    """Runs the benchmark and prints one JSON line."""
    data = _csv(ROWS)
    out: dict[str, object] = {"bench": "import_households", "rows": ROWS}
    out["load_avg_before"] = round(os.getloadavg()[0], 2)  # the host is shared: say how busy it was
    tmp = tempfile.mkdtemp(prefix="feijian-bench-")
    for name, url in (("sqlite", f"sqlite:///{tmp}/bench.sqlite"), ("postgresql", PG_URL)):
        try:
            _prepare(url)
        except Exception as exc:  # PostgreSQL may be absent on a laptop: say so in the line
            out[name] = {"skipped": type(exc).__name__}
            continue
        imp = _in_process(_run_import, url, data)
        base = _in_process(_run_baseline, url)
        rate = ROWS / imp["seconds"]
        base_rate = BASELINE_ROWS / base["seconds"]
        out[name] = {
            "rows_per_s": round(rate),
            "seconds": round(imp["seconds"], 2),
            "peak_mb": round(imp["peak_mb"]),
            "import_cpu_s": round(imp["cpu_s"], 2),
            "parser_cpu_s": round(imp["parser_cpu_s"], 2),
            "parser_peak_mb": round(imp["parser_peak_mb"]),
            "baseline_rows_per_s": round(base_rate),
            "speedup": round(rate / base_rate, 1),
        }
        if name == "postgresql":
            _drop(url)
    out["load_avg_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
