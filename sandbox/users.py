"""The user side: what the control API does as a Telegram user (text, buttons, locations, media...).

Every action stores the user's message (or edit) in the private chat, queues the Update the bot
will receive and answers `{update_id, update, message, cursor[, callback_query_id]}`.

A user can be taken offline: their actions are then held (as a phone without signal holds them,
`held: true`, no update_id yet) and released later in one burst, in order, with their original
`date`s. Message actions take an optional `date` (Unix seconds) to act at another time.
"""

from __future__ import annotations

from typing import Any

from sandbox import media
from sandbox.core import now
from sandbox.entities import detect_entities
from sandbox.errors import ControlError
from sandbox.files import FileStore
from sandbox.records import JSON, BotRecord


class UserActions(FileStore):
    """Acting as simulated users in their private chats with a bot."""

    def set_blocked(
        self, bot: BotRecord, user_id: int, blocked: bool = True, emit: bool = True
    ) -> JSON | None:
        """Mark a user as having blocked (or unblocked) the bot; emits my_chat_member like Telegram."""
        with self.lock:
            user = self.user(user_id)
            was = user_id in bot.blocked
            if blocked:
                bot.blocked.add(user_id)
            else:
                bot.blocked.discard(user_id)
            if not emit or was == blocked:
                return None
            chat = self._chat(bot, user_id)
            old, new = ("member", "kicked") if blocked else ("kicked", "member")
            date = now()
            mcm: JSON = {
                "chat": dict(chat.chat),
                "from": user,
                "date": date,
                "old_chat_member": {"user": bot.sender(), "status": old},
                "new_chat_member": {"user": bot.sender(), "status": new},
            }
            for member in (mcm["old_chat_member"], mcm["new_chat_member"]):
                if member["status"] == "kicked":
                    member["until_date"] = 0
            return self._enqueue(bot, {"my_chat_member": mcm})

    def set_offline(self, bot: BotRecord, user_id: int, offline: bool = True) -> JSON:
        """Take a user offline (hold their updates) or back online (release the held burst)."""
        with self.lock:
            self.user(user_id)
            if offline:
                bot.held.setdefault(user_id, [])
                return {"user_id": user_id, "offline": True, "released": []}
            held = bot.held.pop(user_id, [])
            # one burst, in the order the user acted; dates stay those of the actions
            released = [self._enqueue(bot, payload) for payload in held]
        return {"user_id": user_id, "offline": False, "released": released}

    def held_updates(self, bot: BotRecord, user_id: int) -> list[JSON]:
        """The update payloads held for an offline user (empty when online)."""
        with self.lock:
            return [dict(p) for p in bot.held.get(user_id, [])]

    def _user_enqueue(self, bot: BotRecord, user_id: int, payload: JSON) -> JSON | None:
        """Queue a user's update, or hold it while the user is offline (then None)."""
        with self.lock:
            held = bot.held.get(user_id)
            if held is not None:
                held.append(payload)
                return None
            return self._enqueue(bot, payload)

    @staticmethod
    def _check_date(date: int | None) -> int | None:
        if date is not None and date <= 0:
            raise ControlError(400, "date must be a positive Unix time in seconds")
        return date

    def _user_message(
        self, bot: BotRecord, user_id: int, content: JSON, date: int | None = None
    ) -> tuple[JSON | None, JSON]:
        self._check_date(date)
        with self.lock:
            user = self.user(user_id)
            if user_id in bot.blocked:
                bot.blocked.discard(user_id)  # writing to a bot unblocks it, as in Telegram
            chat = self._chat(bot, user_id)
            rec = self._new_message(bot, chat, user, content, from_bot=False)
            if date is not None:
                rec.message["date"] = date
            update = self._user_enqueue(bot, user_id, {"message": rec.message})
            return update, rec.message

    def _result(self, update: JSON | None, message: JSON | None, cursor: int, **extra: Any) -> JSON:
        out: JSON = {
            "update_id": update["update_id"] if update else None,
            "update": update,
            "message": message,
            "cursor": cursor,
        }
        if update is None and message is not None:
            out["held"] = True
        out.update(extra)
        return out

    def act_text(
        self,
        bot: BotRecord,
        user_id: int,
        text: str,
        reply_to_message_id: int | None = None,
        date: int | None = None,
    ) -> JSON:
        """The user sends text (commands get bot_command entities as in Telegram)."""
        cursor = self.cursor()
        if not text:
            raise ControlError(400, "text is empty")
        content: JSON = {"text": text}
        entities = detect_entities(text)
        if entities:
            content["entities"] = entities
        with self.lock:
            if reply_to_message_id is not None:
                chat = self._chat(bot, user_id)
                target = chat.messages.get(reply_to_message_id)
                if target is None:
                    raise ControlError(404, f"message {reply_to_message_id} not found")
                content["reply_to_message"] = target.message
            update, msg = self._user_message(bot, user_id, content, date)
        return self._result(update, msg, cursor)

    def act_press(self, bot: BotRecord, user_id: int, message_id: int, data: str, check: bool = True) -> JSON:
        """The user presses an inline button: a callback_query carrying the message."""
        cursor = self.cursor()
        with self.lock:
            user = self.user(user_id)
            chat = self._chat(bot, user_id)
            rec = chat.messages.get(message_id)
            if rec is None or rec.deleted:
                raise ControlError(404, f"message {message_id} not found in chat {user_id}")
            if check:
                markup = rec.message.get("reply_markup") or {}
                datas = [b.get("callback_data") for row in markup.get("inline_keyboard", []) for b in row]
                if data not in datas:
                    raise ControlError(
                        400, f"message {message_id} has no inline button with callback_data {data!r}"
                    )
            qid = str(next(self._callback_ids))
            query: JSON = {
                "id": qid,
                "from": user,
                "message": rec.message,
                "chat_instance": str(-(abs(hash((bot.id, user_id))) % 10**18)),
                "data": data,
            }
            bot.callback_queries[qid] = (user_id, message_id)
            update = self._user_enqueue(bot, user_id, {"callback_query": query})
        extra: JSON = {"callback_query_id": qid}
        if update is None:
            extra["held"] = True
        return self._result(update, rec.message, cursor, **extra)

    def act_location(
        self,
        bot: BotRecord,
        user_id: int,
        latitude: float,
        longitude: float,
        horizontal_accuracy: float | None = None,
        live_period: int | None = None,
        heading: int | None = None,
        date: int | None = None,
    ) -> JSON:
        """The user shares a location; with live_period it is a live location that can be moved."""
        cursor = self.cursor()
        loc: JSON = {"latitude": latitude, "longitude": longitude}
        if horizontal_accuracy is not None:
            loc["horizontal_accuracy"] = horizontal_accuracy
        if live_period is not None:
            loc["live_period"] = live_period
            if heading is not None:
                loc["heading"] = heading
        with self.lock:
            update, msg = self._user_message(bot, user_id, {"location": loc}, date)
            if live_period is not None:
                self._chat(bot, user_id).live_message_id = msg["message_id"]
        return self._result(update, msg, cursor)

    def act_move_live(
        self,
        bot: BotRecord,
        user_id: int,
        latitude: float | None,
        longitude: float | None,
        message_id: int | None = None,
        heading: int | None = None,
        horizontal_accuracy: float | None = None,
        stop: bool = False,
        date: int | None = None,
    ) -> JSON:
        """The user's live location moves (or stops): an edited_message with edit_date."""
        cursor = self.cursor()
        self._check_date(date)
        with self.lock:
            chat = self._chat(bot, user_id)
            mid = message_id or chat.live_message_id
            rec = chat.messages.get(mid) if mid else None
            if rec is None or "location" not in rec.message:
                raise ControlError(404, "no live location to move: start one first")
            loc = dict(rec.message["location"])
            if "live_period" not in loc:
                raise ControlError(409, f"message {mid} is not an active live location")
            if latitude is not None and longitude is not None:
                loc["latitude"], loc["longitude"] = latitude, longitude
            if heading is not None:
                loc["heading"] = heading
            if horizontal_accuracy is not None:
                loc["horizontal_accuracy"] = horizontal_accuracy
            if stop:
                loc.pop("live_period", None)
                loc.pop("heading", None)
                chat.live_message_id = None
            msg = dict(rec.message)
            msg["location"] = loc
            msg["edit_date"] = max(
                now() if date is None else date,
                int(rec.message.get("edit_date", 0)) + 1,
                int(rec.message["date"]) + 1,
            )
            rec.message = msg
            rec.seq = next(self._seq)
            update = self._user_enqueue(bot, user_id, {"edited_message": msg})
        return self._result(update, msg, cursor)

    def act_photo(
        self,
        bot: BotRecord,
        user_id: int,
        data: bytes,
        caption: str | None = None,
        date: int | None = None,
    ) -> JSON:
        """The user sends a photo: recompressed, EXIF stripped, several PhotoSize entries."""
        cursor = self.cursor()
        sizes = self.store_photo(data)
        content: JSON = {"photo": sizes}
        if caption:
            content["caption"] = caption
            ents = detect_entities(caption)
            if ents:
                content["caption_entities"] = ents
        update, msg = self._user_message(bot, user_id, content, date)
        return self._result(update, msg, cursor)

    def act_document(
        self,
        bot: BotRecord,
        user_id: int,
        data: bytes,
        file_name: str | None,
        mime_type: str | None = None,
        caption: str | None = None,
        date: int | None = None,
    ) -> JSON:
        """The user sends a file: bytes (and EXIF) kept unchanged."""
        cursor = self.cursor()
        doc = self.store_document(data, file_name or "file", mime_type)
        content: JSON = {"document": doc}
        if caption:
            content["caption"] = caption
        update, msg = self._user_message(bot, user_id, content, date)
        return self._result(update, msg, cursor)

    def act_venue(self, bot: BotRecord, user_id: int, venue: JSON, date: int | None = None) -> JSON:
        """The user sends a venue (a named place)."""
        cursor = self.cursor()
        try:
            loc = {"latitude": float(venue["latitude"]), "longitude": float(venue["longitude"])}
            body: JSON = {"location": loc, "title": str(venue["title"]), "address": str(venue["address"])}
        except (KeyError, TypeError, ValueError) as exc:
            raise ControlError(400, f"venue needs latitude, longitude, title, address: {exc}") from None
        for key in ("foursquare_id", "foursquare_type", "google_place_id", "google_place_type"):
            if venue.get(key):
                body[key] = venue[key]
        update, msg = self._user_message(bot, user_id, {"location": dict(loc), "venue": body}, date)
        return self._result(update, msg, cursor)

    def act_contact(self, bot: BotRecord, user_id: int, contact: JSON, date: int | None = None) -> JSON:
        """The user shares a contact (own when user_id equals the sender, as request_contact does)."""
        cursor = self.cursor()
        if not contact.get("phone_number") or not contact.get("first_name"):
            raise ControlError(400, "contact needs phone_number and first_name")
        body: JSON = {"phone_number": str(contact["phone_number"]), "first_name": str(contact["first_name"])}
        for key in ("last_name", "user_id", "vcard"):
            if contact.get(key) is not None:
                body[key] = contact[key]
        update, msg = self._user_message(bot, user_id, {"contact": body}, date)
        return self._result(update, msg, cursor)

    def act_sticker(
        self,
        bot: BotRecord,
        user_id: int,
        emoji: str = "👍",
        set_name: str | None = None,
        date: int | None = None,
    ) -> JSON:
        """The user sends a sticker."""
        cursor = self.cursor()
        f = self.store_file(media.sticker_webp(emoji), "sticker", "image/webp", None, 512, 512)
        sticker: JSON = {
            "width": 512,
            "height": 512,
            "emoji": emoji,
            "is_animated": False,
            "is_video": False,
            "type": "regular",
            "file_id": f.file_id,
            "file_unique_id": f.file_unique_id,
            "file_size": len(f.data),
        }
        if set_name:
            sticker["set_name"] = set_name
        update, msg = self._user_message(bot, user_id, {"sticker": sticker}, date)
        return self._result(update, msg, cursor)

    def act_forward(
        self,
        bot: BotRecord,
        user_id: int,
        text: str | None = None,
        origin: JSON | None = None,
        from_chat_id: int | None = None,
        message_id: int | None = None,
        date: int | None = None,
    ) -> JSON:
        """The user forwards a message: a copy of an existing one, or text with a given forward_origin."""
        cursor = self.cursor()
        with self.lock:
            if message_id is not None:
                src_chat = self._chat(bot, from_chat_id if from_chat_id is not None else user_id)
                src = src_chat.messages.get(message_id)
                if src is None:
                    raise ControlError(404, f"message {message_id} not found")
                keep = (
                    "text",
                    "entities",
                    "photo",
                    "document",
                    "caption",
                    "caption_entities",
                    "location",
                    "venue",
                    "contact",
                    "sticker",
                )
                content = {k: v for k, v in src.message.items() if k in keep}
                sender = src.message.get("from") or {}
                origin = origin or {"type": "user", "date": src.message["date"], "sender_user": sender}
            else:
                if not text:
                    raise ControlError(400, "forward needs text or message_id")
                content = {"text": text}
                ents = detect_entities(text)
                if ents:
                    content["entities"] = ents
                origin = dict(origin or {"type": "hidden_user", "sender_user_name": "Someone"})
                origin.setdefault("date", now() - 3600)
                if origin.get("type") == "user" and "sender_user" not in origin:
                    sid = origin.pop("sender_user_id", None)
                    if sid is None:
                        raise ControlError(
                            400, "forward origin of type user needs sender_user or sender_user_id"
                        )
                    origin["sender_user"] = self.user(int(sid))
            content["forward_origin"] = origin
            update, msg = self._user_message(bot, user_id, content, date)
        return self._result(update, msg, cursor)
