"""The synchronous control API client: a thin wrapper running AsyncSandboxClient's coroutines.

The coroutines run on one private event loop in a daemon thread, shared by every SandboxClient of
the process, so the client works the same whether or not the calling thread runs an event loop.
"""

from __future__ import annotations

import asyncio
import functools
import os
import threading
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, TypeVar

from sandbox.client.aio import AsyncSandboxClient

P = ParamSpec("P")
R = TypeVar("R")


class _LoopThread:
    """An event loop running forever in a daemon thread."""

    _lock = threading.Lock()
    _current: _LoopThread | None = None

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="sandbox-client-loop", daemon=True)
        self.thread.start()

    @classmethod
    def shared(cls) -> _LoopThread:
        """Return the process's loop thread, starting it on first use (and again after a fork)."""
        with cls._lock:
            if cls._current is None or cls._current.pid != os.getpid():
                cls._current = cls()
            return cls._current

    def run(self, coro: Coroutine[Any, Any, R]) -> R:
        """Run a coroutine on the loop and wait for its result (or exception)."""
        if threading.current_thread() is self.thread:
            coro.close()
            # blocking here would wait for the loop this code runs on: it could never finish
            raise RuntimeError("SandboxClient called from its own loop (e.g. in a predicate); use a new one")
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()
            raise


def _blocking(
    method: Callable[Concatenate[AsyncSandboxClient, P], Coroutine[Any, Any, R]],
) -> Callable[Concatenate[SandboxClient, P], R]:
    """Make a blocking SandboxClient method (same signature and docstring) from an async one."""

    def run(self: SandboxClient, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return self._loop.run(method(self._async, *args, **kwargs))

    functools.update_wrapper(run, method)
    run.__qualname__ = f"SandboxClient.{method.__name__}"
    return run


class SandboxClient:
    """Synchronous control API client: AsyncSandboxClient's methods, blocking until they finish."""

    def __init__(self, base_url: str, bot: str | None = None, timeout: float = 10.0) -> None:
        self._loop = _LoopThread.shared()
        self._async = AsyncSandboxClient(base_url, bot, timeout)

    @property
    def base_url(self) -> str:
        """The sandbox base URL."""
        return self._async.base_url

    def close(self) -> None:
        """Close the HTTP client."""
        self._loop.run(self._async.aclose())

    def __enter__(self) -> SandboxClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # bots and config
    health = _blocking(AsyncSandboxClient.health)
    register_bot = _blocking(AsyncSandboxClient.register_bot)
    bots = _blocking(AsyncSandboxClient.bots)
    revoke_bot = _blocking(AsyncSandboxClient.revoke_bot)
    configure = _blocking(AsyncSandboxClient.configure)
    force_429 = _blocking(AsyncSandboxClient.force_429)
    reset = _blocking(AsyncSandboxClient.reset)
    set_places = _blocking(AsyncSandboxClient.set_places)

    # users
    user = _blocking(AsyncSandboxClient.user)
    users = _blocking(AsyncSandboxClient.users)
    block = _blocking(AsyncSandboxClient.block)

    # user actions
    go_offline = _blocking(AsyncSandboxClient.go_offline)
    go_online = _blocking(AsyncSandboxClient.go_online)
    held = _blocking(AsyncSandboxClient.held)
    send_text = _blocking(AsyncSandboxClient.send_text)
    send_command = _blocking(AsyncSandboxClient.send_command)
    press = _blocking(AsyncSandboxClient.press)
    press_button = _blocking(AsyncSandboxClient.press_button)
    send_location = _blocking(AsyncSandboxClient.send_location)
    live_location = _blocking(AsyncSandboxClient.live_location)
    move_live_location = _blocking(AsyncSandboxClient.move_live_location)
    stop_live_location = _blocking(AsyncSandboxClient.stop_live_location)
    send_photo = _blocking(AsyncSandboxClient.send_photo)
    send_document = _blocking(AsyncSandboxClient.send_document)
    send_venue = _blocking(AsyncSandboxClient.send_venue)
    send_contact = _blocking(AsyncSandboxClient.send_contact)
    send_sticker = _blocking(AsyncSandboxClient.send_sticker)
    forward = _blocking(AsyncSandboxClient.forward)
    inject = _blocking(AsyncSandboxClient.inject)

    # reading
    chat = _blocking(AsyncSandboxClient.chat)
    messages = _blocking(AsyncSandboxClient.messages)
    last_message = _blocking(AsyncSandboxClient.last_message)
    wait_for_message = _blocking(AsyncSandboxClient.wait_for_message)
    callback_answer = _blocking(AsyncSandboxClient.callback_answer)
    wait_for_callback_answer = _blocking(AsyncSandboxClient.wait_for_callback_answer)
    file_bytes = _blocking(AsyncSandboxClient.file_bytes)
