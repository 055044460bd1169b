"""Control-API operations that are not user actions: raw update injection and reading chats back."""

from __future__ import annotations

from typing import Any

from sandbox.core import SandboxCore
from sandbox.errors import ControlError
from sandbox.records import JSON, BotRecord, MessageRecord


def _complete_users(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        out = {k: _complete_users(v, k) for k, v in value.items()}
        if key in ("from", "user", "sender_user") and "id" in out and "first_name" in out:
            out.setdefault("is_bot", False)
        if key == "callback_query":
            out.setdefault("chat_instance", str(out.get("id", "0")))
        if "file_id" in out:
            out.setdefault("file_unique_id", "AQAD" + str(out["file_id"])[-12:])
        return out
    if isinstance(value, list):
        return [_complete_users(v, key) for v in value]
    return value


class ControlViews(SandboxCore):
    """Raw updates queued as given, and chats read back with sandbox extras."""

    def inject(self, bot: BotRecord, update: JSON, complete: bool = False) -> JSON:
        """Queue a raw Update as-is (update_id assigned if absent); its private chat becomes known.

        With complete=True, fields today's Bot API always sends but old documentation examples
        omit are filled in (User.is_bot=false, CallbackQuery.chat_instance, file_unique_id), so
        python-telegram-bot parses them.
        """
        if not isinstance(update, dict):
            raise ControlError(400, "update must be a JSON object")
        if complete:
            update = _complete_users(update)
        with self.lock:
            for key in ("message", "edited_message"):
                msg = update.get(key)
                if isinstance(msg, dict):
                    self._adopt_message(bot, msg, edited=key == "edited_message")
            uid = update.get("update_id")
            payload = dict(update)
            return self._enqueue(bot, payload, int(uid) if uid is not None else None)

    def _adopt_message(self, bot: BotRecord, msg: JSON, edited: bool) -> None:
        chat = msg.get("chat") or {}
        sender = msg.get("from") or {}
        if chat.get("type") != "private" or not isinstance(chat.get("id"), int):
            return
        chat_id = chat["id"]
        if chat_id not in self.users:
            user = {
                k: v
                for k, v in sender.items()
                if v is not None and k in ("id", "first_name", "last_name", "username", "language_code")
            }
            user.setdefault("id", chat_id)
            user.setdefault("first_name", chat.get("first_name") or f"User {chat_id}")
            user["is_bot"] = False
            if user["id"] == chat_id:
                self.users[chat_id] = {
                    "id": chat_id,
                    "is_bot": False,
                    **{k: v for k, v in user.items() if k not in ("id", "is_bot")},
                }
        if chat_id not in self.users:
            return
        rec = self._chat(bot, chat_id)
        mid = msg.get("message_id")
        if isinstance(mid, int):
            rec.next_message_id = max(rec.next_message_id, mid + 1)
            existing = rec.messages.get(mid)
            if existing is not None and edited:
                existing.message = dict(msg)
                existing.seq = next(self._seq)
            elif existing is None:
                rec.messages[mid] = MessageRecord(dict(msg), from_bot=False, seq=next(self._seq))

    def chat_messages(
        self, bot: BotRecord, chat_id: int, since: int = 0, who: str = "bot", base_url: str = ""
    ) -> JSON:
        """Return messages of a chat changed after `since` (edits applied), with sandbox extras."""
        with self.lock:
            chat = bot.chats.get(chat_id)
            out: list[JSON] = []
            if chat is not None:
                for rec in sorted(chat.messages.values(), key=lambda r: r.message["message_id"]):
                    if rec.seq <= since:
                        continue
                    if who == "bot" and not rec.from_bot:
                        continue
                    if who == "user" and rec.from_bot:
                        continue
                    out.append(self._view(rec, base_url))
            return {
                "chat_id": chat_id,
                "messages": out,
                "cursor": self.cursor(),
                "reply_keyboard": chat.reply_keyboard if chat else None,
                "chat_action": chat.chat_action if chat else None,
                "blocked": chat_id in bot.blocked,
            }

    def _view(self, rec: MessageRecord, base_url: str) -> JSON:
        msg = dict(rec.message)
        extra: JSON = {
            "seq": rec.seq,
            "from_bot": rec.from_bot,
            "deleted": rec.deleted,
            "reply_keyboard": rec.reply_keyboard,
            "callback_answers": list(rec.callback_answers),
        }
        if msg.get("photo"):
            extra["photo_url"] = f"{base_url}/control/files/{msg['photo'][-1]['file_id']}"
            extra["thumb_url"] = f"{base_url}/control/files/{msg['photo'][0]['file_id']}"
        if msg.get("document"):
            extra["document_url"] = f"{base_url}/control/files/{msg['document']['file_id']}"
        if msg.get("sticker"):
            extra["sticker_url"] = f"{base_url}/control/files/{msg['sticker']['file_id']}"
        msg["sandbox"] = extra
        return msg

    def callback_answer(self, bot: BotRecord, query_id: str) -> JSON | None:
        """Return the bot's answerCallbackQuery for a query id, if any yet."""
        with self.lock:
            return bot.answered.get(query_id)
