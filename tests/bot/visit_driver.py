"""Drives a guided visit through the sandbox as an inspector would: buttons, typing, locations, photos."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from models.user import Role, User
from sandbox import ChatMessage
from tests.bot.conftest import World
from tests.conftest import shared_testdata
from tests.visit_helpers import jpeg_with_gps

HOME = (43.98, 119.38)  # where tests.factories.make_household puts every household
PROMPT_MARK = "/back"  # every step prompt ends with the /back · /pause · /cancel line
SUMMARY_MARK = "走访小结"


def bind(world: World, login: str, name: str, role: Role = Role.inspector, **kw: Any) -> tuple[User, int]:
    """A store user bound to a new sandbox user through /start CODE."""
    staff = world.staff(login, role, **kw)
    code = world.invite(login)
    tg = world.client.user(first_name=name)
    reply = world.user_say(tg.id, f"/start {code}")
    assert "欢迎" in reply.text, reply.text
    return staff, tg.id


def shared_photo(name: str) -> bytes:
    """A photo from ../shared/testdata/photos (the test is skipped, with the reason, when absent)."""
    return shared_testdata("photos", name).read_bytes()


def is_prompt(m: ChatMessage) -> bool:
    """A step prompt, an evidence request or the summary."""
    return PROMPT_MARK in m.text or SUMMARY_MARK in m.text


@dataclass
class Inspector:
    """One simulated inspector in a visit."""

    world: World
    uid: int
    last: ChatMessage | None = None
    seen: list[str] = field(default_factory=list)
    seed: int = 0

    @property
    def client(self) -> Any:
        """The sandbox control client."""
        return self.world.client

    def wait(self, pred: Callable[[ChatMessage], bool] = is_prompt, timeout: float = 10) -> ChatMessage:
        """The bot's first matching message after the last action."""
        m = self.client.wait_for_message(self.uid, pred, timeout=timeout)
        self.seen.append(m.text)
        if m.reply_markup is not None or is_prompt(m):
            self.last = m
        return m

    def wait_all(self, *parts: str, timeout: float = 10) -> ChatMessage:
        """The bot's first message containing every part."""
        return self.wait(lambda m: all(p in m.text for p in parts), timeout)

    def say(self, text: str, pred: Callable[[ChatMessage], bool] = is_prompt) -> ChatMessage:
        """Sends text (or a command) and waits for the reply."""
        self.client.send_text(self.uid, text)
        return self.wait(pred)

    def start(self, pick: str | None = None, pred: Callable[[ChatMessage], bool] = is_prompt) -> ChatMessage:
        """/visit, then the (first or named) assignment button; returns the first step."""
        listing = self.say("/visit", lambda m: m.reply_markup is not None)
        button = next(b for b in listing.iter_buttons() if pick is None or pick in b.text)
        assert button.callback_data is not None
        self.client.press(self.uid, listing.message_id, button.callback_data)
        return self.wait(pred)

    def button(self, value: str, message: ChatMessage | None = None) -> ChatMessage | None:
        """The callback data on the latest prompt whose value is `value` (e.g. "a:yes")."""
        m = message or self.last
        assert m is not None
        for b in m.iter_buttons():
            if b.callback_data and b.callback_data.split("|", 2)[2] == value:
                return m
        return None

    def press(
        self, value: str, pred: Callable[[ChatMessage], bool] = is_prompt, message: ChatMessage | None = None
    ) -> ChatMessage:
        """Presses the button whose value is `value` on the latest prompt; waits for the next prompt."""
        m = message or self.last
        assert m is not None, "no prompt yet"
        data = next(
            (
                b.callback_data
                for b in m.iter_buttons()
                if b.callback_data and b.callback_data.split("|", 2)[2] == value
            ),
            None,
        )
        assert data is not None, (
            f"no button {value!r} in {[b.callback_data for b in m.iter_buttons()]}: {m.text}"
        )
        self.client.press(self.uid, m.message_id, data)
        if pred is is_prompt:
            # a press changes the pressed message too (its answer, its keyboard): wait for a new one
            return self.wait(lambda x: is_prompt(x) and x.message_id != m.message_id)
        return self.wait(pred)

    def press_raw(self, message: ChatMessage, value: str) -> Any:
        """Presses a button without waiting (for stale-button checks)."""
        data = next(
            b.callback_data
            for b in message.iter_buttons()
            if b.callback_data and b.callback_data.endswith("|" + value)
        )
        return self.client.press(self.uid, message.message_id, data, check=False)

    def live(
        self, lat: float = HOME[0], lon: float = HOME[1], pred: Callable[[ChatMessage], bool] = is_prompt
    ) -> ChatMessage:
        """Starts a live location (the check-in)."""
        self.client.live_location(self.uid, lat, lon, horizontal_accuracy=12)
        return self.wait(pred)

    def photo(
        self, data: bytes | None = None, as_file: bool = False, name: str = "photo.jpg", **kw: Any
    ) -> ChatMessage:
        """Sends a photo (a fresh on-site JPEG unless given) and waits for the verdict and next prompt."""
        self.seed += 1
        blob = data if data is not None else jpeg_with_gps(*HOME, seed=self.uid % 10_000 * 100 + self.seed)
        self.client.send_photo(
            self.uid, blob, as_file=as_file, file_name=name, mime_type="image/jpeg" if as_file else None
        )
        return self.wait(kw.get("pred", lambda m: "照片" in m.text and is_prompt(m)))


def _ticked(m: ChatMessage, choice: str) -> bool:
    return any(
        b.text.startswith("☑") for b in m.iter_buttons() if (b.callback_data or "").endswith(f"|m:{choice}")
    )


def run_to(ins: Inspector, script: list[tuple[str, Any]]) -> ChatMessage:
    """Plays (kind, value) actions: press a button value, type, multi toggles + Done, photo (as file?)."""
    m = ins.last
    assert m is not None
    for kind, value in script:
        if kind == "press":
            m = ins.press(value)
        elif kind == "type":
            m = ins.say(str(value))
        elif kind == "multi":
            for choice in value:
                ins.press(f"m:{choice}", pred=lambda x, c=choice: _ticked(x, c))
            m = ins.press("md")
        elif kind == "photo":
            m = ins.photo(as_file=bool(value))
        elif kind == "photo_bytes":
            blob, as_file = value
            m = ins.photo(blob, as_file=as_file, name="shared.jpg")
        else:
            raise ValueError(kind)
    return m


# home_visit version 2, a household with nothing wrong: up to the money section ...
ALL_FINE: list[tuple[str, Any]] = [
    ("type", "2"),
    ("press", "a:home"),
    ("press", "a:yes"),  # entered → photo
    ("photo", True),
    ("multi", ["head"]),
    ("press", "a:yes"),  # seen the head of household → photo
    ("photo", False),
    ("press", "a:yes"),  # documents checked: no photo, the ID's last four are typed
    ("type", "1234"),
    ("type", "3"),  # household size
    ("type", "1"),  # people covered, as registered (tests.factories.make_household: size 1)
    ("press", "a:no"),  # nobody away or living here off the register
    ("type", "0"),  # able to work
    ("multi", ["healthy"]),
    ("multi", ["none"]),
    ("press", "a:own_ordinary"),  # housing → photo
    ("photo", True),
    ("press", "a:no"),
    ("multi", ["none"]),
    ("press", "a:hard"),
]
# ... and from the money section to the summary (photos done on the signed form, the conclusion)
MONEY_OK: list[tuple[str, Any]] = [
    ("press", "a:passbook"),
    ("type", "6"),
    ("type", "0"),
    ("type", "3360"),
    ("press", "a:household"),
    ("press", "a:no"),
    ("press", "a:no"),
    ("press", "a:no"),
    ("press", "a:yes"),
    ("press", "a:within_6m"),
    ("press", "a:no_change"),
    ("multi", ["none"]),
    ("press", "a:no"),
    ("press", "a:satisfied"),
    ("press", "a:yes"),
    ("photo", True),
    ("press", "pd"),
    ("press", "a:eligible"),
]


def new_key() -> str:
    """A unique idempotency-free id for test data."""
    return uuid.uuid4().hex[:8]
