"""When a burst opens, and what its digest says (the bot e2e is in test_visit_offline.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from telegram import Update

from bot.flows import digest
from bot.flows.core import Kind, Turn
from bot.settings import BotSettings

ARRIVED = datetime(2026, 11, 30, 6, 40, tzinfo=UTC)  # 14:40 in Asia/Shanghai
SENDER = {"id": 7, "is_bot": False, "first_name": "王"}


@dataclass
class _DB:
    waiting: int
    asked: list[tuple[int, int]] = field(default_factory=list)

    def inbox_waiting(self, chat: int, row: int) -> int:
        self.asked.append((chat, row))
        return self.waiting


@dataclass
class _RT:
    db: _DB
    settings: BotSettings = field(default_factory=BotSettings)
    bursts: dict[int, Any] = field(default_factory=dict)


def _turn(minutes_ago: float, press: bool = False, text: str = "2") -> Turn:
    date = int((ARRIVED - timedelta(minutes=minutes_ago)).timestamp())
    msg = {"message_id": 1, "chat": {"id": 7, "type": "private"}, "from": SENDER, "text": text, "date": date}
    if press:
        query = {"id": "q", "from": SENDER, "chat_instance": "c", "data": "x", "message": msg}
        raw = {"update_id": 1, "callback_query": query}
    else:
        raw = {"update_id": 1, "message": msg}
    kind = Kind.CALLBACK if press else Kind.TEXT
    return Turn(Update.de_json(raw, None), None, None, kind, 7, 7, None, None, arrived=ARRIVED)  # type: ignore[arg-type]


def test_a_burst_opens_for_old_messages_with_more_queued_behind_them() -> None:
    rt = _RT(_DB(waiting=3))
    burst = digest.open_for(rt, 7, 11, _turn(36))  # type: ignore[arg-type]
    assert burst is not None and rt.bursts[7] is burst
    # the next update of the chat joins it, whatever its date
    assert digest.open_for(rt, 7, 12, _turn(0)) is burst  # type: ignore[arg-type]


def test_no_burst_for_fresh_messages_a_last_message_or_a_pressed_button() -> None:
    assert digest.open_for(_RT(_DB(waiting=3)), 7, 11, _turn(0.2)) is None  # type: ignore[arg-type]
    assert digest.open_for(_RT(_DB(waiting=0)), 7, 11, _turn(36)) is None  # type: ignore[arg-type]
    # a press shows the date of the message its button is on: a double tap is not a burst
    assert digest.open_for(_RT(_DB(waiting=3)), 7, 11, _turn(36, press=True)) is None  # type: ignore[arg-type]
    assert digest.open_for(_RT(_DB(waiting=3)), 7, None, _turn(36)) is None  # type: ignore[arg-type]


def test_the_digest_groups_recorded_and_refused_in_the_visits_zone() -> None:
    burst = digest.Burst()
    ok, bad = _turn(36), _turn(35, text="随便写写")
    ok.burst = bad.burst = burst
    ok.changed = True
    burst.hold(ok, "✔ 2", "3. 该户情况", None, "n1")
    digest.close_turn(ok)
    burst.hold(bad, "", "请使用问题下方的按钮作答。", None, "n1")
    digest.close_turn(bad)
    text = digest.render(burst, "Asia/Shanghai")
    assert "2 条消息" in text and "已记录（1 条）" in text and "未记录（1 条）" in text, text
    assert "14:04 「2」 — ✔ 2" in text and "14:05 「随便写写」 — 请使用问题下方的按钮作答。" in text, text
    assert text.endswith("请重新发送未记录的内容。")
    burst.lang = "en"
    assert "Not recorded (1):" in digest.render(burst, "Asia/Shanghai")
