"""Bot API updates: the getUpdates queue, webhook delivery bookkeeping and set/delete/getWebhookInfo.

Waiting (long polling) and the HTTP side of webhook delivery live in sandbox/delivery.py and
sandbox/routes/bot_api.py; they are woken through `Sandbox.listeners`.
"""

from __future__ import annotations

import re

from sandbox.core import SandboxCore, now
from sandbox.errors import BotApiError, bad_request
from sandbox.params import Params
from sandbox.records import JSON, BotRecord, QueuedUpdate

#: Update types delivered by default when allowed_updates is empty (Telegram leaves these out).
OPT_IN_UPDATES = {"chat_member", "message_reaction", "message_reaction_count"}


def _update_type(update: JSON) -> str:
    for key in update:
        if key != "update_id":
            return key
    return "unknown"


def _filtered_out(kind: str, wanted: list[str] | None) -> bool:
    """Whether allowed_updates drops an update of this kind (Telegram drops, not delays, them)."""
    return bool((wanted and kind not in wanted) or (not wanted and kind in OPT_IN_UPDATES))


class UpdatesApi(SandboxCore):
    """The update queue as getUpdates and webhooks read it, and the webhook methods."""

    def get_updates(
        self, bot: BotRecord, offset: int | None, limit: int, allowed: list[str] | None
    ) -> list[JSON]:
        """Confirm updates below offset and return up to limit pending ones (no waiting)."""
        with self.lock:
            if bot.webhook_url:
                raise BotApiError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                )
            if allowed is not None:
                bot.allowed_updates = allowed
            if offset is not None:
                if offset < 0:
                    keep = sorted(bot.queue, key=lambda q: q.update["update_id"])[offset:]
                    bot.queue = keep
                else:
                    bot.queue = [q for q in bot.queue if not (q.delivered and q.update["update_id"] < offset)]
            bot.queue.sort(key=lambda q: q.update["update_id"])
            wanted = bot.allowed_updates
            out: list[JSON] = []
            kept: list[QueuedUpdate] = []
            for q in bot.queue:
                kind = _update_type(q.update)
                if _filtered_out(kind, wanted):
                    continue  # filtered out: Telegram drops these
                kept.append(q)
                if len(out) < limit:
                    q.delivered = True
                    out.append(q.update)
            bot.queue = kept
            return out

    def next_webhook_update(self, bot: BotRecord) -> JSON | None:
        """Return the oldest update waiting for webhook delivery."""
        with self.lock:
            if not bot.webhook_url or not bot.queue:
                return None
            bot.queue.sort(key=lambda q: q.update["update_id"])
            wanted = bot.allowed_updates
            while bot.queue:
                kind = _update_type(bot.queue[0].update)
                if _filtered_out(kind, wanted):
                    bot.queue.pop(0)
                    continue
                return bot.queue[0].update
            return None

    def webhook_delivered(self, bot: BotRecord, update_id: int) -> None:
        """Remove an update the webhook acknowledged."""
        with self.lock:
            bot.queue = [q for q in bot.queue if q.update["update_id"] != update_id]

    def webhook_failed(self, bot: BotRecord, message: str) -> None:
        """Record a webhook delivery error (shown by getWebhookInfo)."""
        with self.lock:
            bot.last_error_date = now()
            bot.last_error_message = message

    def _m_setwebhook(self, bot: BotRecord, params: Params) -> bool:
        url = params.get_str("url") or ""
        secret = params.get_str("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise bad_request("secret token contains unallowed characters")
        if url and not re.match(r"^https?://", url):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if params.get_bool("drop_pending_updates"):
            bot.queue.clear()
        allowed = params.get_json("allowed_updates")
        if allowed is not None:
            bot.allowed_updates = list(allowed)
        bot.webhook_url = url
        bot.webhook_secret = secret
        bot.webhook_max_connections = params.get_int("max_connections") or 40
        bot.webhook_ip = params.get_str("ip_address")
        bot.last_error_date = None
        bot.last_error_message = None
        for listener in list(self.listeners):
            listener(bot)
        return True

    def _m_deletewebhook(self, bot: BotRecord, params: Params) -> bool:
        if params.get_bool("drop_pending_updates"):
            bot.queue.clear()
        bot.webhook_url = ""
        bot.webhook_secret = None
        for listener in list(self.listeners):
            listener(bot)
        return True

    def _m_getwebhookinfo(self, bot: BotRecord, params: Params) -> JSON:
        info: JSON = {
            "url": bot.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(bot.queue),
        }
        if bot.webhook_url:
            info["max_connections"] = bot.webhook_max_connections
            if bot.webhook_ip:
                info["ip_address"] = bot.webhook_ip
            if bot.allowed_updates:
                info["allowed_updates"] = bot.allowed_updates
        if bot.last_error_date:
            info["last_error_date"] = bot.last_error_date
            info["last_error_message"] = bot.last_error_message
        return info
