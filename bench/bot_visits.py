"""Bot benchmark, guided visits: 50 simulated inspectors each run a full home visit at once.

The bot runs as its own process (as in production) against the sandbox and the store, both served
from this process (the store on PostgreSQL as in production; `BENCH_STORE_DB=sqlite` runs it on
the embedded default).
Every inspector binds with an invite, then: /visit, picks the assignment, shares a live location,
answers every step of the home-visit checklist (buttons, multi-choice toggles, typed numbers and
text) and sends the photos it needs as files (fresh JPEGs with GPS at the household: the three core
steps, the house and the signed form, i.e. the five a completed home visit requires), then submits.
They start within the first BENCH_RAMP_S (5) seconds; each action follows the bot's reply to the
previous one after a pause of BENCH_THINK_S (2 s on average; 0 = flat out, a capacity test).

Step latency is from the user's action to the bot's reply as the sandbox receives it (the next
prompt; a toggle's keyboard edit). Photo steps include the upload to the store and its verdict, so
they are reported apart as well. "Stored" is from the Submit press to the visit being `submitted`
in the store's database. Bot memory is the bot process's peak RSS (VmHWM).

Prints one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.config import new_key  # noqa: E402

os.environ.setdefault("FEIJIAN_SECRET_KEY", new_key())
os.environ.setdefault("FEIJIAN_PII_KEY", new_key())

from sqlalchemy import text  # noqa: E402
from sqlmodel import select  # noqa: E402

from models.db import make_engine, unit_of_work  # noqa: E402
from models.migrate import upgrade  # noqa: E402
from models.round import (  # noqa: E402
    Assignment,
    AssignmentStatus,
    InspectionRound,
    RoundStatus,
    RoundTeam,
    RoundType,
    TeamMember,
)
from models.types import utcnow  # noqa: E402
from models.user import Role  # noqa: E402
from models.visit import Visit, VisitStatus  # noqa: E402
from sandbox import AsyncSandboxClient, SandboxServer, make_token  # noqa: E402
from services import invites, telegram  # noqa: E402
from services.context import Actor  # noqa: E402
from tests.factories import make_household, make_user  # noqa: E402
from tests.visit_helpers import jpeg_with_gps  # noqa: E402

INSPECTORS = int(os.environ.get("BENCH_INSPECTORS", "50"))
# PostgreSQL, as in production; BENCH_STORE_DB=sqlite runs the store on the embedded default.
STORE_DB = os.environ.get("BENCH_STORE_DB", "postgresql")
RAMP_S = float(os.environ.get("BENCH_RAMP_S", "5"))
# Mean pause before each action (uniform 0.5x-1.5x). A person reads, asks and types for far longer;
# 0 drives the bot flat out, and step latency then measures queueing (inspectors / throughput).
THINK_S = float(os.environ.get("BENCH_THINK_S", "2"))
HOME = (43.98, 119.38)
FLOW_MARKS = ("/back", "走访", "请选择", "无法连接")  # texts of the visit's replies

# (kind, value): press a button by its value, toggle multi-choice ids then Done, type, send a photo.
SCRIPT: list[tuple[str, Any]] = [  # home_visit version 2, a clean household (35 prompts)
    ("type", "2"),
    ("press", "a:home"),
    ("press", "a:yes"),
    ("photo", None),
    ("multi", ["head", "family"]),
    ("press", "a:yes"),
    ("photo", None),
    ("press", "a:yes"),
    ("type", "1234"),
    ("type", "3"),
    ("type", "1"),
    ("press", "a:no"),
    ("type", "0"),
    ("multi", ["healthy"]),
    ("multi", ["none"]),
    ("press", "a:own_ordinary"),
    ("photo", None),
    ("press", "a:no"),
    ("multi", ["motorcycle"]),
    ("press", "a:hard"),
    ("press", "a:passbook"),
    ("type", "6"),
    ("type", "0"),
    ("type", "3360"),
    ("press", "a:household"),
    ("press", "a:no"),
    ("press", "a:no"),
    ("press", "a:no"),
    ("press", "a:yes"),
    ("press", "a:within_6m"),
    ("press", "a:no_change"),
    ("multi", ["none"]),
    ("press", "a:no"),
    ("press", "a:satisfied"),
    ("press", "a:yes"),
    ("photo", None),
    ("press", "pd"),
    ("press", "a:eligible"),
]


class Chats:
    """What the bot sent, per chat, as the sandbox receives it: reply times and the latest keyboard."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.lock = threading.Lock()
        self.waiting: dict[int, tuple[set[str], asyncio.Future[float]]] = {}
        self.keyboard: dict[int, tuple[int, dict[str, str]]] = {}  # chat → (message id, value → data)
        self.texts: dict[int, str] = {}

    def expect(self, chat: int, methods: set[str]) -> asyncio.Future[float]:
        fut: asyncio.Future[float] = self.loop.create_future()
        with self.lock:
            self.waiting[chat] = (methods, fut)
        return fut

    def seen(self, chat: int, method: str, result: Any) -> None:
        at = time.perf_counter()
        if isinstance(result, dict):
            markup = result.get("reply_markup") or {}
            rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
            with self.lock:
                if method == "sendmessage":
                    self.texts[chat] = str(result.get("text") or "")
                if rows:
                    values = {
                        b["callback_data"].split("|", 2)[2]: b["callback_data"]
                        for row in rows
                        for b in row
                        if b.get("callback_data")
                    }
                    self.keyboard[chat] = (int(result["message_id"]), values)
        if method == "sendmessage" and isinstance(result, dict):
            text = str(result.get("text") or "")
            if not any(mark in text for mark in FLOW_MARKS):
                return  # a notice (e.g. "new assignments released"), not the visit's reply
        with self.lock:
            entry = self.waiting.get(chat)
            if entry is None or method not in entry[0]:
                return
            del self.waiting[chat]
        fut = entry[1]
        self.loop.call_soon_threadsafe(lambda: fut.done() or fut.set_result(at))


def instrument(server: SandboxServer, chats: Chats) -> None:
    """Wraps the sandbox's method dispatcher to see every message the bot sends or edits."""
    sb: Any = server.sandbox
    original = sb.call

    def call(bot: Any, method: str, params: Any) -> Any:
        result = original(bot, method, params)
        name = method.lower()
        if name in ("sendmessage", "editmessagetext", "editmessagereplymarkup"):
            chat = params.values.get("chat_id")
            if chat is not None:
                chats.seen(int(chat), name, result)
        return result

    sb.call = call


STORE_MAIN = """
import os, socket, sys
from pathlib import Path
import uvicorn
from api.app import create_app
from models.db import make_engine
from services.config import Settings

sock = socket.socket()
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
sock.bind(("127.0.0.1", int(sys.argv[2])))
app = create_app(Settings(env="test", media_dir=Path(sys.argv[3])), engine=make_engine(sys.argv[1]))
uvicorn.Server(uvicorn.Config(app, log_level="error", access_log=False)).run(sockets=[sock])
"""


class Store:
    """The store API in its own process (as in production), its socket with TCP_NODELAY."""

    def __init__(self, url: str, tmp: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        args = [sys.executable, "-c", STORE_MAIN, url, str(port), str(tmp / "media")]
        self.proc = subprocess.Popen(args, cwd=ROOT, env=os.environ.copy())
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("the store did not start") from None
                time.sleep(0.05)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(20)


def _engine(tmp: Path) -> Any:
    if STORE_DB == "postgresql":
        from tests.conftest import PG_ADMIN_URL

        admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text('DROP DATABASE IF EXISTS "feijian_bench_visits" WITH (FORCE)'))
            conn.execute(text('CREATE DATABASE "feijian_bench_visits"'))
        admin.dispose()
        return make_engine(PG_ADMIN_URL.rsplit("/", 1)[0] + "/feijian_bench_visits")
    return make_engine(f"sqlite:///{tmp / 'store.sqlite'}")


def _world(engine: Any) -> tuple[str, list[str]]:
    """The bot's service token, and an invite code per inspector with one released assignment each."""
    today = date.today()
    codes = []
    with unit_of_work(engine) as s:
        token, _ = telegram.issue_bot_token(s, Actor.system())
        r = InspectionRound(
            name="压测轮次",
            type=RoundType.flying,
            scope_code="150422",
            window_start=today,
            window_end=today,
            checklist_ids=["home_visit"],
            created_by="bench",
            status=RoundStatus.dispatched,
        )
        s.add(r)
        s.flush()
        for i in range(INSPECTORS):
            user = make_user(s, f"bv{i:03d}", Role.inspector, home_township_code="150422100")
            team = RoundTeam(round_id=r.id, number=i + 1, label=f"第{i + 1}组")
            s.add(team)
            s.flush()
            s.add(TeamMember(team_id=team.id, user_id=user.id))
            h = make_household(s, f"BV{i:05d}", address=f"林东镇{i + 1}号")
            s.add(
                Assignment(
                    round_id=r.id,
                    team_id=team.id,
                    household_id=h.id,
                    visit_date=today,
                    status=AssignmentStatus.released,
                    released_at=utcnow(),
                )
            )
            s.flush()
            codes.append(invites.create_invite(s, Actor.system(), login=f"bv{i:03d}").code)
    return token, codes


async def inspector(
    client: AsyncSandboxClient,
    chats: Chats,
    uid: int,
    photos: list[bytes],
    steps: list[float],
    photo_steps: list[float],
    submitted: dict[int, float],
) -> None:
    """One inspector's whole visit (they arrive at their doorsteps over the first RAMP_S seconds)."""
    await asyncio.sleep(RAMP_S * (uid % INSPECTORS) / INSPECTORS)

    rng = random.Random(uid)

    async def act(action: Any, methods: set[str], into: list[float] | None = None) -> None:
        if THINK_S:
            await asyncio.sleep(rng.uniform(0.5, 1.5) * THINK_S)
        fut = chats.expect(uid, methods)
        t0 = time.perf_counter()
        await action
        at = await asyncio.wait_for(fut, 60)
        (steps if into is None else into).append((at - t0) * 1000)

    async def press(value: str, methods: set[str] = frozenset({"sendmessage"})) -> None:  # type: ignore[assignment]
        mid, values = chats.keyboard[uid]
        if value not in values:
            raise RuntimeError(f"no button {value} for {uid}: {sorted(values)} / {chats.texts.get(uid)}")
        await act(client.press(uid, mid, values[value]), methods)

    for _ in range(5):  # the list needs the store; a busy SQLite store may answer 5xx
        fut = chats.expect(uid, {"sendmessage"})
        await client.send_text(uid, "/visit")
        await asyncio.wait_for(fut, 60)
        if uid in chats.keyboard:
            break
        await asyncio.sleep(0.5)
    mid, values = chats.keyboard[uid]
    go = next(v for k, v in values.items() if k.startswith("go:"))
    for _ in range(5):  # as a person would: press again when the store could not be reached
        await act(client.press(uid, mid, go), {"sendmessage"})
        if "无法连接" not in chats.texts.get(uid, ""):
            break
        await asyncio.sleep(0.5)
    await act(client.live_location(uid, *HOME), {"sendmessage"})
    shots = iter(photos)
    for kind, value in SCRIPT:
        if kind == "press":
            await press(value)
        elif kind == "type":
            await act(client.send_text(uid, value), {"sendmessage"})
        elif kind == "multi":
            for choice in value:
                await press(f"m:{choice}", {"editmessagereplymarkup"})
            await press("md")
        elif kind == "photo":
            blob = next(shots)
            await act(
                client.send_photo(uid, blob, as_file=True, file_name="p.jpg", mime_type="image/jpeg"),
                {"sendmessage"},
                photo_steps,
            )
    if "走访小结" not in chats.texts.get(uid, ""):
        raise RuntimeError(f"no summary for {uid}: {chats.texts.get(uid)}")
    mid, values = chats.keyboard[uid]
    submitted[uid] = time.perf_counter()
    fut = chats.expect(uid, {"sendmessage"})
    await client.press(uid, mid, values["sub"])
    await asyncio.wait_for(fut, 60)


def _cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def _watch_stored(engine: Any, want: int, stored: dict[str, float], stop: asyncio.Event) -> None:
    """Records when each visit becomes `submitted` in the store."""

    def poll() -> list[str]:
        with unit_of_work(engine) as s:
            rows = s.exec(select(Visit.id).where(Visit.status == VisitStatus.submitted)).all()
            return [str(r) for r in rows]

    while not stop.is_set() and len(stored) < want:
        ids = await asyncio.to_thread(poll)
        now = time.perf_counter()
        for vid in ids:
            stored.setdefault(vid, now)
        await asyncio.sleep(0.05)


def _visit_owner(engine: Any) -> dict[str, int]:
    """Visit id → Telegram user id of its inspector."""
    from models.user import User

    with unit_of_work(engine) as s:
        rows = s.exec(select(Visit.id, User.telegram_user_id).join(User, User.id == Visit.inspector_id)).all()
        return {str(v): int(t) for v, t in rows if t is not None}


def _q(values: list[float], p: int) -> float:
    if len(values) < 2:
        return round(values[0], 1) if values else 0.0
    return round(statistics.quantiles(values, n=100)[p - 1], 1)


async def main() -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="feijian-bench-visits-"))
    print(f"working in {tmp}", file=sys.stderr)
    engine = _engine(tmp)
    upgrade(str(engine.url.render_as_string(hide_password=False)))
    store = Store(engine.url.render_as_string(hide_password=False), tmp)
    bot_token, codes = _world(engine)
    photos = [[jpeg_with_gps(*HOME, seed=i * 10 + k) for k in range(5)] for i in range(INSPECTORS)]
    sandbox = SandboxServer().start()
    token = make_token()
    sandbox.sandbox.register_bot(token)
    chats = Chats(asyncio.get_running_loop())
    instrument(sandbox, chats)
    env = os.environ | {
        "FEIJIAN_TELEGRAM_TOKEN": token,
        "FEIJIAN_TELEGRAM_API_URL": sandbox.bot_base_url,
        "FEIJIAN_TELEGRAM_FILE_URL": sandbox.bot_base_file_url,
        "FEIJIAN_STORE_URL": store.url,
        "FEIJIAN_STORE_TOKEN": bot_token,
        "FEIJIAN_BOT_DATABASE_URL": f"sqlite:///{tmp / 'bot.sqlite'}",
        "FEIJIAN_TELEGRAM_RATE": "0",  # the sandbox has no flood limit
    }
    level = os.environ.get("BENCH_LOG", "WARNING")
    code = f"import logging; logging.basicConfig(level=logging.{level})\nfrom bot.app import run; run()"
    cmd = [sys.executable, "-c", code]
    if os.environ.get("BENCH_PROFILE"):  # cProfile of the bot process, written at its graceful stop
        script = tmp / "run_bot.py"
        script.write_text(code)
        cmd = [sys.executable, "-m", "cProfile", "-o", os.environ["BENCH_PROFILE"], str(script)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    steps: list[float] = []
    photo_steps: list[float] = []
    submitted: dict[int, float] = {}
    stored: dict[str, float] = {}
    try:
        async with AsyncSandboxClient(sandbox.url, bot=token) as client:
            users = [await client.user(first_name=f"督查员{i}") for i in range(INSPECTORS)]
            for u, invite in zip(users, codes, strict=True):  # sign-up, not timed
                for _ in range(5):  # a busy SQLite store may answer 5xx: the code is not used up then
                    await client.send_text(u.id, f"/start {invite}")
                    m = await client.wait_for_message(u.id, lambda m: bool(m.text), timeout=30)
                    if "欢迎" in m.text:
                        break
                    await asyncio.sleep(0.2)
                else:
                    raise RuntimeError(f"sign-up failed: {m.text}")
            stop = asyncio.Event()
            watcher = asyncio.create_task(_watch_stored(engine, INSPECTORS, stored, stop))
            t0 = time.perf_counter()
            await asyncio.gather(
                *(
                    inspector(client, chats, u.id, photos[i], steps, photo_steps, submitted)
                    for i, u in enumerate(users)
                )
            )
            visits_s = time.perf_counter() - t0
            try:
                await asyncio.wait_for(watcher, 60)
            except TimeoutError:
                stop.set()
            rss = _peak_rss_mb(proc.pid)
            cpu = {
                "bot": round(_cpu_s(proc.pid), 1),
                "store": round(_cpu_s(store.proc.pid), 1),
                "sandbox_and_clients": round(time.process_time(), 1),
            }
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(20)
        sandbox.stop()
        store.stop()
    owners = _visit_owner(engine)
    to_store = sorted((stored[v] - submitted[owners[v]]) * 1000 for v in stored if owners.get(v) in submitted)
    everything = sorted(steps + photo_steps)
    return {
        "bench": "bot_visits",
        "store_db": STORE_DB,
        "inspectors": INSPECTORS,
        "photos_per_visit": 5,
        "ramp_s": RAMP_S,
        "think_s": THINK_S,
        "steps": len(everything),
        "seconds": round(visits_s, 1),
        "steps_per_s": round(len(everything) / visits_s, 1),
        "step_p50_ms": _q(everything, 50),
        "step_p95_ms": _q(everything, 95),
        "step_max_ms": round(everything[-1], 1) if everything else None,
        "non_photo_step_p95_ms": _q(sorted(steps), 95),
        "photo_step_p50_ms": _q(sorted(photo_steps), 50),
        "photo_step_p95_ms": _q(sorted(photo_steps), 95),
        "visits_stored": len(to_store),
        "submit_to_stored_p50_ms": _q(to_store, 50),
        "submit_to_stored_max_ms": round(to_store[-1], 1) if to_store else None,
        "bot_peak_rss_mb": round(rss, 1),
        "cpu_s": cpu,
        "targets": {"step_p95_ms": 150, "submit_to_stored_max_ms": 5000, "bot_peak_rss_mb": 300},
        "run": uuid.uuid4().hex[:6],
    }


if __name__ == "__main__":
    result = asyncio.run(main())
    print(json.dumps(result, ensure_ascii=False))
