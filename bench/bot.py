"""Bot benchmark: 50 simulated inspectors drive the Feijian bot and a bare echo bot (the baseline).

Each bot runs as its own process (the Feijian bot as in production: `from bot.app import run; run()`;
the echo bot is bench/echo_bot.py) against the same sandbox, one after the other, and goes through
the same two modes with the same simulated users:

- closed loop: each inspector loops /help, /lang, a language button, a location, /cancel, waiting
  for each reply before the next action (BENCH_ROUNDS rounds);
- open loop: the same actions offered at a fixed BENCH_OPEN_RATE (50) updates per second for
  BENCH_OPEN_S (20) seconds whatever the replies do, round-robin over the inspectors. Latency is from
  the action's scheduled time, so a bot that falls behind shows it.

Latency is from the user action to the bot's reply (sendMessage or editMessageText) as the sandbox
receives it; the store is involved only through the outbox (language sync), which is not timed.
CPU per update is the bot process's own CPU time (utime + stime from /proc) over a mode, divided by
the updates of that mode: the main figure, as the machine is shared.

Prints one JSON line: the Feijian bot's figures (the old fields), the echo bot's under `echo_*`,
`ratio` (Feijian's CPU per update over the echo's, closed loop) and the open-loop percentiles.
BENCH_ONLY=feijian|echo runs one bot; BENCH_PROFILE=FILE profiles the Feijian bot's closed loop
(cProfile on CPU time, written to FILE). The echo bot runs twice, on PTB's default HTTPXRequest (the
baseline: `echo_*`, `ratio`) and on bot/request.py's LeanRequest (`echo_lean_*`,
`lean_request_speedup`); the Feijian bot uses its configured request class (BENCH_REQUEST=httpx|lean
sets FEIJIAN_TELEGRAM_REQUEST).
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.config import new_key  # noqa: E402

os.environ.setdefault("FEIJIAN_SECRET_KEY", new_key())
os.environ.setdefault("FEIJIAN_PII_KEY", new_key())

import bot.app  # noqa: E402,F401  (the httpcore/sniffio import fix applies to this process's clients too)
from bot.flows import lang  # noqa: E402
from bot.flows.callbacks import STATELESS, Act, Action, encode  # noqa: E402
from models.db import make_engine, unit_of_work  # noqa: E402
from models.migrate import upgrade  # noqa: E402
from models.user import Role  # noqa: E402
from sandbox import AsyncSandboxClient, SandboxServer, make_token  # noqa: E402
from services import invites, telegram  # noqa: E402
from services.context import Actor  # noqa: E402
from tests.bot.conftest import StoreServer  # noqa: E402
from tests.factories import make_user  # noqa: E402

INSPECTORS = int(os.environ.get("BENCH_INSPECTORS", "50"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "8"))
OPEN_RATE = float(os.environ.get("BENCH_OPEN_RATE", "50"))
OPEN_S = float(os.environ.get("BENCH_OPEN_S", "20"))
ONLY = os.environ.get("BENCH_ONLY", "")
REQUEST = os.environ.get("BENCH_REQUEST", "")
REPLY_TIMEOUT_S = 30.0
REPLY_METHODS = {"sendmessage", "editmessagetext"}
ACTIONS = ("help", "lang", "press", "location", "cancel")
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Started in the bot process: SIGUSR1 starts a CPU-time cProfile, SIGUSR2 stops it and writes it.
PROFILE_HOOK = """
import cProfile, signal, time
_prof = cProfile.Profile(time.process_time)
signal.signal(signal.SIGUSR1, lambda *_: _prof.enable())
signal.signal(signal.SIGUSR2, lambda *_: (_prof.disable(), _prof.dump_stats({path!r})))
"""


def cpu_seconds(pid: int) -> float:
    """A process's CPU time so far (user + system)."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


class Replies:
    """Resolves waiting actions, per chat and in order, when the sandbox receives the bot's replies."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.waiting: dict[int, collections.deque[asyncio.Future[float]]] = {}
        self.last: dict[int, int] = {}  # chat -> message id of the last reply (after /lang: the menu)
        self.lock = threading.Lock()

    def expect(self, chat_id: int) -> asyncio.Future[float]:
        """A future resolved with the arrival time of the chat's next unclaimed reply."""
        fut: asyncio.Future[float] = self.loop.create_future()
        with self.lock:
            self.waiting.setdefault(chat_id, collections.deque()).append(fut)
        return fut

    def forget(self, chat_id: int, fut: asyncio.Future[float]) -> None:
        """Stops waiting for a reply that did not come."""
        with self.lock:
            queue = self.waiting.get(chat_id)
            if queue is not None and fut in queue:
                queue.remove(fut)

    def seen(self, chat_id: int, at: float, result: Any) -> None:
        """Called from the sandbox's thread for every reply."""
        with self.lock:
            if isinstance(result, dict) and "message_id" in result:
                self.last[chat_id] = int(result["message_id"])
            queue = self.waiting.get(chat_id)
            fut = queue.popleft() if queue else None
        if fut is not None:
            self.loop.call_soon_threadsafe(lambda: fut.done() or fut.set_result(at))


def instrument(server: SandboxServer, replies: Replies) -> None:
    """Wraps the sandbox's method dispatcher to timestamp every reply a bot sends."""
    sb: Any = server.sandbox
    original = sb.call

    def call(bot: Any, method: str, params: Any) -> Any:
        result = original(bot, method, params)
        if method.lower() in REPLY_METHODS:
            chat = params.values.get("chat_id")
            if chat is not None:
                replies.seen(int(chat), time.perf_counter(), result)
        return result

    sb.call = call


class Driver:
    """One bot's simulated inspectors: the actions, and both modes."""

    def __init__(self, client: AsyncSandboxClient, replies: Replies, users: list[int], check: bool) -> None:
        self.client = client
        self.replies = replies
        self.users = users
        self.check = check  # the echo bot's messages have no buttons: press without checking
        self.lost = 0

    def send(self, uid: int, step: int, n: int) -> Awaitable[Any]:
        """The user's action number `step` of the cycle, in round n."""
        action = ACTIONS[step]
        if action == "press":
            code = "en" if n % 2 == 0 else "zh-CN"
            data = encode(lang.FLOW.code, STATELESS, Action(Act.SET_LANG, code))
            return self.client.press(uid, self.replies.last[uid], data, check=self.check)
        if action == "location":
            return self.client.send_location(uid, 43.98 + n * 0.001, 119.38)
        return self.client.send_text(uid, "/" + action)

    async def timed(self, uid: int, send: Callable[[], Awaitable[Any]], t0: float) -> float | None:
        """Latency in ms from t0 to the reply, None when no reply came."""
        fut = self.replies.expect(uid)
        try:
            await send()
            at = await asyncio.wait_for(fut, REPLY_TIMEOUT_S)
        except Exception:
            # On a crowded machine a send or a reply can fail or time out: count it, forget the
            # waiting future (so the chat's later replies match their own actions) and go on.
            self.lost += 1
            self.replies.forget(uid, fut)
            return None
        return (at - t0) * 1000

    async def closed(self, rounds: int) -> list[float]:
        """Every inspector acts, waits for the reply, acts again."""
        lat: list[float] = []

        async def inspector(uid: int) -> None:
            for n in range(rounds):
                for step in range(len(ACTIONS)):
                    ms = await self.timed(uid, lambda s=step, n=n: self.send(uid, s, n), time.perf_counter())
                    if ms is not None:
                        lat.append(ms)

        await asyncio.gather(*(inspector(u) for u in self.users))
        return lat

    async def open(self, rate: float, seconds: float) -> tuple[list[float], float]:
        """Actions at a fixed offered rate; returns the latencies and the rate actually offered."""
        lat: list[float] = []
        last: dict[int, asyncio.Task[None]] = {}
        total = int(rate * seconds)
        per_user = len(self.users)

        async def one(i: int, due: float, before: asyncio.Task[None] | None) -> None:
            uid = self.users[i % per_user]
            n, step = divmod(i // per_user, len(ACTIONS))
            if ACTIONS[step] == "press" and before is not None:
                await before  # the button is on the reply to /lang: wait for that menu
            ms = await self.timed(uid, lambda: self.send(uid, step, n), due)
            if ms is not None:
                lat.append(ms)

        start = time.perf_counter() + 0.05
        tasks = []
        for i in range(total):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            uid = self.users[i % per_user]
            task = asyncio.create_task(one(i, due, last.get(uid)))
            last[uid] = task
            tasks.append(task)
        offered = total / (time.perf_counter() - start)
        await asyncio.gather(*tasks)
        return lat, offered


def quantiles(lat: list[float]) -> dict[str, float]:
    """p50/p95/p99/max in ms."""
    if len(lat) < 2:
        return {"p50_ms": 0.0, "p95_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0}
    q = statistics.quantiles(lat, n=100)
    return {
        "p50_ms": round(q[49], 1),
        "p95_ms": round(q[94], 1),
        "p99_ms": round(q[98], 1),
        "max_ms": round(max(lat), 1),
    }


async def run_bot(
    kind: str,
    sandbox: SandboxServer,
    replies: Replies,
    env: dict[str, str],
    signup: Callable[[AsyncSandboxClient, list[int]], Awaitable[None]],
    tmp: Path,
    request: str = "",
) -> dict[str, Any]:
    """Starts one bot, warms it up, runs both modes, stops it; returns its figures."""
    token = make_token()
    sandbox.sandbox.register_bot(token)
    base = {"FEIJIAN_TELEGRAM_TOKEN": token, "BENCH_ECHO_TOKEN": token}
    if request:
        base |= {"FEIJIAN_TELEGRAM_REQUEST": request, "BENCH_ECHO_REQUEST": request}
    if kind == "feijian":
        code = "import logging; logging.basicConfig(level=logging.WARNING)\nfrom bot.app import run; run()"
    else:
        echo = str(ROOT / "bench" / "echo_bot.py")
        code = (
            "import logging, runpy; logging.basicConfig(level=logging.WARNING)\n"
            f"runpy.run_path({echo!r}, run_name='__main__')"
        )
    profile = os.environ.get("BENCH_PROFILE") if kind == "feijian" else None
    if profile:
        code = PROFILE_HOOK.format(path=str(Path(profile).resolve())) + code
    script = tmp / f"run_{kind}_{request or 'default'}.py"
    script.write_text(code)
    proc = subprocess.Popen([sys.executable, str(script)], cwd=ROOT, env=env | base)
    try:
        async with AsyncSandboxClient(sandbox.url, bot=token, timeout=REPLY_TIMEOUT_S) as client:
            users = [(await client.user(first_name=f"督查员{i}")).id for i in range(INSPECTORS)]
            await signup(client, users)  # not timed; also warms the bot up
            driver = Driver(client, replies, users, check=kind == "feijian")
            if profile:
                proc.send_signal(signal.SIGUSR1)
            cpu0, t0 = cpu_seconds(proc.pid), time.perf_counter()
            closed = await driver.closed(ROUNDS)
            cpu1, t1 = cpu_seconds(proc.pid), time.perf_counter()
            if profile:
                proc.send_signal(signal.SIGUSR2)
            opened, offered = await driver.open(OPEN_RATE, OPEN_S)
            cpu2 = cpu_seconds(proc.pid)
    finally:
        proc.send_signal(signal.SIGINT)  # a graceful stop
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    wall = t1 - t0
    n_open = max(len(opened), 1)
    out: dict[str, Any] = {
        "updates": len(closed),
        "seconds": round(wall, 2),
        "updates_per_s": round(len(closed) / wall, 1),
        **quantiles(closed),
        "cpu_s": round(cpu1 - cpu0, 2),
        "cpu_ms_per_update": round((cpu1 - cpu0) * 1000 / max(len(closed), 1), 2),
        "open_loop_updates": len(opened),
        "open_loop_offered_rate": round(offered, 1),
        "open_loop_cpu_ms_per_update": round((cpu2 - cpu1) * 1000 / n_open, 2),
        "lost_replies": driver.lost,
    }
    oq = quantiles(opened)
    out |= {
        "open_loop_p50_ms": oq["p50_ms"],
        "open_loop_p95_ms": oq["p95_ms"],
        "open_loop_p99_ms": oq["p99_ms"],
    }
    return out


async def main() -> dict[str, Any]:
    """Both bots through both modes; one dict of figures."""
    tmp = Path(tempfile.mkdtemp(prefix="feijian-bench-bot-"))
    engine = make_engine(f"sqlite:///{tmp / 'store.sqlite'}")
    upgrade(str(engine.url))
    store = StoreServer(engine).start()
    with unit_of_work(engine) as s:
        bot_token, _ = telegram.issue_bot_token(s, Actor.system())
        codes = []
        for i in range(INSPECTORS):
            make_user(s, f"bench{i:03d}", Role.inspector, home_township_code="150422100")
            codes.append(invites.create_invite(s, Actor.system(), login=f"bench{i:03d}").code)
    sandbox = SandboxServer().start()
    replies = Replies(asyncio.get_running_loop())
    instrument(sandbox, replies)
    env = os.environ | {
        "FEIJIAN_TELEGRAM_API_URL": sandbox.bot_base_url,
        "FEIJIAN_TELEGRAM_FILE_URL": sandbox.bot_base_file_url,
        "BENCH_ECHO_API_URL": sandbox.bot_base_url,
        "BENCH_ECHO_FILE_URL": sandbox.bot_base_file_url,
        "FEIJIAN_STORE_URL": store.url,
        "FEIJIAN_STORE_TOKEN": bot_token,
        "FEIJIAN_BOT_DATABASE_URL": f"sqlite:///{tmp / 'bot.sqlite'}",
        # The sandbox imposes no flood limit; Telegram's 30/s would cap any figure at 30.
        "FEIJIAN_TELEGRAM_RATE": "0",
        "BENCH_ECHO_CONCURRENCY": os.environ.get("FEIJIAN_CONCURRENT_UPDATES", "64"),
    }

    async def bind(client: AsyncSandboxClient, users: list[int]) -> None:
        for uid, code in zip(users, codes, strict=True):
            fut = replies.expect(uid)
            await client.send_text(uid, f"/start {code}")
            await asyncio.wait_for(fut, REPLY_TIMEOUT_S)

    async def hello(client: AsyncSandboxClient, users: list[int]) -> None:
        for uid in users:
            fut = replies.expect(uid)
            await client.send_text(uid, "/start")
            await asyncio.wait_for(fut, REPLY_TIMEOUT_S)

    results: dict[str, dict[str, Any]] = {}
    try:
        if ONLY in ("", "echo"):
            results["echo"] = await run_bot("echo", sandbox, replies, env, hello, tmp, "httpx")
            results["echo_lean"] = await run_bot("echo", sandbox, replies, env, hello, tmp, "lean")
        if ONLY in ("", "feijian"):
            results["feijian"] = await run_bot("feijian", sandbox, replies, env, bind, tmp, REQUEST)
    finally:
        sandbox.stop()
        store.stop()
    own_cpu = time.process_time()
    out: dict[str, Any] = {"bench": "bot", "inspectors": INSPECTORS, "request": REQUEST or "default"}
    fj, echo, lean = results.get("feijian"), results.get("echo"), results.get("echo_lean")
    if fj:
        out |= {k: v for k, v in fj.items() if k not in ("cpu_s", "cpu_ms_per_update")}
        out |= {"bot_cpu_s": fj["cpu_s"], "bot_cpu_ms_per_update": fj["cpu_ms_per_update"]}
    if echo:
        out["echo_cpu_ms_per_update"] = echo["cpu_ms_per_update"]
        out |= {f"echo_{k}": v for k, v in echo.items() if k != "cpu_ms_per_update"}
    if lean:
        out["echo_lean_cpu_ms_per_update"] = lean["cpu_ms_per_update"]
        out |= {f"echo_lean_{k}": v for k, v in lean.items() if k.startswith("open_loop_p")}
    if echo and lean:
        # the same echo bot on PTB's HTTPXRequest over bot/request.py's LeanRequest
        out["lean_request_speedup"] = round(echo["cpu_ms_per_update"] / lean["cpu_ms_per_update"], 2)
    if fj and echo:
        out["ratio"] = round(fj["cpu_ms_per_update"] / echo["cpu_ms_per_update"], 2)
    if fj and lean:
        out["ratio_to_lean_echo"] = round(fj["cpu_ms_per_update"] / lean["cpu_ms_per_update"], 2)
    out |= {
        "open_loop_rate": OPEN_RATE,
        "bench_process_cpu_s": round(own_cpu, 2),
        "targets": {"updates_per_s": 200, "p95_ms": 100, "ratio": 1.3, "open_loop_p95_ms": 100},
    }
    return out


if __name__ == "__main__":
    result = asyncio.run(main())
    print(json.dumps(result, ensure_ascii=False))
