"""Getting updates to bots: getUpdates long polling and webhook delivery with retries.

The synchronous `Sandbox` calls its listeners whenever an update is queued or a webhook changes;
`Notifier` turns that (from any thread) into wake-ups on the server's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable

import httpx

from sandbox.errors import BotApiError
from sandbox.params import Params
from sandbox.records import JSON, BotRecord
from sandbox.state import Sandbox


class Notifier:
    """Wakes long polls and webhook workers of a bot when its queue or webhook changes."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.events: dict[str, asyncio.Event] = {}
        self.on_change: list[Callable[[BotRecord], None]] = []

    def notify(self, bot: BotRecord) -> None:
        """Wake the bot's waiters; safe to call from any thread."""
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._wake(bot)
        else:
            loop.call_soon_threadsafe(self._wake, bot)

    def _wake(self, bot: BotRecord) -> None:
        ev = self.events.pop(bot.token, None)
        if ev is not None:
            ev.set()
        for cb in self.on_change:
            cb(bot)

    async def wait(self, token: str, timeout: float) -> None:
        """Wait until the bot is notified or the timeout passes."""
        ev = self.events.setdefault(token, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ev.wait(), timeout)


class UpdateDelivery:
    """Long polls and one webhook worker per bot with a webhook; started and stopped by the app's lifespan."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.notifier = Notifier()
        self.workers: dict[str, asyncio.Task[None]] = {}
        self.client: httpx.AsyncClient | None = None
        self.closing = False
        sandbox.listeners.append(self.notifier.notify)
        self.notifier.on_change.append(self._on_change)

    async def start(self) -> None:
        """Bind to the running loop and start workers for webhooks set before the server started."""
        self.notifier.loop = asyncio.get_running_loop()
        self.client = httpx.AsyncClient()
        with self.sandbox.lock:
            bots = list(self.sandbox.bots.values())
        for bot in bots:
            self._on_change(bot)

    async def stop(self) -> None:
        """End long polls and webhook workers and close the HTTP client."""
        self.closing = True
        for ev in list(self.notifier.events.values()):
            ev.set()
        for task in self.workers.values():
            task.cancel()
        if self.client is not None:
            await self.client.aclose()

    async def get_updates(self, bot: BotRecord, params: Params) -> list[JSON]:
        """getUpdates: return pending updates, waiting up to `timeout` seconds for the first one."""
        sb = self.sandbox
        offset = params.get_int("offset")
        limit = max(1, min(100, params.get_int("limit") or 100))
        timeout = max(0, params.get_int("timeout") or 0)
        allowed = params.get_json("allowed_updates")
        if allowed is not None and not isinstance(allowed, list):
            raise BotApiError(400, "Bad Request: can't parse allowed_updates JSON object")
        with sb.lock:
            bot.poll_generation += 1
            generation = bot.poll_generation
        self.notifier.notify(bot)  # a newer getUpdates terminates a waiting one, as in Telegram
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        first = True
        while True:
            if bot.poll_generation != generation:
                raise BotApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            updates = sb.get_updates(bot, offset if first else None, limit, allowed if first else None)
            first = False
            remaining = deadline - loop.time()
            if updates or remaining <= 0 or self.closing:
                return updates
            await self.notifier.wait(bot.token, remaining)

    def _on_change(self, bot: BotRecord) -> None:
        if bot.webhook_url and not self.closing:
            task = self.workers.get(bot.token)
            if task is None or task.done():
                self.workers[bot.token] = asyncio.get_running_loop().create_task(self._webhook_worker(bot))

    async def _webhook_worker(self, bot: BotRecord) -> None:
        sb = self.sandbox
        delay = sb.config.webhook_retry_initial
        while bot.webhook_url and not self.closing:
            update = sb.next_webhook_update(bot)
            if update is None:
                await self.notifier.wait(bot.token, 30)
                continue
            error = await self._post(bot, update)
            if error is None:
                sb.webhook_delivered(bot, update["update_id"])
                delay = sb.config.webhook_retry_initial
            else:
                sb.webhook_failed(bot, error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, sb.config.webhook_retry_max)

    async def _post(self, bot: BotRecord, update: JSON) -> str | None:
        """POST one update to the bot's webhook; return the error getWebhookInfo shows, or None."""
        assert self.client is not None
        headers = {"Content-Type": "application/json"}
        if bot.webhook_secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = bot.webhook_secret
        try:
            resp = await self.client.post(
                bot.webhook_url,
                content=json.dumps(update).encode(),
                headers=headers,
                timeout=self.sandbox.config.webhook_timeout,
            )
        except httpx.HTTPError as exc:
            return f"Connection failed: {exc.__class__.__name__}"
        if not 200 <= resp.status_code < 300:
            return f"Wrong response from the webhook: {resp.status_code} {resp.reason_phrase}"
        return None
