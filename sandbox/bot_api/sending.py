"""What the Bot API's sending and editing methods share: target chat, reply markup, text and entities."""

from __future__ import annotations

from sandbox.core import SandboxCore
from sandbox.entities import EntityParseError, format_text
from sandbox.errors import BotApiError, bad_request
from sandbox.params import Params
from sandbox.records import JSON, BotRecord, ChatRecord

#: InlineKeyboardButton fields of which a button needs one (besides its text).
BUTTON_KINDS = frozenset(
    {
        "callback_data",
        "url",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)


def _check_inline_keyboard(rows: object) -> None:
    """Raise Telegram's 400 for an inline keyboard it would reject."""
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not button.get("text"):
                raise bad_request(
                    "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
                )
            data = button.get("callback_data")
            if data is not None and not (1 <= len(str(data).encode()) <= 64):
                raise bad_request("BUTTON_DATA_INVALID")
            if not BUTTON_KINDS & set(button):
                raise bad_request(
                    "can't parse inline keyboard button: "
                    "InlineKeyboardButton must have exactly one of the optional fields"
                )


class BotSending(SandboxCore):
    """Helpers of the methods that put messages into a chat."""

    def _target_chat(self, bot: BotRecord, params: Params) -> ChatRecord:
        raw = params.values.get("chat_id")
        if raw is None or raw == "":
            raise bad_request("chat_id is empty")
        try:
            chat_id = int(raw)
        except (TypeError, ValueError):
            raise bad_request("chat not found") from None
        chat = self._chat(bot, chat_id)
        if chat_id in bot.blocked:
            raise BotApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _reply_markup(self, params: Params, chat: ChatRecord | None) -> tuple[JSON | None, JSON | None]:
        """Validate reply_markup; return (inline markup for the message JSON, other keyboard)."""
        markup = params.get_json("reply_markup")
        if markup is None:
            return None, None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            _check_inline_keyboard(markup["inline_keyboard"])
            return markup, None
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise bad_request('field "keyboard" of the ReplyKeyboardMarkup must be an Array of Arrays')
            normalized = [[b if isinstance(b, dict) else {"text": str(b)} for b in row] for row in rows]
            markup = {**markup, "keyboard": normalized}
            if chat is not None:
                chat.reply_keyboard = markup
            return None, markup
        if markup.get("remove_keyboard"):
            if chat is not None:
                chat.reply_keyboard = None
            return None, markup
        if markup.get("force_reply"):
            return None, markup
        raise bad_request("can't parse reply keyboard markup JSON object")

    def _bot_send(self, bot: BotRecord, params: Params, content: JSON) -> JSON:
        chat = self._target_chat(bot, params)
        inline, keyboard = self._reply_markup(params, chat)
        reply_to = params.get_int("reply_to_message_id")
        rp = params.get_json("reply_parameters")
        if isinstance(rp, dict) and rp.get("message_id") is not None:
            reply_to = int(rp["message_id"])
        if reply_to is not None:
            target = chat.messages.get(reply_to)
            if target is None:
                allow = params.get_bool("allow_sending_without_reply") or (
                    isinstance(rp, dict) and rp.get("allow_sending_without_reply")
                )
                if not allow:
                    raise bad_request("message to be replied not found")
            else:
                content["reply_to_message"] = {
                    k: v for k, v in target.message.items() if k != "reply_to_message"
                }
        if inline is not None:
            content["reply_markup"] = inline
        rec = self._new_message(bot, chat, bot.sender(), content, from_bot=True)
        rec.reply_keyboard = keyboard
        chat.chat_action = None
        return rec.message

    def _text_content(self, params: Params, text_key: str, entities_key: str) -> JSON:
        text = params.get_str(text_key)
        if text is None:
            return {}
        explicit = params.get_json(entities_key)
        try:
            if explicit is not None:
                plain, entities = text, list(explicit)
            else:
                plain, entities = format_text(text, params.get_str("parse_mode"))
        except EntityParseError as exc:
            raise bad_request(f"can't parse entities: {exc}") from None
        content: JSON = {text_key: plain}
        if entities:
            content[entities_key] = entities
        return content

    def _location_params(self, params: Params) -> JSON:
        lat = params.get_float("latitude", required=True)
        lon = params.get_float("longitude", required=True)
        assert lat is not None and lon is not None
        if not (-90 <= lat <= 90) or not (-180 <= lon <= 180):
            raise bad_request("wrong location latitude or longitude specified")
        loc: JSON = {"latitude": lat, "longitude": lon}
        for key in ("horizontal_accuracy",):
            v = params.get_float(key)
            if v is not None:
                loc[key] = v
        for key in ("live_period", "heading", "proximity_alert_radius"):
            iv = params.get_int(key)
            if iv is not None:
                loc[key] = iv
        return loc
