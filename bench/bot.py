"""Bot benchmark: 50 simulated inspectors send commands and press buttons through the sandbox.

The bot runs as its own process (as in production: `python -c 'from bot.app import run; run()'`)
against the sandbox and the store, both served from this process. Each inspector loops
/help, /lang, a language button, a location, /cancel, waiting for each reply before the next action.
Latency is from the user action to the bot's reply (sendMessage or editMessageText) as the sandbox
receives it; the store is involved only through the outbox (language sync), which is not timed.

Prints one JSON line: updates handled per second, p50/p95/p99 latency in ms, counts.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.config import new_key  # noqa: E402

os.environ.setdefault("FEIJIAN_SECRET_KEY", new_key())
os.environ.setdefault("FEIJIAN_PII_KEY", new_key())

import bot.app  # noqa: E402,F401  (the httpcore/sniffio import fix applies to this process's clients too)
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
REPLY_METHODS = {"sendmessage", "editmessagetext"}


class Replies:
    """Resolves a waiting inspector when the sandbox receives the bot's reply to their chat."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.waiting: dict[int, asyncio.Future[float]] = {}
        self.lock = threading.Lock()

    def expect(self, chat_id: int) -> asyncio.Future[float]:
        fut: asyncio.Future[float] = self.loop.create_future()
        with self.lock:
            self.waiting[chat_id] = fut
        return fut

    def seen(self, chat_id: int, at: float) -> None:
        with self.lock:
            fut = self.waiting.pop(chat_id, None)
        if fut is not None:
            self.loop.call_soon_threadsafe(lambda: fut.done() or fut.set_result(at))


def instrument(server: SandboxServer, replies: Replies) -> None:
    """Wraps the sandbox's method dispatcher to timestamp every reply the bot sends."""
    sb: Any = server.sandbox
    original = sb.call

    def call(bot: Any, method: str, params: Any) -> Any:
        result = original(bot, method, params)
        if method.lower() in REPLY_METHODS:
            chat = params.values.get("chat_id")
            if chat is not None:
                replies.seen(int(chat), time.perf_counter())
        return result

    sb.call = call


async def inspector(client: AsyncSandboxClient, replies: Replies, uid: int, lat: list[float]) -> int:
    """One inspector's session; returns how many updates it caused."""
    count = 0

    async def act(action: Any) -> Any:
        nonlocal count
        fut = replies.expect(uid)
        t0 = time.perf_counter()
        result = await action
        at = await asyncio.wait_for(fut, 10)
        lat.append((at - t0) * 1000)
        count += 1
        return result

    for n in range(ROUNDS):
        await act(client.send_text(uid, "/help"))
        await act(client.send_text(uid, "/lang"))
        msgs = await client.messages(uid)
        menus = [m for m in msgs if m.reply_markup]
        if not menus:
            raise RuntimeError(f"no menu: {[m.text for m in msgs][-4:]}")
        menu = menus[-1]
        label = "English" if n % 2 == 0 else "中文"
        await act(client.press(uid, menu.message_id, menu.callback_data(label)))
        await act(client.send_location(uid, 43.98 + n * 0.001, 119.38))
        await act(client.send_text(uid, "/cancel"))
    return count


async def main() -> dict[str, Any]:
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
    token = make_token()
    sandbox.sandbox.register_bot(token)
    replies = Replies(asyncio.get_running_loop())
    instrument(sandbox, replies)
    env = os.environ | {
        "FEIJIAN_TELEGRAM_TOKEN": token,
        "FEIJIAN_TELEGRAM_API_URL": sandbox.bot_base_url,
        "FEIJIAN_TELEGRAM_FILE_URL": sandbox.bot_base_file_url,
        "FEIJIAN_STORE_URL": store.url,
        "FEIJIAN_STORE_TOKEN": bot_token,
        "FEIJIAN_BOT_DATABASE_URL": f"sqlite:///{tmp / 'bot.sqlite'}",
        # The sandbox imposes no flood limit; Telegram's 30/s would cap any figure at 30.
        "FEIJIAN_TELEGRAM_RATE": "0",
    }
    code = "import logging; logging.basicConfig(level=logging.WARNING)\nfrom bot.app import run; run()"
    cmd = [sys.executable, "-c", code]
    if os.environ.get("BENCH_PROFILE"):
        script = tmp / "run_bot.py"
        script.write_text(code)
        cmd = [sys.executable, "-m", "cProfile", "-o", os.environ["BENCH_PROFILE"], str(script)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    try:
        async with AsyncSandboxClient(sandbox.url, bot=token) as client:
            users = [await client.user(first_name=f"督查员{i}") for i in range(INSPECTORS)]
            # sign-up (not timed): every inspector binds with an invite code
            for u, code in zip(users, codes, strict=True):
                fut = replies.expect(u.id)
                await client.send_text(u.id, f"/start {code}")
                await asyncio.wait_for(fut, 30)
            lat: list[float] = []
            t0 = time.perf_counter()
            counts = await asyncio.gather(*(inspector(client, replies, u.id, lat) for u in users))
            wall = time.perf_counter() - t0
            with open(f"/proc/{proc.pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            bot_cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            own_cpu = time.process_time()
    finally:
        proc.send_signal(signal.SIGINT)  # a graceful stop (and the profile, when asked for, is written)
        proc.wait(20)
        sandbox.stop()
        store.stop()
    lat.sort()
    total = sum(counts)
    q = statistics.quantiles(lat, n=100)
    return {
        "bench": "bot",
        "inspectors": INSPECTORS,
        "updates": total,
        "seconds": round(wall, 2),
        "updates_per_s": round(total / wall, 1),
        "p50_ms": round(q[49], 1),
        "p95_ms": round(q[94], 1),
        "p99_ms": round(q[98], 1),
        "max_ms": round(lat[-1], 1),
        "bot_cpu_s": round(bot_cpu, 2),
        "bench_process_cpu_s": round(own_cpu, 2),
        "targets": {"updates_per_s": 200, "p95_ms": 100},
    }


if __name__ == "__main__":
    result = asyncio.run(main())
    print(json.dumps(result, ensure_ascii=False))
