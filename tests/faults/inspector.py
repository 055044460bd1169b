"""A scripted inspector for the fault campaign: plays home visits through the sandbox and keeps a ledger.

The inspector reads only what the bot shows (like a person would): the step prompt it answers, and
the next prompt as the acknowledgement. When a reply does not come (the bot, the store or the sandbox
was killed), it asks the bot where it stands with /visit and goes on from there.

The ledger records what the bot acknowledged: a step prompt numbered N+1 acknowledges the answers
1..N of that visit (the bot numbers steps by answers kept); a reply after a photo acknowledges the
photo; "走访已提交" acknowledges the submission.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from checklists import load_checklist
from sandbox import ChatMessage, SandboxClient
from tests.visit_helpers import jpeg_with_gps

LABELS = frozenset(st.label.get("zh-CN") for st in load_checklist("home_visit").steps)
NUMBERED = re.compile(r"^(\d+)\. (?:【[^】]*】)?(.+)$")
PROMPT_MARKS = ("/back", "走访小结")
TROUBLE = ("暂时无法连接", "请重试", "未能处理", "已不再对应")
SUBMITTED = "走访已提交"
# Notices the bot sends on its own (the outbox synced a photo saved while the store was down): not
# replies to a user message, and two photos may well get the same text.
NOTICES = ("之前保存的照片已上传到服务器",)
RESUMED = "继续 "
# The value pressed or typed at each step of the home-visit checklist (by step label); anything else
# falls back to the first choice, "yes" and a short text.
PLAN: dict[str, str] = {
    "本次入户检查组共几人？": "2",
    # home_visit version 2: typed facts the store compares with the register
    "户主身份证号码后四位": "1234",
    "家庭人口：实际共同生活的人数": "3",
    "保障人口：低保证": "3",
    "有劳动能力的成员几人？": "0",
    "其中在务工": "0",
    "耕地面积": "10",
    "牲畜存栏": "0",
    "法定赡养": "0",
    "车辆（农机）现值": "0",
    "查看了最近几个月的到账记录": "3",
    "其中未到账或到账少于": "0",
    "这几个月低保金到账合计": "1680",
    "多发（不应发放）的月数": "0",
    "多发金额合计": "0",
    "应补发给本户的金额": "0",
    "户主去世年月": "2026-03",
    "该户情况": "a:home",
    "在场人员（可多选）": "m:beneficiary",
    "低保名册登记的家庭人数": "3",
    "实际共同生活的人数（含本人）": "3",
    "家中是否有劳动能力的成员在工作": "a:no",
    "家庭成员健康与残疾情况（可多选）": "m:healthy",
    "家庭收入来源（可多选）": "m:none",
    "了解到的家庭收入与名册登记相比": "a:consistent",
    "是否有不在本户居住的赡养": "a:no",
    "住房情况": "a:own_ordinary",
    "是否有其他房产": "a:no",
    "家中车辆和耐用消费品（可多选）": "m:none",
    "是否发现经营活动": "a:no",
    "日常开支": "a:no",
    "综合看，家庭生活状况与保障档次相比": "a:fits",
    "低保银行卡或存折在谁手中？": "a:household",
    "保障金如何发放？": "a:bank",
    "名册登记的月保障金额（元）": "560",
    "近三个月平均每月实际到账金额": "560",
    "是否被要求返还": "a:no",
    "家庭成员是否是村（社区）干部": "a:no",
    "申请过程中是否被要求送礼": "a:no",
    "对低保工作的满意度": "a:satisfied",
    "检查组核查意见或其他情况（可跳过）": "sk",
}


def value_of(button: Any) -> str:
    """The action part of a button's callback data ("a:yes", "pd", "go:<id>")."""
    data = button.callback_data or ""
    return data.split("|", 2)[2] if data.count("|") >= 2 else ""


def numbered(m: ChatMessage) -> tuple[int, str] | None:
    """The step number and label of a step prompt."""
    for line in m.text.splitlines():
        hit = NUMBERED.match(line.strip())
        if hit and hit.group(2) in LABELS:
            return int(hit.group(1)), hit.group(2)
    return None


def is_prompt(m: ChatMessage) -> bool:
    """A step prompt, an evidence request or the summary."""
    return any(mark in m.text for mark in PROMPT_MARKS)


@dataclass
class Control:
    """What the driver shares with the inspectors."""

    calm: threading.Event = field(default_factory=threading.Event)  # faults are over: finish and stop
    sandbox_epoch: int = 0  # bumped at every sandbox restart (its message log starts empty)
    offline: dict[int, threading.Event] = field(default_factory=dict)  # uid -> go offline at next step
    offline_done: dict[int, threading.Event] = field(default_factory=dict)


@dataclass
class VisitLedger:
    """What the bot acknowledged for one visit (one assignment)."""

    labels: dict[int, str] = field(default_factory=dict)  # prompt number -> step label shown
    acked: int = 0  # answers 1..acked were acknowledged
    submitted: bool = False
    open_at_calm: bool = False  # in progress when the faults stopped
    resumed: bool = False  # then /visit offered to resume it
    # Submit was pressed but its confirmation never showed (the sandbox restarted and forgot it, or it
    # came after the wait), and /visit then no longer offered the visit: the store is asked whether
    # it was submitted (a person would see the household gone from the list, or marked for revisit).
    submit_unacked: bool = False


@dataclass
class Ledger:
    """One inspector's acknowledged answers and photos, and the actions it sent."""

    visits: dict[str, VisitLedger] = field(default_factory=dict)
    photos: dict[str, str] = field(default_factory=dict)  # sha256 -> assignment id
    updates: int = 0


class Inspector(threading.Thread):
    """One inspector's thread: visits, one after another, until the driver calls calm."""

    def __init__(
        self,
        login: str,
        uid: int,
        sandbox_url: Callable[[], str],
        token: str,
        places: dict[str, tuple[float, float]],
        ctl: Control,
        seed: int,
        short_first: bool = False,
    ) -> None:
        super().__init__(name=f"inspector-{login}", daemon=True)
        self.login = login
        self.uid = uid
        self.sandbox_url = sandbox_url
        self.token = token
        self.places = places
        self.ctl = ctl
        self.seed = seed
        self.ledger = Ledger()
        self.log: dict[int, ChatMessage] = {}
        self.error: BaseException | None = None
        self.aid: str | None = None
        self.finished = False
        self._client: SandboxClient | None = None
        self._client_url = ""
        self._cursor = 0
        self._epoch = 0
        self._photo_no = 0
        self._pending_photo: tuple[str, int] | None = None
        self._calm_seen = False
        self._submit_mark: tuple[str, int] | None = None  # (assignment, newest message before submit)
        # Every other visit is a short one (nobody home: a photo of the door), so that more visits
        # start and finish while the faults happen.
        self.short_first = short_first
        self.short = False
        self.started = 0

    # -- the sandbox, which may be restarting -------------------------------------------------------
    @property
    def client(self) -> SandboxClient:
        """A control client for the sandbox as it runs now."""
        url = self.sandbox_url()
        if self._client is None or self._client_url != url:
            self._client = SandboxClient(url, bot=self.token, timeout=5.0)
            self._client_url = url
        return self._client

    def refresh(self) -> None:
        """Merges what changed in the chat into the inspector's own log (kept across sandbox restarts)."""
        if self._epoch != self.ctl.sandbox_epoch:
            self._epoch, self._cursor = self.ctl.sandbox_epoch, 0
        try:
            view = self.client.chat(self.uid, since=self._cursor, who="all")
        except Exception:
            return
        for m in view.messages:
            self.log[m.message_id] = m
        self._cursor = view.cursor

    def send(self, what: Callable[[SandboxClient], Any]) -> int | None:
        """Performs one user action; the id of the user's message (0 for a press), None when it failed."""
        try:
            result = what(self.client)
        except Exception:
            time.sleep(0.3)
            return None
        self.ledger.updates += 1
        mid = result.message_id
        if mid is not None:
            self.log.setdefault(mid, ChatMessage(result.message))
        return int(mid or 0)

    def mark(self) -> int:
        """The newest message id known (replies to the next action come after it)."""
        self.refresh()
        return max(self.log, default=0)

    def wait_for(
        self, pred: Callable[[ChatMessage], bool], after: int, timeout: float = 15.0
    ) -> ChatMessage | None:
        """The first new bot message after `after` matching pred; None on trouble, timeout or restart."""
        epoch = self.ctl.sandbox_epoch
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.refresh()
            for mid in sorted(k for k in self.log if k > after):
                m = self.log[mid]
                if not m.from_bot or m.deleted:
                    continue
                if pred(m):
                    return m
                if any(t in m.text for t in TROUBLE):
                    time.sleep(0.5)
                    return None
            if self.ctl.sandbox_epoch != epoch:
                time.sleep(0.5)
                return None
            time.sleep(0.08)
        return None

    # -- the visit ----------------------------------------------------------------------------------
    def run(self) -> None:
        try:
            prompt: ChatMessage | None = None
            deadline = time.monotonic() + 240
            while not self.finished:
                assert time.monotonic() < deadline, f"{self.login} never finished"
                if self.ctl.calm.is_set() and not self._calm_seen:
                    # The faults are over: the visit in progress must be offered for resumption.
                    self._calm_seen = True
                    if self.aid is not None:
                        self.ledger.visits.setdefault(self.aid, VisitLedger()).open_at_calm = True
                        prompt = None
                if prompt is None:
                    prompt = self.resync()
                    continue
                ev = self.ctl.offline.get(self.uid)
                if ev is not None and ev.is_set():
                    ev.clear()
                    self.offline_burst(prompt)
                    prompt = None
                    continue
                prompt = self.play(prompt)
        except BaseException as exc:
            self.error = exc

    def seen(self, m: ChatMessage) -> None:
        """Notes a step prompt: prompt N+1 acknowledges answers 1..N."""
        if self.aid is None:
            return
        v = self.ledger.visits.setdefault(self.aid, VisitLedger())
        got = numbered(m)
        if got is not None:
            n, label = got
            v.labels[n] = label
            v.acked = max(v.acked, n - 1)
        elif "走访小结" in m.text:
            v.acked = max(v.acked, max(v.labels, default=0))

    def late_submit(self) -> None:
        """A confirmation of the last submit that came after the inspector stopped waiting for it."""
        if self._submit_mark is None:
            return
        aid, after = self._submit_mark
        self.refresh()
        if any(m.from_bot and SUBMITTED in m.text for k, m in self.log.items() if k > after):
            self.ledger.visits.setdefault(aid, VisitLedger()).submitted = True
            self._submit_mark = None
            if self.aid == aid:
                self.aid = None

    def resync(self) -> ChatMessage | None:
        """/visit: the visit resumed, or the assignment list to start (or rejoin) one."""
        self.late_submit()
        after = self.mark()
        if self.send(lambda c: c.send_text(self.uid, "/visit")) is None:
            return None
        m = self.wait_for(
            lambda m: is_prompt(m) or m.reply_markup is not None or "没有待走访" in m.text, after
        )
        if m is None:
            return None
        if is_prompt(m):
            self._submit_mark = None  # the visit is still open: the submit did not happen
            if RESUMED in m.text and self.aid is not None:
                self.ledger.visits.setdefault(self.aid, VisitLedger()).resumed = True
            self.seen(m)
            return m
        picks = {value_of(b)[3:]: b for b in m.iter_buttons() if value_of(b).startswith("go:")}
        if self._submit_mark is not None:
            # submitted without a confirmation seen: gone from the list, or back on it for a revisit
            aid, _ = self._submit_mark
            self._submit_mark = None
            if aid not in picks or picks[aid].text.startswith("↻"):
                self.ledger.visits.setdefault(aid, VisitLedger()).submit_unacked = True
                if self.aid == aid:
                    self.aid = None
        if not picks or (self.ctl.calm.is_set() and self.aid not in picks):
            self.finished = True
            return None
        # a visit found nobody home puts its assignment back on the list: each is visited once here
        fresh = [a for a in picks if a not in self.ledger.visits or a == self.aid]
        if not fresh:
            self.finished = True
            return None
        aid = self.aid if self.aid in picks else fresh[0]
        if aid != self.aid:
            self.started += 1
            self.short = (self.started % 2 == 1) == self.short_first
        self.aid = aid
        after = self.mark()
        data = str(picks[aid].callback_data)
        if self.send(lambda c: c.press(self.uid, m.message_id, data)) is None:
            return None
        m2 = self.wait_for(is_prompt, after)
        if m2 is not None:
            self.seen(m2)
        return m2

    def photo(self, at: int | None = None) -> tuple[bytes, int | None]:
        """A fresh on-site JPEG (sent as a file, so its bytes and EXIF reach the store unchanged)."""
        self._photo_no += 1
        lat, lon = self.places.get(self.aid or "", (43.98, 119.38))
        when = datetime.fromtimestamp(at, UTC) if at else None
        blob = jpeg_with_gps(lat, lon, when=when, seed=self.seed * 1000 + self._photo_no)
        mid = self.send(
            lambda c: c.send_photo(
                self.uid,
                blob,
                as_file=True,
                file_name=f"p{self._photo_no}.jpg",
                mime_type="image/jpeg",
                date=at,
            )
        )
        return blob, mid

    def choose(self, m: ChatMessage) -> tuple[str, str]:
        """What to do at this prompt: (kind, value) with kind press, type, toggle, photo, live, submit."""
        values = [value_of(b) for b in m.iter_buttons()]
        text = m.text
        if "sub" in values:
            return "submit", "sub"
        if "pd" in values:
            return "press", "pd"
        if "照片：已收" in text or "请发送照片" in text:
            return "photo", ""
        if ("添加一项" in text) and "a:no" in values:
            return "press", "a:no"  # a repeat's "add an entry?": the household is as registered
        got = numbered(m)
        label = got[1] if got else ""
        if "实时位置" in text and not any(v.startswith("a:") for v in values):
            return "live", ""
        planned = next((v for k, v in PLAN.items() if label.startswith(k)), None)
        if self.short and planned == "a:home":
            planned = "a:not_home"
        if planned is not None and planned in values:
            return ("toggle" if planned.startswith("m:") else "press"), planned
        if planned is not None and not planned.startswith(("a:", "m:", "sk")):
            return "type", planned
        if "a:yes" in values:
            return "press", "a:yes"
        for kind, prefix in (("press", "a:"), ("toggle", "m:"), ("press", "ok")):
            hit = next((v for v in values if v.startswith(prefix)), None)
            if hit is not None:
                return kind, hit
        if "请输入数字" in text:
            return "type", "2"
        return "type", "无异常"

    def data_of(self, m: ChatMessage, value: str) -> str | None:
        """The callback data of the button with this value on m."""
        return next((b.callback_data for b in m.iter_buttons() if value_of(b) == value), None)

    def act(self, m: ChatMessage, kind: str, value: str, at: int | None = None) -> int | None:
        """Sends the chosen action without waiting for its reply."""
        if kind in ("press", "submit"):
            data = self.data_of(m, value)
            if data is None:
                return None
            return self.send(lambda c: c.press(self.uid, m.message_id, data))
        if kind == "type":
            return self.send(lambda c: c.send_text(self.uid, value, date=at))
        if kind == "live":
            lat, lon = self.places.get(self.aid or "", (43.98, 119.38))
            return self.send(lambda c: c.live_location(self.uid, lat, lon, horizontal_accuracy=12, date=at))
        if kind == "photo":
            blob, mid = self.photo(at)
            if mid is not None:
                self._pending_photo = (hashlib.sha256(blob).hexdigest(), mid)
            return mid
        raise ValueError(kind)

    def play(self, m: ChatMessage) -> ChatMessage | None:
        """One step: act on the prompt and wait for the next; None when the inspector must resync."""
        kind, value = self.choose(m)
        if kind == "toggle":
            return self.toggle(m, value)
        after = self.mark()
        self._pending_photo = None
        if self.act(m, kind, value) is None:
            return None
        if kind == "submit":
            if self.aid is not None:
                self._submit_mark = (self.aid, after)
            done = self.wait_for(lambda x: SUBMITTED in x.text, after)
            if done is not None and self.aid is not None:
                self.ledger.visits.setdefault(self.aid, VisitLedger()).submitted = True
                self.aid = None
                self._submit_mark = None
            return None
        nxt = self.wait_for(is_prompt, after)
        if nxt is not None:
            if self._pending_photo is not None:
                self.ledger.photos[self._pending_photo[0]] = self.aid or ""
            self.seen(nxt)
        return nxt

    def toggle(self, m: ChatMessage, value: str) -> ChatMessage | None:
        """Ticks one choice of a multi-choice step, then Done."""
        data = self.data_of(m, value)
        if data is None:
            return None
        if self.send(lambda c: c.press(self.uid, m.message_id, data)) is None:
            return None
        deadline = time.monotonic() + 10
        ticked: ChatMessage | None = None
        while ticked is None and time.monotonic() < deadline:
            self.refresh()
            cur = self.log.get(m.message_id)
            if cur is not None and any(
                b.text.startswith("☑") and value_of(b) == value for b in cur.iter_buttons()
            ):
                ticked = cur
            time.sleep(0.08)
        if ticked is None:
            return None
        return self.play_done(ticked)

    def play_done(self, m: ChatMessage) -> ChatMessage | None:
        """Presses Done on a multi-choice step and waits for the next prompt."""
        after = self.mark()
        data = self.data_of(m, "md")
        if data is None or self.send(lambda c: c.press(self.uid, m.message_id, data)) is None:
            return None
        nxt = self.wait_for(lambda x: is_prompt(x) and x.message_id != m.message_id, after)
        if nxt is not None:
            self.seen(nxt)
        return nxt

    def offline_burst(self, m: ChatMessage, seconds: float = 3.0) -> None:
        """No signal: answers the step shown and sends one more photo, then everything arrives at once."""
        done = self.ctl.offline_done.setdefault(self.uid, threading.Event())
        try:
            self.client.go_offline(self.uid)
        except Exception:
            done.set()
            return
        start = int(time.time())
        kind, value = self.choose(m)
        extra: tuple[bytes, int | None] | None = None
        if kind not in ("toggle", "submit"):
            self.act(m, kind, value, at=start)
            extra = self.photo(at=start + 1)
        time.sleep(seconds)  # the inspector works on without signal for a while
        after = self.mark()
        try:
            self.client.go_online(self.uid)
        except Exception:
            done.set()
            return
        done.set()
        reply = self.wait_for(lambda x: "已保存" in x.text or "已收" in x.text, after)
        if reply is not None and extra is not None and extra[1] is not None:
            self.ledger.photos[hashlib.sha256(extra[0]).hexdigest()] = self.aid or ""

    # -- the end ------------------------------------------------------------------------------------
    def duplicates(self) -> list[str]:
        """Bot messages sent twice in answer to one user message: the same text more often, between
        two runs of user messages, than the user messages that preceded it. (A user message whose
        send timed out may still have arrived; the inspector then sent it again, and both replies
        come after both messages.)"""
        found: list[str] = []
        seen: Counter[str] = Counter()
        asked = 0
        in_replies = False
        for mid in sorted(self.log):
            m = self.log[mid]
            if not m.from_bot:
                if in_replies:
                    asked, seen, in_replies = 0, Counter(), False
                asked += 1
                continue
            if m.deleted or not m.text or m.text.startswith(NOTICES):
                continue
            in_replies = True
            seen[m.text] += 1
            if seen[m.text] > max(1, asked):
                found.append(f"{self.login} message {mid}: {m.text[:60]!r}")
        return found
