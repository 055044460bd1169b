"""Bot API chats and the bot itself: getMe, sendChatAction, my commands and the no-op settings."""

from __future__ import annotations

import re

from sandbox.bot_api.sending import BotSending
from sandbox.core import now
from sandbox.errors import bad_request
from sandbox.params import Params
from sandbox.records import JSON, BotRecord


class ChatsApi(BotSending):
    """Methods about a chat or the bot's own profile."""

    def _m_getme(self, bot: BotRecord, params: Params) -> JSON:
        return bot.me()

    def _m_logout(self, bot: BotRecord, params: Params) -> bool:
        return True

    def _m_close(self, bot: BotRecord, params: Params) -> bool:
        return True

    def _m_sendchataction(self, bot: BotRecord, params: Params) -> bool:
        chat = self._target_chat(bot, params)
        action = params.get_str("action", required=True)
        allowed = {
            "typing",
            "upload_photo",
            "record_video",
            "upload_video",
            "record_voice",
            "upload_voice",
            "upload_document",
            "choose_sticker",
            "find_location",
            "record_video_note",
            "upload_video_note",
        }
        if action not in allowed:
            raise bad_request("wrong parameter action in request")
        chat.chat_action = {"action": action, "date": now()}
        return True

    def _m_setmycommands(self, bot: BotRecord, params: Params) -> bool:
        commands = params.get_json("commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        if len(commands) > 100:
            raise bad_request("too many commands specified")
        clean: list[JSON] = []
        for c in commands:
            if not isinstance(c, dict):
                raise bad_request("can't parse BotCommand")
            name = str(c.get("command", "")).removeprefix("/")
            desc = str(c.get("description", ""))
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise bad_request("BOT_COMMAND_INVALID")
            if not (1 <= len(desc) <= 256):
                raise bad_request("command description must be non-empty")
            clean.append({"command": name, "description": desc})
        bot.commands[self._commands_key(params.get_json("scope"), params.get_str("language_code"))] = clean
        return True

    def _m_getmycommands(self, bot: BotRecord, params: Params) -> list[JSON]:
        return list(
            bot.commands.get(
                self._commands_key(params.get_json("scope"), params.get_str("language_code")), []
            )
        )

    def _m_deletemycommands(self, bot: BotRecord, params: Params) -> bool:
        bot.commands.pop(self._commands_key(params.get_json("scope"), params.get_str("language_code")), None)
        return True

    def _m_setmydescription(self, bot: BotRecord, params: Params) -> bool:
        return True

    def _m_setmyshortdescription(self, bot: BotRecord, params: Params) -> bool:
        return True

    def _m_setmyname(self, bot: BotRecord, params: Params) -> bool:
        return True

    def _m_setchatmenubutton(self, bot: BotRecord, params: Params) -> bool:
        return True
