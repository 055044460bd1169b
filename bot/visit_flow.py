"""The guided visit as data: where a visit stands, what to show for a step, what a reply means.

Nothing here talks to Telegram or the store. A step becomes a `Prompt` (text and rows of
`(label, callback value)` buttons) which the handler turns into an inline keyboard; replies are
checked by the checklist engine, whose messages come back in the inspector's language. The visit's
state (`VisitData`) is plain JSON, written to the bot's `conversation` table inside each handler's
transaction, so a restart resumes at the same step with every earlier answer.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import checklists
from bot.i18n import t
from checklists import Checklist, ChecklistError, State, Step, StepKind
from media.geo import DEFAULT_RADIUS_M, Fix, SiteStatus, is_real_position, judge_site

FLOW = "v"
NAME = "visit"
# Telegram allows 4096 characters per message; summaries are split below that.
MAX_TEXT = 3900
MAX_PHOTO_BYTES = 20 * 1024 * 1024
IMAGE_MIMES = ("image/jpeg", "image/png", "image/webp", "image/heic", "image/heif")

# Conversation states
STEP = "step"  # answering the engine's current step
EVIDENCE = "evidence"  # answered; collecting the photo(s) that answer needs
SUMMARY = "summary"  # all answered; confirm or go back
CONFIRM_CANCEL = "confirm_cancel"
PAUSED = "paused"
HELPER = "helper"  # joined a teammate's visit: adds photos


def vt(lang: str | None, msgid: str, **params: object) -> str:
    """A visit text in the language, `{name}` placeholders filled (the bot catalog holds them)."""
    return t(lang, msgid, **params)


def now_iso() -> str:
    """The current UTC time as ISO text (state is JSON)."""
    return datetime.now(UTC).isoformat()


@dataclass
class Photo:
    """One photo of the visit and the store's verdict on it (or the bot's own until it is synced)."""

    ref: str
    step_id: str | None
    source: str
    status: str = "stored"  # stored | queued
    evidence_id: str | None = None
    site: str = "unknown"
    distance_m: float | None = None
    fresh: bool | None = None
    reused: bool = False
    edited: bool = False
    forwarded: bool = False
    reasons: list[str] = field(default_factory=list)

    @property
    def proven(self) -> bool:
        """Proof for a core step, as the store judges it: fresh, not off site, not reused or forwarded."""
        return (
            self.status == "stored"
            and self.fresh is not False
            and self.site != "off_site"
            and not self.reused
            and not self.forwarded
        )

    def apply_verdict(self, ev: dict[str, Any]) -> None:
        """Takes the store's EvidencePublic JSON."""
        self.status = "stored"
        self.evidence_id = str(ev["id"])
        self.site = str(ev.get("site") or "unknown")
        self.distance_m = ev.get("distance_m")
        self.fresh = ev.get("fresh")
        self.reused = bool(ev.get("reused"))
        self.edited = bool(ev.get("edited"))
        self.forwarded = bool(ev.get("forwarded"))
        self.reasons = [str(r.get("message")) for r in ev.get("reasons") or [] if r.get("message")][:4]


@dataclass
class VisitData:
    """Where a visit stands; stored as the `conversation` row's JSON."""

    assignment_id: str
    visit_id: str
    label: str
    checklist_id: str
    version: int
    lat: float | None = None
    lon: float | None = None
    datum: str | None = None
    answers: list[dict[str, Any]] = field(default_factory=list)
    pending: dict[str, Any] | None = None  # {"step_id", "value", "need"} while collecting evidence
    pending_photos: list[str] = field(default_factory=list)
    multi: list[str] = field(default_factory=list)
    photos: dict[str, Photo] = field(default_factory=dict)
    checkin: dict[str, Any] | None = None
    told_file_tip: bool = False
    step_shown_at: str = field(default_factory=now_iso)
    step_seconds: dict[str, float] = field(default_factory=dict)
    started_at: str = field(default_factory=now_iso)
    resume_state: str = STEP  # the state to return to from a pause or a cancel question
    joined: bool = False  # a teammate started the visit: leaving it must not cancel it for them

    def to_json(self) -> dict[str, Any]:
        """Plain JSON for the conversation table."""
        return asdict(self)

    @classmethod
    def of(cls, data: dict[str, Any]) -> VisitData:
        """From the conversation table's JSON."""
        raw = dict(data)
        raw["photos"] = {k: Photo(**v) for k, v in (raw.get("photos") or {}).items()}
        return cls(**raw)

    def checklist(self) -> Checklist:
        """The pinned checklist version of this visit."""
        return checklists.load_checklist(self.checklist_id, self.version)

    def state(self) -> State:
        """The engine's state."""
        return State.model_validate(
            {"checklist_id": self.checklist_id, "version": self.version, "answers": self.answers}
        )

    def set_state(self, state: State) -> None:
        """Stores the engine's state."""
        self.answers = [a.model_dump(mode="json") for a in state.answers]

    def current(self) -> Step | None:
        """The step to ask now (None when every step is answered)."""
        return checklists.next_step(self.checklist(), self.state())

    def household(self) -> tuple[float, float] | None:
        """The household's position on file."""
        return (self.lat, self.lon) if self.lat is not None and self.lon is not None else None

    def time_step(self, step_id: str) -> None:
        """Adds the time since the step was shown to its total, and restarts the clock."""
        try:
            shown = datetime.fromisoformat(self.step_shown_at)
            secs = max(0.0, (datetime.now(UTC) - shown).total_seconds())
        except ValueError:
            secs = 0.0
        self.step_seconds[step_id] = round(self.step_seconds.get(step_id, 0.0) + min(secs, 86_400.0), 1)
        self.step_shown_at = now_iso()


@dataclass(frozen=True)
class Prompt:
    """A message to show: text and rows of (label, callback value) buttons."""

    text: str
    buttons: list[list[tuple[str, str]]] = field(default_factory=list)


def yes_no_labels(lang: str) -> tuple[str, str]:
    """The yes and no button labels."""
    return vt(lang, "Yes"), vt(lang, "No")


def _rows(items: list[tuple[str, str]], per_row: int) -> list[list[tuple[str, str]]]:
    return [items[i : i + per_row] for i in range(0, len(items), per_row)]


LOCATION_HOWTO = (
    "Share a live location: tap 📎 (attach) → Location → “Share My Live Location” → 1 hour. "
    "Keep it on for the whole visit; it becomes the visit's track. "
    "A location picked on the map is accepted only as weak evidence, and a forwarded one not at all."
)


def step_prompt(data: VisitData, step: Step, lang: str) -> Prompt:
    """What to show for the engine's current step."""
    cl = data.checklist()
    n = len(data.answers) + 1
    section = next((s.title.get(lang) for s in cl.sections if s.id == step.section), None)
    head = f"{n}. " + (f"【{section}】" if section else "")
    lines = [head + step.label.get(lang)]
    if step.help:
        lines.append(step.help.get(lang))
    buttons: list[list[tuple[str, str]]] = []
    kind = step.kind
    if kind is StepKind.YES_NO:
        yes, no = yes_no_labels(lang)
        buttons = [[(yes, "a:yes"), (no, "a:no")]]
    elif kind is StepKind.CHOICE:
        buttons = _rows([(c.label.get(lang), f"a:{c.id}") for c in step.choices], 1)
    elif kind is StepKind.MULTI_CHOICE:
        chosen = set(data.multi)
        items = [(("☑ " if c.id in chosen else "☐ ") + c.label.get(lang), f"m:{c.id}") for c in step.choices]
        buttons = [*_rows(items, 1), [(vt(lang, "Done ✔"), "md")]]
        lines.append(vt(lang, "Tap to select, tap again to clear, then Done."))
    elif kind is StepKind.NUMBER:
        lines.append(vt(lang, "Type a number."))
    elif kind is StepKind.TEXT:
        lines.append(vt(lang, "Type your answer."))
    elif kind is StepKind.PHOTO:
        got = len(data.pending_photos)
        lines.append(vt(lang, "Send photos; tap Done when all are sent ({count} so far).", count=got))
        if got:
            buttons = [[(vt(lang, "Done ✔"), "pd")]]
    elif kind is StepKind.LOCATION:
        lines.append(vt(lang, LOCATION_HOWTO))
    elif kind is StepKind.NOTE:
        buttons = [[(vt(lang, "OK"), "ok")]]
    if not step.required and kind not in (StepKind.NOTE,):
        buttons.append([(vt(lang, "Skip"), "sk")])
    lines.append(vt(lang, "/back previous step · /pause · /cancel"))
    return Prompt("\n".join(lines), buttons)


def evidence_prompt(data: VisitData, step: Step, lang: str) -> Prompt:
    """After an answer that needs photos: what to photograph."""
    assert data.pending is not None
    need = int(data.pending["need"])
    try:
        checklists.answer(data.checklist(), data.state(), step.id, data.pending["value"], lang, evidence=[])
        what = ""
    except ChecklistError as err:
        what = err.message(lang)
    got = len(data.pending_photos)
    lines = [what or vt(lang, "Send a photo as evidence.")]
    lines.append(vt(lang, "Photos: {got} of {need}.", got=got, need=need))
    lines.append(vt(lang, "/back to change the answer"))
    return Prompt("\n".join(lines))


def answer_label(step: Step, value: Any, lang: str) -> str:
    """An answer as people read it."""
    return checklists.display_value(step, value, lang)


def checkin_verdict(
    data: VisitData,
    lat: float,
    lon: float,
    accuracy: float | None,
    live: bool,
    venue: bool,
    lang: str,
    radius_m: float = DEFAULT_RADIUS_M,
) -> tuple[dict[str, Any], str]:
    """The check-in: on site, off site with the distance, or weak (a static or map-picked location)."""
    judged = judge_site(Fix(lat, lon, datetime.now(UTC), accuracy), data.household(), data.datum, radius_m)
    dist = judged.distance_m
    record = {
        "site": judged.status.value,
        "distance_m": dist,
        "live": live,
        "venue": venue,
        "at": now_iso(),
    }
    if judged.status is SiteStatus.UNKNOWN and data.household() is None:
        text = vt(
            lang, "Location recorded. The household has no position on file, so on-site cannot be checked."
        )
    elif judged.status is SiteStatus.UNKNOWN:
        text = vt(lang, "Location recorded, but it is too imprecise to judge whether you are on site.")
    elif judged.status is SiteStatus.ON_SITE:
        text = vt(
            lang, "✅ On site ({distance} from the household's address).", distance=distance(lang, dist)
        )
    else:
        text = vt(
            lang,
            "⚠️ Off site: {distance} from the household's address. "
            "You may go on; the visit is flagged for review.",
            distance=distance(lang, dist),
        )
    if venue:
        record["weak"] = True
        text += "\n" + vt(lang, "A venue is not a position fix; it is recorded as weak evidence and flagged.")
    elif not live:
        record["weak"] = True
        text += "\n" + vt(
            lang,
            "This is a static location (it can be picked anywhere on the map), so it counts only as weak "
            "evidence. Share a live location to prove the check-in.",
        )
    return record, text


def distance(lang: str, meters: float | None) -> str:
    """A distance for people."""
    if meters is None:
        return "?"
    if meters < 1000:
        return vt(lang, "{m} m", m=round(meters))
    return vt(lang, "{km} km", km=f"{meters / 1000:.1f}")


def location_event(
    lat: float, lon: float, accuracy: float | None, live: bool, venue: bool, forwarded: bool
) -> dict[str, Any]:
    """A location event for `POST /visits/{id}/events`."""
    return {
        "kind": "location",
        "lat": lat,
        "lon": lon,
        "at": now_iso(),
        "accuracy_m": accuracy,
        "live": live,
        "venue": venue,
        "forwarded": forwarded,
    }


def usable_position(lat: float, lon: float) -> bool:
    """Not (0, 0), in range, finite."""
    return is_real_position(lat, lon)


def photo_verdict(photo: Photo, lang: str) -> str:
    """One line per photo: on site, fresh, reused (the store's verdict, or "waiting" while queued)."""
    if photo.status == "queued":
        return vt(lang, "📷 Photo saved; it will be checked when the server is reachable.")
    parts: list[str] = []
    if photo.site == "on_site":
        parts.append(vt(lang, "✅ on site ({distance})", distance=distance(lang, photo.distance_m)))
    elif photo.site == "off_site":
        parts.append(vt(lang, "⚠️ off site ({distance})", distance=distance(lang, photo.distance_m)))
    else:
        parts.append(vt(lang, "❔ position unknown"))
    if photo.fresh is True:
        parts.append(vt(lang, "✅ taken during the visit"))
    elif photo.fresh is False:
        parts.append(vt(lang, "⚠️ not taken during the visit"))
    else:
        parts.append(vt(lang, "❔ capture time unknown"))
    parts.append(vt(lang, "⚠️ used before") if photo.reused else vt(lang, "✅ not used before"))
    if photo.edited:
        parts.append(vt(lang, "⚠️ edited"))
    if photo.forwarded:
        parts.append(vt(lang, "⚠️ forwarded"))
    return vt(lang, "📷 Photo checked: {verdict}", verdict=" · ".join(parts))


def is_photo_document(mime: str | None, file_name: str | None) -> bool:
    """Whether a sent file claims to be an image the evidence pipeline accepts."""
    if mime and mime.lower() in IMAGE_MIMES:
        return True
    name = (file_name or "").lower()
    return mime in (None, "", "application/octet-stream") and name.endswith(
        (".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif")
    )


def core_lines(data: VisitData, cl: Checklist, lang: str) -> list[str]:
    """For each core step answered yes: proven by a photo of this visit, or unproven."""
    out: list[str] = []
    for a in data.answers:
        step = cl.step(a["step_id"])
        if step is None or step.core is None or a.get("value") != "yes":
            continue
        photos = [data.photos[r] for r in a.get("evidence") or [] if r in data.photos]
        label = step.label.get(lang)
        if any(p.proven for p in photos):
            out.append(vt(lang, "✅ proven: {step}", step=label))
        elif any(p.status == "queued" for p in photos):
            out.append(vt(lang, "⏳ photo waiting to sync: {step}", step=label))
        else:
            out.append(vt(lang, "⚠️ UNPROVEN (no fresh on-site photo): {step}", step=label))
    return out


def summary_texts(data: VisitData, lang: str) -> list[str]:
    """The summary: answers, photos with verdicts, core proof, findings and outcome (split to fit)."""
    cl = data.checklist()
    state = data.state()
    summ = checklists.summary(cl, state, lang)
    lines = [vt(lang, "Summary of the visit to {label}", label=data.label), ""]
    if data.checkin:
        site = data.checkin.get("site")
        dist = distance(lang, data.checkin.get("distance_m"))
        kind = vt(lang, "live") if data.checkin.get("live") else vt(lang, "static (weak)")
        if site == "on_site":
            lines.append(vt(lang, "Check-in: on site, {distance} ({kind})", distance=dist, kind=kind))
        elif site == "off_site":
            lines.append(vt(lang, "Check-in: OFF SITE, {distance} ({kind})", distance=dist, kind=kind))
        else:
            lines.append(vt(lang, "Check-in: not judged ({kind})", kind=kind))
    for item in summ.items:
        lines.append(f"• {item.label}: {item.value}")
    if data.photos:
        lines.append("")
        lines.append(vt(lang, "Photos ({count}):", count=len(data.photos)))
        for n, p in enumerate(data.photos.values(), 1):
            lines.append(f"{n}. " + photo_verdict(p, lang))
    core = core_lines(data, cl, lang)
    if core:
        lines.append("")
        lines.append(vt(lang, "Core checks:"))
        lines += core
    lines.append("")
    lines.append(vt(lang, "Outcome: {outcome}", outcome=summ.outcome_label))
    found = checklists.findings(cl, state)
    if found:
        lines.append(vt(lang, "Findings ({count}):", count=len(found)))
        lines += [f"- [{f.category_label(lang)}] {f.message.get(lang)}" for f in found]
    else:
        lines.append(vt(lang, "No findings."))
    lines.append("")
    lines.append(vt(lang, "Submit this visit, or go back to change the last answer?"))
    return split_text("\n".join(lines))


def summary_buttons(lang: str) -> list[list[tuple[str, str]]]:
    """Submit or go back."""
    return [[(vt(lang, "✅ Submit"), "sub"), (vt(lang, "↩ Back"), "bk")]]


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Splits at line ends into messages Telegram accepts."""
    chunks: list[str] = []
    cur = ""
    for line in text.split("\n"):
        while len(line) > limit:
            chunks.append(line[:limit])
            line = line[limit:]
        if len(cur) + len(line) + 1 > limit:
            chunks.append(cur)
            cur = line
        else:
            cur = f"{cur}\n{line}" if cur else line
    if cur:
        chunks.append(cur)
    return chunks


def client_findings(data: VisitData) -> list[dict[str, Any]]:
    """The bot's findings, sent beside the answers (the store derives its own)."""
    cl = data.checklist()
    return [
        {"rule_id": f.rule_id, "category": f.category.value, "severity": f.severity.value}
        for f in checklists.findings(cl, data.state())
    ]


def finish_answers(
    answers: list[dict[str, Any]], refs: set[str], ids: dict[str, str]
) -> list[dict[str, Any]] | None:
    """The answers with photo refs replaced by the store's evidence ids (None while one is missing)."""
    out: list[dict[str, Any]] = []
    for a in answers:
        ev = []
        for ref in a.get("evidence") or []:
            if ref not in ids:
                return None
            ev.append(ids[ref])
        value = a.get("value")
        if isinstance(value, list) and value and all(isinstance(v, str) and v in refs for v in value):
            if any(v not in ids for v in value):
                return None
            value = [ids[v] for v in value]
        out.append({"step_id": a["step_id"], "value": value, "evidence": ev})
    return out


def known_ids(data: VisitData) -> dict[str, str]:
    """Photo ref → store evidence id, for photos already in the store."""
    return {ref: p.evidence_id for ref, p in data.photos.items() if p.evidence_id}
