"""Run the sandbox: in a background thread on a free port (tests, demo) or in the foreground (CLI)."""

from __future__ import annotations

import secrets
import socket
import string
import threading
import time
from types import TracebackType

import uvicorn

from sandbox.server import create_app
from sandbox.state import Sandbox, SandboxConfig

_TOKEN_ALPHABET = string.ascii_letters + string.digits + "_-"


def make_token(bot_id: int | None = None) -> str:
    """Return a fresh well-formed bot token `<digits>:<35 chars>`."""
    bid = bot_id if bot_id is not None else 1_000_000_000 + secrets.randbelow(8_999_999_999)
    return f"{bid}:" + "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(35))


class SandboxServer:
    """A sandbox served by uvicorn in a daemon thread; use as a context manager or start()/stop()."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        config: SandboxConfig | None = None,
        log_level: str = "warning",
        state_file: str | None = None,
    ) -> None:
        self.host = host
        self.sandbox = Sandbox(config, state_file)
        self.app = create_app(self.sandbox)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted connections inherit this: without it every small response waits ~40 ms for a
        # delayed ACK (Nagle), which dominated the bot's reply latency against the sandbox.
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock.bind((host, port))
        self.port: int = self._sock.getsockname()[1]
        self._server = uvicorn.Server(
            uvicorn.Config(
                self.app,
                log_level=log_level,
                access_log=False,
                lifespan="on",
                timeout_graceful_shutdown=1,
                timeout_keep_alive=30,
            )
        )
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:8081."""
        return f"http://{self.host}:{self.port}"

    @property
    def bot_base_url(self) -> str:
        """Value for PTB's ApplicationBuilder().base_url(...)."""
        return f"{self.url}/bot"

    @property
    def bot_base_file_url(self) -> str:
        """Value for PTB's ApplicationBuilder().base_file_url(...)."""
        return f"{self.url}/file/bot"

    def start(self, timeout: float = 10.0) -> SandboxServer:
        """Start serving in a background thread and wait until it accepts connections."""
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, name="feijian-sandbox", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("sandbox server did not start")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the server and wait for its thread."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._sock.close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def serve(
    host: str = "127.0.0.1",
    port: int = 8081,
    config: SandboxConfig | None = None,
    log_level: str = "info",
    state_file: str | None = None,
) -> None:
    """Run the sandbox in the foreground until interrupted (numbering and chats kept in state_file)."""
    app = create_app(Sandbox(config, state_file))
    uvicorn.run(app, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=1)
