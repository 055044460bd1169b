"""Rate limits and forced 429 errors of Bot API calls."""

from __future__ import annotations

import math
import time
from collections import deque

from sandbox.core import SandboxCore
from sandbox.errors import BotApiError
from sandbox.records import BotRecord, RateLimit

#: Methods that send or change messages: the ones rate limits and forced 429s apply to by default.
MESSAGE_METHODS = {
    "sendmessage",
    "sendphoto",
    "senddocument",
    "sendlocation",
    "sendvenue",
    "sendcontact",
    "sendsticker",
    "sendchataction",
    "editmessagetext",
    "editmessagecaption",
    "editmessagereplymarkup",
    "editmessagelivelocation",
    "stopmessagelivelocation",
    "deletemessage",
    "answercallbackquery",
    "forwardmessage",
    "copymessage",
}


class RateLimits(SandboxCore):
    """Forced 429s (POST /control/rate_limit/force) and configured per-chat / global rate limits."""

    def force_errors(self, bot: BotRecord, count: int, retry_after: int, methods: list[str] | None) -> None:
        """Make the next `count` matching calls fail with 429 retry_after."""
        scope = None if methods is None else frozenset(m.lower() for m in methods)
        with self.lock:
            for _ in range(count):
                bot.forced_errors.append((retry_after, scope))

    def check_limits(self, bot: BotRecord, method: str, chat_id: int | None) -> None:
        """Raise 429 when a forced error is pending or a configured rate limit is exceeded."""
        with self.lock:
            if bot.forced_errors:
                retry_after, scope = bot.forced_errors[0]
                applies = method in MESSAGE_METHODS if scope is None else ("*" in scope or method in scope)
                if applies:
                    bot.forced_errors.popleft()
                    raise self._too_many(retry_after)
            if method not in MESSAGE_METHODS or method in ("answercallbackquery", "sendchataction"):
                return
            now = time.monotonic()
            checks: list[tuple[deque[float], RateLimit]] = []
            if self.config.global_limit:
                checks.append((bot.rate_global, self.config.global_limit))
            if self.config.per_chat_limit and chat_id is not None:
                checks.append((bot.rate_chat.setdefault(chat_id, deque()), self.config.per_chat_limit))
            for window, rl in checks:
                while window and window[0] <= now - rl.window:
                    window.popleft()
                if len(window) >= rl.limit:
                    raise self._too_many(max(1, math.ceil(window[0] + rl.window - now)))
            for window, _ in checks:
                window.append(now)

    @staticmethod
    def _too_many(retry_after: int) -> BotApiError:
        return BotApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})
