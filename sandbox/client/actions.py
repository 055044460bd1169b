"""User actions of the async control API client: act as a Telegram user in their chat with the bot."""

from __future__ import annotations

from sandbox.client.base import ClientBase
from sandbox.client.models import JSON, ActionResult, ChatMessage


class UserActionsClient(ClientBase):
    """Every method returns the ActionResult of POST /control/users/{id}/<action>."""

    async def go_offline(self, user_id: int, bot: str | None = None) -> JSON:
        """Take the user offline: their actions are held (update_id None) until go_online."""
        path = f"/control/users/{user_id}/offline"
        return dict(await self._request("POST", path, json={"offline": True}, params=self._q(bot)))

    async def go_online(self, user_id: int, bot: str | None = None) -> list[JSON]:
        """Bring the user back online: the held updates are queued in one burst, original dates kept."""
        path = f"/control/users/{user_id}/offline"
        answer = await self._request("POST", path, json={"offline": False}, params=self._q(bot))
        return list(answer["released"])

    async def held(self, user_id: int, bot: str | None = None) -> list[JSON]:
        """The updates held for an offline user, oldest first (without update_id yet)."""
        answer = await self._request("GET", f"/control/users/{user_id}/held", params=self._q(bot))
        return list(answer["held"])

    async def send_text(
        self,
        user_id: int,
        text: str,
        reply_to_message_id: int | None = None,
        bot: str | None = None,
        date: int | None = None,
    ) -> ActionResult:
        """The user sends text (commands get bot_command entities); `date` sets the message's date."""
        body = {"text": text, "reply_to_message_id": reply_to_message_id, "date": date}
        return await self._action(user_id, "text", body, bot)

    async def send_command(
        self, user_id: int, command: str, *args: str, bot: str | None = None, date: int | None = None
    ) -> ActionResult:
        """The user sends /command with arguments."""
        return await self.send_text(user_id, " ".join(["/" + command.lstrip("/"), *args]), bot=bot, date=date)

    async def press(
        self, user_id: int, message_id: int, callback_data: str, check: bool = True, bot: str | None = None
    ) -> ActionResult:
        """The user presses an inline button (callback_query carrying the message)."""
        body = {"message_id": message_id, "data": callback_data, "check": check}
        return await self._action(user_id, "press", body, bot)

    async def press_button(
        self, user_id: int, message: ChatMessage, label: str, bot: str | None = None
    ) -> ActionResult:
        """The user presses the button with this label on a message."""
        return await self.press(user_id, message.message_id, message.callback_data(label), bot=bot)

    async def send_location(
        self,
        user_id: int,
        latitude: float,
        longitude: float,
        horizontal_accuracy: float | None = None,
        bot: str | None = None,
        date: int | None = None,
    ) -> ActionResult:
        """The user shares a (static) location."""
        body = {
            "latitude": latitude,
            "longitude": longitude,
            "horizontal_accuracy": horizontal_accuracy,
            "date": date,
        }
        return await self._action(user_id, "location", body, bot)

    async def live_location(
        self,
        user_id: int,
        latitude: float,
        longitude: float,
        live_period: int = 900,
        horizontal_accuracy: float | None = None,
        bot: str | None = None,
        date: int | None = None,
    ) -> ActionResult:
        """The user starts sharing a live location."""
        body = {
            "latitude": latitude,
            "longitude": longitude,
            "live_period": live_period,
            "horizontal_accuracy": horizontal_accuracy,
            "date": date,
        }
        return await self._action(user_id, "live_location", body, bot)

    async def move_live_location(
        self,
        user_id: int,
        latitude: float,
        longitude: float,
        message_id: int | None = None,
        heading: int | None = None,
        bot: str | None = None,
        date: int | None = None,
    ) -> ActionResult:
        """The live location moves (edited_message with edit_date; `date` sets that edit_date)."""
        body = {
            "latitude": latitude,
            "longitude": longitude,
            "message_id": message_id,
            "heading": heading,
            "date": date,
        }
        return await self._action(user_id, "live_location/move", body, bot)

    async def stop_live_location(
        self, user_id: int, message_id: int | None = None, bot: str | None = None, date: int | None = None
    ) -> ActionResult:
        """The user stops sharing the live location."""
        body = {"message_id": message_id, "date": date}
        return await self._action(user_id, "live_location/stop", body, bot)

    async def send_photo(
        self,
        user_id: int,
        data: bytes,
        as_file: bool = False,
        caption: str | None = None,
        file_name: str = "photo.jpg",
        mime_type: str | None = None,
        bot: str | None = None,
        date: int | None = None,
    ) -> ActionResult:
        """The user sends an image as a photo (recompressed, EXIF stripped) or as a file (bytes kept)."""
        return await self._media(user_id, "photo", data, file_name, mime_type, caption, as_file, bot, date)

    async def send_document(
        self,
        user_id: int,
        data: bytes,
        file_name: str,
        mime_type: str | None = None,
        caption: str | None = None,
        bot: str | None = None,
        date: int | None = None,
    ) -> ActionResult:
        """The user sends a file (bytes kept)."""
        return await self._media(user_id, "document", data, file_name, mime_type, caption, True, bot, date)

    async def send_venue(
        self,
        user_id: int,
        latitude: float,
        longitude: float,
        title: str,
        address: str,
        foursquare_id: str | None = None,
        bot: str | None = None,
        date: int | None = None,
    ) -> ActionResult:
        """The user sends a venue."""
        body = {
            "latitude": latitude,
            "longitude": longitude,
            "title": title,
            "address": address,
            "foursquare_id": foursquare_id,
            "date": date,
        }
        return await self._action(user_id, "venue", body, bot)

    async def send_contact(
        self,
        user_id: int,
        phone_number: str,
        first_name: str,
        last_name: str | None = None,
        contact_user_id: int | None = None,
        bot: str | None = None,
        date: int | None = None,
    ) -> ActionResult:
        """The user shares a contact (pass contact_user_id=user_id for their own)."""
        body = {
            "phone_number": phone_number,
            "first_name": first_name,
            "last_name": last_name,
            "user_id": contact_user_id,
            "date": date,
        }
        return await self._action(user_id, "contact", body, bot)

    async def send_sticker(
        self, user_id: int, emoji: str = "👍", bot: str | None = None, date: int | None = None
    ) -> ActionResult:
        """The user sends a sticker."""
        return await self._action(user_id, "sticker", {"emoji": emoji, "date": date}, bot)

    async def forward(
        self,
        user_id: int,
        text: str | None = None,
        origin: JSON | None = None,
        from_chat_id: int | None = None,
        message_id: int | None = None,
        bot: str | None = None,
        date: int | None = None,
    ) -> ActionResult:
        """The user forwards a message: text with `origin` (forward_origin), or an existing message."""
        body = {
            "text": text,
            "origin": origin,
            "from_chat_id": from_chat_id,
            "message_id": message_id,
            "date": date,
        }
        return await self._action(user_id, "forward", body, bot)
