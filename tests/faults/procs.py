"""Real processes for the fault campaign: the store, the sandbox and the bot, each killable with -9."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

BOT_SCRIPT = (
    "import logging\n"
    "logging.basicConfig(level=logging.WARNING, format='%(asctime)s %(levelname)s %(name)s: %(message)s')\n"
    "from bot.app import run\n"
    "run()\n"
)
CLI = "from cli.main import app; app()"


# How long a process may take to come up: imports alone take seconds on a loaded two-core machine.
START_S = float(os.environ.get("FEIJIAN_FAULT_START_S", "120"))


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def until(what: Callable[[], object], timeout: float, message: str, step: float = 0.05) -> object:
    """Polls `what` until it returns something truthy; fails with `message` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        got = what()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"{message} (not within {timeout:.0f} s)")
        time.sleep(step)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code < 500
    except httpx.HTTPError:
        return False


class Proc:
    """One product process: started with its own environment and log, killed with SIGKILL, restarted."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        env: dict[str, str],
        workdir: Path,
        ready_url: str | None = None,
        url: str = "",
    ) -> None:
        self.name = name
        self.url = url  # where it serves (the same port across restarts)
        self.argv = argv
        self.env = env
        self.workdir = workdir
        self.ready_url = ready_url
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def log_path(self) -> Path:
        """Where every run of this process appends its output."""
        return self.workdir / f"{self.name}.log"

    def start(self, timeout: float = START_S, wait: bool = True) -> Proc:
        """Starts the process and waits until it answers (when it has a readiness URL and `wait`)."""
        self.starts += 1
        log = self.log_path.open("ab")
        log.write(f"\n=== start {self.starts}\n".encode())
        log.flush()
        self.proc = subprocess.Popen(
            self.argv, cwd=self.workdir, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        if wait:
            self.ready(timeout)
        return self

    def ready(self, timeout: float = START_S) -> Proc:
        """Waits until the process answers on its readiness URL (if it has one)."""
        if self.ready_url is not None:
            url = self.ready_url
            until(lambda: self._alive_or_fail() and _answers(url), timeout, f"{self.name} did not start")
        return self

    def _alive_or_fail(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"{self.name} exited with {self.proc.returncode}:\n{self.tail()}")
        return True

    def alive(self) -> bool:
        """Whether the process is running."""
        return self.proc is not None and self.proc.poll() is None

    def kill9(self) -> None:
        """SIGKILL, and reap it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        """A polite stop (SIGINT, then SIGKILL after a grace period)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.kill9()

    def tail(self, lines: int = 40) -> str:
        """The end of the log (for failure messages)."""
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def store_proc(workdir: Path, database_url: str, media_dir: Path) -> Proc:
    """`feijian serve` on a free port against the given database."""
    port = free_port()
    env = {
        **os.environ,
        "FEIJIAN_DATABASE_URL": database_url,
        "FEIJIAN_MEDIA_DIR": str(media_dir),
        "FEIJIAN_ENV": "test",
    }
    argv = [sys.executable, "-c", CLI, "serve", "--host", "127.0.0.1", "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    return Proc("store", argv, env, workdir, f"{url}/healthz", url)


def sandbox_proc(workdir: Path, state_file: Path) -> Proc:
    """`feijian sandbox` on a free port with its own state file."""
    port = free_port()
    argv = [
        *[sys.executable, "-c", CLI, "sandbox", "--host", "127.0.0.1", "--port", str(port)],
        *["--state-file", str(state_file), "--log-level", "warning"],
    ]
    url = f"http://127.0.0.1:{port}"
    return Proc("sandbox", argv, dict(os.environ), workdir, f"{url}/control/health", url)


def bot_proc(workdir: Path, token: str, sandbox_url: str, store_url: str, store_token: str) -> Proc:
    """The bot (polling the sandbox into its own inbox), its state in a SQLite file of its own."""
    script = workdir / "run_bot.py"
    script.write_text(BOT_SCRIPT)
    env = {
        **os.environ,
        "FEIJIAN_TELEGRAM_TOKEN": token,
        "FEIJIAN_TELEGRAM_API_URL": f"{sandbox_url}/bot",
        "FEIJIAN_TELEGRAM_FILE_URL": f"{sandbox_url}/file/bot",
        "FEIJIAN_TELEGRAM_REQUEST": "lean",
        "FEIJIAN_TELEGRAM_RATE": "0",
        "FEIJIAN_STORE_URL": store_url,
        "FEIJIAN_STORE_TOKEN": store_token,
        "FEIJIAN_STORE_TIMEOUT": "5",
        "FEIJIAN_BOT_DATABASE_URL": f"sqlite:///{workdir / 'bot.sqlite'}",
        "FEIJIAN_NOTICE_POLL_INTERVAL": "60",
        "FEIJIAN_OUTBOX_INTERVAL": "0.3",
        "FEIJIAN_OUTBOX_MAX_BACKOFF": "2",
    }
    return Proc("bot", [sys.executable, str(script)], env, workdir)
