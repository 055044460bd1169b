"""Where a visit stands, as plain JSON in the `conversation` row, and what goes to the store.

Nothing here talks to Telegram or the store. The visit's state (`VisitData`) is written to the bot's
`conversation` table inside each handler's transaction, so a restart resumes at the same step with
every earlier answer.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import checklists
from checklists import Checklist, State, Step
from media.geo import is_real_position

FLOW = "v"
NAME = "visit"
MAX_PHOTO_BYTES = 20 * 1024 * 1024
IMAGE_MIMES = ("image/jpeg", "image/png", "image/webp", "image/heic", "image/heif")

# Conversation states
STEP = "step"  # answering the engine's current step
EVIDENCE = "evidence"  # answered; collecting the photo(s) that answer needs
SUMMARY = "summary"  # all answered; confirm or go back
CONFIRM_CANCEL = "confirm_cancel"
CONFIRM_NUMBER = "confirm_number"  # a typed number with a decimal comma: "did you mean 3.5?"
PAUSED = "paused"
HELPER = "helper"  # joined a teammate's visit: adds photos


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
    sha256: str | None = None  # of the bytes fetched from Telegram: a resent photo is the same photo
    unique_id: str | None = None  # Telegram's file_unique_id

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
    spare: list[str] = field(default_factory=list)  # refs of photos sent while no step took one
    multi: list[str] = field(default_factory=list)
    confirm: dict[str, Any] | None = None  # {"step_id", "typed", "value"} while a number awaits yes/no
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

    def known_photo(self, sha256: str | None = None, unique_id: str | None = None) -> Photo | None:
        """The visit's photo with these bytes or this Telegram file (a resend), if any."""
        for p in self.photos.values():
            if (sha256 and p.sha256 == sha256) or (unique_id and p.unique_id == unique_id):
                return p
        return None

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

    def time_step(self, step_id: str, at: str | None = None) -> None:
        """Adds the time from the step being shown to `at` (the answer's time; default now) to its
        total, and restarts the clock there."""
        at = at or now_iso()
        try:
            shown = datetime.fromisoformat(self.step_shown_at)
            secs = max(0.0, (datetime.fromisoformat(at) - shown).total_seconds())
        except (ValueError, TypeError):
            secs = 0.0
        self.step_seconds[step_id] = round(self.step_seconds.get(step_id, 0.0) + min(secs, 86_400.0), 1)
        self.step_shown_at = at


def location_event(
    lat: float,
    lon: float,
    accuracy: float | None,
    live: bool,
    venue: bool,
    forwarded: bool,
    at: str | None = None,
) -> dict[str, Any]:
    """A location event for `POST /visits/{id}/events`, at the time the fix was sent (default now)."""
    return {
        "kind": "location",
        "lat": lat,
        "lon": lon,
        "at": at or now_iso(),
        "accuracy_m": accuracy,
        "live": live,
        "venue": venue,
        "forwarded": forwarded,
    }


def usable_position(lat: float, lon: float) -> bool:
    """Not (0, 0), in range, finite."""
    return is_real_position(lat, lon)


def is_photo_document(mime: str | None, file_name: str | None) -> bool:
    """Whether a sent file claims to be an image the evidence pipeline accepts."""
    if mime and mime.lower() in IMAGE_MIMES:
        return True
    name = (file_name or "").lower()
    return mime in (None, "", "application/octet-stream") and name.endswith(
        (".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif")
    )


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
        entry = {"step_id": a["step_id"], "value": value, "evidence": ev}
        if a.get("item") is not None:
            entry["item"] = a["item"]  # which member of a repeat
        out.append(entry)
    return out


def known_ids(data: VisitData) -> dict[str, str]:
    """Photo ref → store evidence id, for photos already in the store."""
    return {ref: p.evidence_id for ref, p in data.photos.items() if p.evidence_id}


def without_refs(answers: list[dict[str, Any]], failed: set[str]) -> list[dict[str, Any]]:
    """The answers without photo refs the store refused."""
    if not failed:
        return answers
    out = []
    for a in answers:
        a = dict(a)
        a["evidence"] = [r for r in a.get("evidence") or [] if r not in failed]
        if isinstance(a.get("value"), list):
            a["value"] = [v for v in a["value"] if v not in failed]
        out.append(a)
    return out
