"""Load benchmark: N simulated inspectors doing visit traffic against `feijian serve --workers 4` on
PostgreSQL, then against `--workers 1` in the same run, so the scaling ratio is measured at once.

Each inspector (a plain asyncio task with an httpx client, its own API token) runs one home visit:
list its tasks (GET /me/assignments), open the visit (POST /visits), check in (a live location
event), answers (step timings and a note, as the bot posts them while the inspector walks the
checklist), upload one small camera-like JPEG with GPS (POST /visits/{id}/evidence), and submit
(POST /visits/{id}/finish with every answer). Requests carry idempotency keys as the bot's do.
Inspectors start over the first `--ramp` seconds and then go flat out (closed loop, `--think`
seconds between requests, 0 by default): this measures capacity, not a realistic day.

Seeding is done in this process, straight into the database (fresh PostgreSQL database per run,
households and accounts through the same builders as the tests, tokens through `services.auth`).
Media go to a local folder; the S3 backend is another branch's: when FEIJIAN_MEDIA_URL is set it is
passed to the server and named in the output, otherwise the output says "local folder".

Figures: requests/s over the whole run, p50/p95 per endpoint (ms), errors (non-2xx and transport
failures, by endpoint), visits submitted, and each worker's peak RSS (VmHWM from /proc). With 1
worker, uvicorn serves in its main process; with more, the workers are the supervisor's children.

    python bench/load.py                    # 500 inspectors, workers 4 then 1
    python bench/load.py --quick            # 40 inspectors, a smoke run
    BENCH_PG_ADMIN_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres python bench/load.py

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
HOME = (43.98, 119.38)
API = "/api/v1"


class Seeded(NamedTuple):
    """One inspector's token and the assignment it visits in this run."""

    token: str
    assignment_id: str
    photo: bytes


class Stats:
    """Latencies and errors per endpoint for one run (a plain class: the script loads unregistered)."""

    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = {}
        self.errors: dict[str, int] = {}
        self.samples: dict[str, str] = {}  # one error text per endpoint
        self.submitted = 0

    def add(self, name: str, ms: float, ok: bool, detail: str = "") -> None:
        self.latencies.setdefault(name, []).append(ms)
        if not ok:
            self.errors[name] = self.errors.get(name, 0) + 1
            self.samples.setdefault(name, detail[:200])


def small_jpeg(seed: int) -> bytes:
    """A distinct 320x240 JPEG with EXIF capture time and GPS at the household (a few KB)."""
    from PIL import Image

    rng = random.Random(seed)
    img = Image.new("RGB", (320, 240), (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    for _ in range(12):
        x, y = rng.randrange(300), rng.randrange(220)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        img.paste(colour, (x, y, min(320, x + rng.randrange(10, 120)), min(240, y + rng.randrange(10, 90))))
    when = datetime.now(UTC)
    exif = Image.Exif()
    local = when + timedelta(hours=8)
    exif[0x8769] = {0x9003: local.strftime("%Y:%m:%d %H:%M:%S"), 0x9011: "+08:00"}

    def dms(v: float) -> tuple[float, float, float]:
        d = int(v)
        m = int((v - d) * 60)
        return (float(d), float(m), round(((v - d) * 60 - m) * 60, 4))

    exif[0x8825] = {
        1: "N",
        2: dms(HOME[0]),
        3: "E",
        4: dms(HOME[1]),
        7: (float(when.hour), float(when.minute), float(when.second)),
        29: when.strftime("%Y:%m:%d"),
    }
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=80, exif=exif)
    return buf.getvalue()


def fresh_database(name: str) -> str:
    """Creates (or re-creates) a PostgreSQL database and returns its URL, migrated."""
    from sqlalchemy import text

    from models.db import make_engine
    from models.migrate import upgrade

    admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    return url


def drop_database(name: str) -> None:
    from sqlalchemy import text

    from models.db import make_engine

    admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def seed(url: str, inspectors: int, photo_seed: int) -> list[Seeded]:
    """One dispatched round; per inspector a household, a one-person team, a released assignment
    for today and a token."""
    from models.db import make_engine, unit_of_work
    from models.round import (
        Assignment,
        AssignmentStatus,
        InspectionRound,
        RoundStatus,
        RoundTeam,
        RoundType,
        TeamMember,
    )
    from models.types import utcnow
    from models.user import Role, User
    from services import auth
    from tests.factories import make_household

    engine = make_engine(url)
    today = date.today()
    out: list[Seeded] = []
    with unit_of_work(engine) as s:
        r = InspectionRound(
            name="压测轮次",
            type=RoundType.flying,
            scope_code="150422",
            window_start=today,
            window_end=today + timedelta(days=1),
            checklist_ids=["home_visit"],
            created_by="bench",
            status=RoundStatus.dispatched,
        )
        s.add(r)
        s.flush()
        for i in range(inspectors):
            user = User(login=f"ld{i:04d}", name=f"检查员{i}", role=Role.inspector)
            s.add(user)
            team = RoundTeam(round_id=r.id, number=i + 1, label=f"第{i + 1}组")
            s.add(team)
            s.flush()
            s.add(TeamMember(team_id=team.id, user_id=user.id))
            h = make_household(s, f"LD{i:05d}", address=f"林东镇{i + 1}号")
            a = Assignment(
                round_id=r.id,
                team_id=team.id,
                household_id=h.id,
                visit_date=today,
                status=AssignmentStatus.released,
                released_at=utcnow(),
            )
            s.add(a)
            s.flush()
            token, _ = auth.issue_token(s, user, ttl_hours=12, name="bench")
            out.append(Seeded(token, str(a.id), small_jpeg(photo_seed * 100_000 + i)))
    engine.dispose()
    return out


def answers_template() -> list[dict[str, Any]]:
    """Every answer of a completed home visit (evidence filled in per visit)."""
    import checklists
    from tests.checklists.checklists_testkit import walk

    state = walk(checklists.load_checklist("home_visit"))
    return [{"step_id": x.step_id, "value": x.value, "evidence": bool(x.evidence)} for x in state.answers]


class Server:
    """`feijian serve --workers N` as its own process tree."""

    def __init__(self, url: str, workers: int, media: Path, log: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "FEIJIAN_DATABASE_URL": url,
            "FEIJIAN_MEDIA_DIR": str(media),
            "FEIJIAN_ENV": "production",
        }
        feijian = shutil.which("feijian", path=str(Path(sys.executable).parent)) or "feijian"
        args = [feijian, "serve", "--workers", str(workers), "--port", str(self.port)]
        self.log = log.open("wb")
        self.proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=self.log, stderr=self.log)
        self.workers = workers

    async def ready(self, timeout: float = 180) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient() as client:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"feijian serve exited with {self.proc.returncode}")
                try:
                    # Every worker must be up: ask more times than there are workers.
                    ok = 0
                    for _ in range(self.workers * 3):
                        r = await client.get(self.url + "/healthz", timeout=2)
                        ok += r.status_code == 200
                    if ok == self.workers * 3 and len(self.worker_pids()) == self.workers:
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("feijian serve did not become ready")
                await asyncio.sleep(0.3)

    def worker_pids(self) -> list[int]:
        """The processes that serve requests (the main one alone with 1 worker)."""
        if self.workers == 1:
            return [self.proc.pid]
        out = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == self.proc.pid and b"resource_tracker" not in cmd:
                out.append(int(entry.name))
        return sorted(out)

    def peak_rss_mb(self) -> list[float]:
        """Each worker's peak resident memory (VmHWM), MB."""
        out = []
        for pid in self.worker_pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        out.append(round(int(line.split()[1]) / 1024, 1))
            except OSError:
                continue
        return out

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


async def inspector(
    base: str, who: Seeded, template: list[dict[str, Any]], stats: Stats, ramp: float, think: float, n: int
) -> None:
    """One inspector's visit, request by request."""
    import httpx

    rng = random.Random(who.assignment_id)
    await asyncio.sleep(ramp * rng.random())
    headers = {"Authorization": f"Bearer {who.token}"}
    async with httpx.AsyncClient(base_url=base + API, headers=headers, timeout=120) as client:

        async def call(name: str, method: str, path: str, **kw: Any) -> Any:
            if think:
                await asyncio.sleep(rng.uniform(0.5, 1.5) * think)
            kw.setdefault("headers", {})["Idempotency-Key"] = f"{name}-{uuid.uuid4()}"
            t0 = time.perf_counter()
            try:
                r = await client.request(method, path, **kw)
            except httpx.HTTPError as exc:
                stats.add(name, (time.perf_counter() - t0) * 1000, False, repr(exc))
                return None
            ok = r.status_code < 300
            stats.add(name, (time.perf_counter() - t0) * 1000, ok, f"{r.status_code} {r.text}")
            return r.json() if ok else None

        if await call("list_tasks", "GET", "/me/assignments") is None:
            return
        visit = await call("open_visit", "POST", "/visits", json={"assignment_id": who.assignment_id})
        if visit is None:
            return
        vid = visit["id"]
        now = datetime.now(UTC).isoformat()
        fix = {"kind": "location", "lat": HOME[0], "lon": HOME[1], "at": now, "live": True, "accuracy_m": 8}
        if await call("check_in", "POST", f"/visits/{vid}/events", json={"events": [fix]}) is None:
            return
        timings = [{"kind": "step_time", "step_id": a["step_id"], "seconds": 5.0} for a in template[:20]]
        timings.append({"kind": "note", "text": "住户情况与档案一致", "at": now})
        if await call("answers", "POST", f"/visits/{vid}/events", json={"events": timings}) is None:
            return
        files = {"file": (f"p{n}.jpg", who.photo, "image/jpeg")}
        ev = await call(
            "upload_evidence",
            "POST",
            f"/visits/{vid}/evidence",
            files=files,
            data={"source": "telegram_document"},
        )
        if ev is None:
            return
        answers = [
            {"step_id": a["step_id"], "value": a["value"], "evidence": [ev["id"]] if a["evidence"] else []}
            for a in template
        ]
        done = await call("submit", "POST", f"/visits/{vid}/finish", json={"answers": answers})
        if done is not None and done.get("status") == "submitted":
            stats.submitted += 1


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return round(values[0], 1)
    return round(statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1], 1)


async def one_run(
    workers: int, args: argparse.Namespace, tmp: Path, template: list[dict[str, Any]]
) -> dict[str, Any]:
    name = f"feijian_load_{os.getpid()}_w{workers}"
    url = fresh_database(name)
    people = seed(url, args.inspectors, workers)
    server = Server(url, workers, tmp / f"media_w{workers}", tmp / f"serve_w{workers}.log")
    try:
        await server.ready()
        stats = Stats()
        t0 = time.perf_counter()
        await asyncio.gather(
            *(
                inspector(server.url, p, template, stats, args.ramp, args.think, i)
                for i, p in enumerate(people)
            )
        )
        wall = time.perf_counter() - t0
        rss = server.peak_rss_mb()
    finally:
        server.stop()
        drop_database(name)
    requests = sum(len(v) for v in stats.latencies.values())
    return {
        "workers": workers,
        "requests": requests,
        "seconds": round(wall, 2),
        "requests_per_s": round(requests / wall, 1) if wall else 0.0,
        "visits_submitted": stats.submitted,
        "p50_ms": {k: _pct(v, 50) for k, v in stats.latencies.items()},
        "p95_ms": {k: _pct(v, 95) for k, v in stats.latencies.items()},
        "errors": sum(stats.errors.values()),
        "errors_by_endpoint": stats.errors,
        "error_samples": stats.samples,
        "peak_rss_mb_per_worker": rss,
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    template = answers_template()
    tmp = Path(tempfile.mkdtemp(prefix="feijian-load-"))
    runs = [await one_run(w, args, tmp, template) for w in args.workers]
    out: dict[str, Any] = {
        "bench": "load",
        "inspectors": args.inspectors,
        "database": "postgresql",
        "media": (
            f"FEIJIAN_MEDIA_URL={os.environ['FEIJIAN_MEDIA_URL']} (passed to the server)"
            if os.environ.get("FEIJIAN_MEDIA_URL")
            else "local folder (FEIJIAN_MEDIA_URL unset)"
        ),
        "cpu_cores": os.cpu_count(),
        "think_s": args.think,
        "ramp_s": args.ramp,
        "runs": runs,
    }
    if len(runs) >= 2 and runs[-1]["requests_per_s"]:
        out["scaling_ratio"] = round(runs[0]["requests_per_s"] / runs[-1]["requests_per_s"], 2)
    if any(r["errors"] for r in runs):
        out["server_logs"] = str(tmp)  # kept to read what went wrong
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--inspectors", type=int, default=500)
    p.add_argument("--workers", type=lambda s: [int(x) for x in s.split(",")], default=[4, 1])
    p.add_argument("--ramp", type=float, default=5.0, help="seconds over which inspectors start")
    p.add_argument("--think", type=float, default=0.0, help="mean pause before each request (s)")
    p.add_argument("--quick", action="store_true", help="40 inspectors, 1 s ramp: a smoke run")
    args = p.parse_args(argv)
    if args.quick:
        args.inspectors, args.ramp = min(args.inspectors, 40), 1.0
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    from services.config import new_key

    os.environ.setdefault("FEIJIAN_SECRET_KEY", new_key())
    os.environ.setdefault("FEIJIAN_PII_KEY", new_key())
    print(json.dumps(asyncio.run(main_async(args)), ensure_ascii=False))


if __name__ == "__main__":
    main()
