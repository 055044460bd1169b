"""Residents benchmark: public status lookups on the API with PostgreSQL.

The API runs as its own uvicorn process (as in production) on a fresh PostgreSQL database
(BENCH_PG_URL, created and dropped here) holding BENCH_APPS applications. Two measurements:

- open loop: correct lookups offered at BENCH_RATE (200) requests/s for BENCH_S (10) seconds,
  whatever the answers do, from many client addresses (residents' phones; X-Forwarded-For) to
  BENCH_WORKERS (2) API processes; latency from each request's scheduled time, so a server that falls
  behind shows it (`p50_ms`, `p95_ms`, `p99_ms`, `achieved_rps`, `errors`), and the CPU time the API
  processes spent per request (`server_cpu_ms_per_request`: what the host must supply, whatever else
  runs on it); `audit_events` / `chain_ok`: one event per lookup, and the chain still verifies;
- timing of failures: failed lookups for an existing application (wrong name) and for a number that
  does not exist, interleaved one at a time (BENCH_FAILS of each); `median_existing_ms`,
  `median_missing_ms` and their difference `median_diff_ms` (the issue asks < 2 ms). Each request
  comes from another address (X-Forwarded-For, trusted from 127.0.0.1 as uvicorn does by default)
  and each application takes at most four failures, so the throttle never answers instead.

Prints one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.config import new_key  # noqa: E402

os.environ.setdefault("FEIJIAN_SECRET_KEY", new_key())
os.environ.setdefault("FEIJIAN_PII_KEY", new_key())

import aiohttp  # noqa: E402
import httpx  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from models.db import make_engine, unit_of_work  # noqa: E402
from models.migrate import upgrade  # noqa: E402

PG_URL = os.environ.get(
    "BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/feijian_bench_residents"
)
RATE = int(os.environ.get("BENCH_RATE", "200"))
SECONDS = float(os.environ.get("BENCH_S", "10"))
WARMUP_S = float(os.environ.get("BENCH_WARMUP_S", "1"))
APPS = int(os.environ.get("BENCH_APPS", "300"))
FAILS = int(os.environ.get("BENCH_FAILS", "600"))
PORT = int(os.environ.get("BENCH_PORT", "8765"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
URL = f"http://127.0.0.1:{PORT}/api/v1/public/status"


def _recreate_db() -> None:
    admin_url, name = PG_URL.rsplit("/", 1)
    admin = create_engine(f"{admin_url}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def _drop_db() -> None:
    admin_url, name = PG_URL.rsplit("/", 1)
    admin = create_engine(f"{admin_url}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _seed() -> list[dict[str, str]]:
    from tests.factories import VILLAGE
    from tests.residents.helpers import make_application

    engine = make_engine(PG_URL)
    people = []
    with unit_of_work(engine) as s:
        for i in range(APPS):
            a = make_application(s, name=f"测试{i}", seed=i)
            people.append({"number": a.number, "id_number": a.id_number, "name": a.name})
    engine.dispose()
    assert VILLAGE
    return people


def _serve() -> subprocess.Popen[bytes]:
    env = dict(os.environ, FEIJIAN_DATABASE_URL=PG_URL, FEIJIAN_ENV="test", FEIJIAN_RELEASE_EVERY_S="0")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "api.asgi:app",
            "--port",
            str(PORT),
            "--workers",
            str(WORKERS),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,  # its own process group: the workers are stopped with it
    )
    deadline = time.monotonic() + 180  # a loaded host takes a while to import the app in every worker
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{PORT}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    _stop(proc)
    raise RuntimeError("the API did not start")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stops uvicorn and its worker processes (the whole process group)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2) if ordered else 0.0


async def _open_loop(people: list[dict[str, str]]) -> dict[str, Any]:
    """Correct lookups offered at RATE per second whatever the answers do (aiohttp: a lean client, so
    that the driver's own CPU, on the same host, takes as little as possible from the server).

    Each request is started at its scheduled time (no thousands of sleeping tasks up front) and its
    latency counts from that time. The first WARMUP_S seconds run at the same rate but are reported
    apart (`warmup_*`): the API's worker threads and database connections, and the driver's own
    connections, are opened then, as on any server that has just started."""
    latencies: list[float] = []
    warmup: list[float] = []
    errors = 0
    kinds: dict[str, int] = {}
    n_warm = int(RATE * WARMUP_S)
    total = n_warm + int(RATE * SECONDS)
    bodies = [json.dumps(p).encode() for p in people]
    connector = aiohttp.TCPConnector(limit=400)
    timeout = aiohttp.ClientTimeout(total=10)
    cpu0 = time.process_time()
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as client:

        async def one(i: int, due: float) -> None:
            nonlocal errors
            try:
                headers = {
                    "X-Forwarded-For": f"172.16.{(i // 250) % 250}.{i % 250}",
                    "Content-Type": "application/json",
                }
                async with client.post(URL, data=bodies[i % len(bodies)], headers=headers) as r:
                    await r.read()
                    if r.status != 200:
                        errors += 1
                        kinds[str(r.status)] = kinds.get(str(r.status), 0) + 1
            except (aiohttp.ClientError, TimeoutError) as exc:
                errors += 1
                kinds[type(exc).__name__] = kinds.get(type(exc).__name__, 0) + 1
            (warmup if i < n_warm else latencies).append((time.perf_counter() - due) * 1000)

        start = time.perf_counter()
        tasks = []
        for i in range(total):
            due = start + i / RATE
            wait = due - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            tasks.append(asyncio.create_task(one(i, due)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    return {
        "requests": total - n_warm,
        "achieved_rps": round(total / elapsed, 1),
        "p50_ms": _pct(latencies, 0.50),
        "p95_ms": _pct(latencies, 0.95),
        "p99_ms": _pct(latencies, 0.99),
        "errors": errors,
        "error_kinds": kinds,
        "warmup_s": WARMUP_S,
        "warmup_requests": n_warm,
        "warmup_p95_ms": _pct(warmup, 0.95),
        "warmup_max_ms": round(max(warmup), 2) if warmup else 0.0,
        "client_cpu_ms_per_request": round((time.process_time() - cpu0) * 1000 / total, 2),
    }


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children still running (the uvicorn workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry.name) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _chain() -> dict[str, object]:
    from sqlmodel import Session

    from services import audit

    engine = make_engine(PG_URL)
    with Session(engine) as s:
        report = audit.verify_chain(s)
    engine.dispose()
    return {"audit_events": report.count, "chain_ok": report.ok}


def _failures(people: list[dict[str, str]]) -> dict[str, float]:
    from services.residents_codes import new_number

    rng = random.Random(7)
    existing: list[float] = []
    missing: list[float] = []
    with httpx.Client(timeout=10) as client:
        for i in range(FAILS):
            for kind in rng.sample(["existing", "missing"], 2):
                person = people[(i // 4) % len(people)]
                body = (
                    dict(person, name="错误姓名")
                    if kind == "existing"
                    else dict(person, number=new_number("SQ"))
                )
                headers = {
                    "X-Forwarded-For": f"10.{i % 250}.{(i // 250) % 250}.{1 if kind == 'existing' else 2}"
                }
                t0 = time.perf_counter()
                r = client.post(URL, json=body, headers=headers)
                took = (time.perf_counter() - t0) * 1000
                if r.status_code != 404:
                    raise RuntimeError(
                        f"expected the one failure answer, got {r.status_code}: {r.text[:200]}"
                    )
                (existing if kind == "existing" else missing).append(took)
    med_e, med_m = statistics.median(existing), statistics.median(missing)
    return {
        "failed_lookups_each": FAILS,
        "median_existing_ms": round(med_e, 3),
        "median_missing_ms": round(med_m, 3),
        "median_diff_ms": round(abs(med_e - med_m), 3),
    }


def main() -> None:
    _recreate_db()
    upgrade(PG_URL)
    people = _seed()
    seeded = _chain()["audit_events"]
    proc = _serve()
    try:
        failures = _failures(people)
        cpu0 = _cpu_seconds(proc.pid)
        load = asyncio.run(_open_loop(people))
        load["server_cpu_ms_per_request"] = round(
            (_cpu_seconds(proc.pid) - cpu0) * 1000 / (load["requests"] + load["warmup_requests"]), 2
        )
        chain = _chain()
    finally:
        _stop(proc)
        _drop_db()
    result = {
        "bench": "residents",
        "database": "postgresql",
        "workers": WORKERS,
        "rate": RATE,
        "seconds": SECONDS,
        "apps": APPS,
    }
    result |= load | failures | chain
    chain["lookup_events"] = int(str(chain["audit_events"])) - int(str(seeded))
    # every lookup, answered or failed, audited once (the warm-up's too)
    expected_events = load["requests"] + load["warmup_requests"] + 2 * FAILS
    result["ok"] = (
        load["p95_ms"] < 50
        and failures["median_diff_ms"] < 2
        and load["errors"] == 0
        and chain["chain_ok"] is True
        and chain["lookup_events"] == expected_events
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
