"""Bot API messages: sendMessage, sendLocation, sendVenue, edits, deleteMessage, answerCallbackQuery."""

from __future__ import annotations

from sandbox.bot_api.sending import BotSending
from sandbox.core import now
from sandbox.errors import bad_request
from sandbox.params import Params
from sandbox.records import JSON, BotRecord, MessageRecord


class MessagesApi(BotSending):
    """Methods that send, edit or delete messages and answer callback queries."""

    def _m_sendmessage(self, bot: BotRecord, params: Params) -> JSON:
        text = params.get_str("text", required=True, empty_msg="message text is empty")
        assert text is not None
        if len(text) > 4096 and params.get_str("parse_mode") is None:
            raise bad_request("message is too long")
        content = self._text_content(params, "text", "entities")
        if not content.get("text", "").strip():
            raise bad_request("message text is empty")
        if len(content["text"]) > 4096:
            raise bad_request("message is too long")
        lpo = params.get_json("link_preview_options")
        if isinstance(lpo, dict) and lpo:
            content["link_preview_options"] = lpo
        return self._bot_send(bot, params, content)

    def _m_sendlocation(self, bot: BotRecord, params: Params) -> JSON:
        return self._bot_send(bot, params, {"location": self._location_params(params)})

    def _m_sendvenue(self, bot: BotRecord, params: Params) -> JSON:
        loc = self._location_params(params)
        venue: JSON = {
            "location": dict(loc),
            "title": params.get_str("title", required=True),
            "address": params.get_str("address", required=True),
        }
        return self._bot_send(bot, params, {"location": loc, "venue": venue})

    def _editable(self, bot: BotRecord, params: Params) -> MessageRecord:
        if params.has("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")
        chat = self._target_chat(bot, params)
        mid = params.get_int("message_id", required=True)
        assert mid is not None
        rec = chat.messages.get(mid)
        if rec is None or rec.deleted:
            raise bad_request("message to edit not found")
        if not rec.from_bot:
            raise bad_request("message can't be edited")
        return rec

    def _apply_edit(self, rec: MessageRecord, changes: JSON, markup: JSON | None) -> JSON:
        msg = dict(rec.message)
        msg.update(changes)
        for key in ("entities", "caption_entities"):
            if msg.get(key) == []:
                msg.pop(key)
        if markup is not None:
            msg["reply_markup"] = markup
        else:
            msg.pop("reply_markup", None)
        same = {k: v for k, v in msg.items() if k != "edit_date"} == {
            k: v for k, v in rec.message.items() if k != "edit_date"
        }
        if same:
            raise bad_request(
                "message is not modified: specified new message content and reply markup are exactly "
                "the same as a current content and reply markup of the message"
            )
        msg["edit_date"] = now()
        rec.message = msg
        rec.seq = next(self._seq)
        return msg

    def _m_editmessagetext(self, bot: BotRecord, params: Params) -> JSON:
        rec = self._editable(bot, params)
        if "text" not in rec.message:
            raise bad_request("there is no text in the message to edit")
        text = params.get_str("text", required=True, empty_msg="message text is empty")
        assert text is not None
        content = self._text_content(params, "text", "entities")
        if not content.get("text", "").strip():
            raise bad_request("message text is empty")
        if "entities" not in content:
            content["entities"] = []
        inline, _ = self._reply_markup(params, None)
        return self._apply_edit(rec, content, inline)

    def _m_editmessagecaption(self, bot: BotRecord, params: Params) -> JSON:
        rec = self._editable(bot, params)
        content = self._text_content(params, "caption", "caption_entities")
        content.setdefault("caption_entities", [])
        inline, _ = self._reply_markup(params, None)
        if "caption" not in content:
            content["caption"] = ""
        msg = self._apply_edit(rec, content, inline)
        if msg.get("caption") == "":
            msg.pop("caption")
        return msg

    def _m_editmessagereplymarkup(self, bot: BotRecord, params: Params) -> JSON:
        rec = self._editable(bot, params)
        inline, _ = self._reply_markup(params, None)
        return self._apply_edit(rec, {}, inline)

    def _m_editmessagelivelocation(self, bot: BotRecord, params: Params) -> JSON:
        rec = self._editable(bot, params)
        if "live_period" not in rec.message.get("location", {}):
            raise bad_request("message can't be edited")
        loc = {**rec.message["location"], **self._location_params(params)}
        inline, _ = self._reply_markup(params, None)
        return self._apply_edit(rec, {"location": loc}, inline)

    def _m_stopmessagelivelocation(self, bot: BotRecord, params: Params) -> JSON:
        rec = self._editable(bot, params)
        loc = dict(rec.message.get("location", {}))
        if "live_period" not in loc:
            raise bad_request("message can't be edited")
        loc.pop("live_period")
        inline, _ = self._reply_markup(params, None)
        return self._apply_edit(rec, {"location": loc}, inline)

    def _m_deletemessage(self, bot: BotRecord, params: Params) -> bool:
        chat = self._target_chat(bot, params)
        mid = params.get_int("message_id", required=True)
        rec = chat.messages.get(mid or 0)
        if rec is None or rec.deleted:
            raise bad_request("message to delete not found")
        rec.deleted = True
        rec.seq = next(self._seq)
        return True

    def _m_answercallbackquery(self, bot: BotRecord, params: Params) -> bool:
        qid = params.get_str("callback_query_id", required=True, empty_msg="QUERY_ID_INVALID")
        assert qid is not None
        if qid not in bot.callback_queries or qid in bot.answered:
            raise bad_request("query is too old and response timeout expired or query ID is invalid")
        answer: JSON = {"callback_query_id": qid, "date": now()}
        for key in ("text", "url"):
            if params.get_str(key):
                answer[key] = params.get_str(key)
        answer["show_alert"] = params.get_bool("show_alert")
        cache = params.get_int("cache_time")
        if cache is not None:
            answer["cache_time"] = cache
        bot.answered[qid] = answer
        user_id, mid = bot.callback_queries[qid]
        chat = bot.chats.get(user_id)
        if chat is not None and mid in chat.messages:
            chat.messages[mid].callback_answers.append(answer)
            chat.messages[mid].seq = next(self._seq)
        return True
