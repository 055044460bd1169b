"""The visit's texts and prompts: a step, the evidence it needs, verdicts, the summary.

Messenger-neutral: a step becomes a `Prompt` (text and rows of (label, Action) buttons) which the
Telegram edge renders; the checklist engine's messages come back in the inspector's language.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import checklists
from bot.flows.callbacks import Act, Action
from bot.flows.view import Buttons, Prompt, rows, split_text
from bot.flows.visit_data import Photo, VisitData
from bot.i18n import t
from checklists import Checklist, ChecklistError, Step, StepKind
from media.geo import DEFAULT_RADIUS_M, Fix, SiteStatus, judge_site


def yes_no_labels(lang: str) -> tuple[str, str]:
    """The yes and no button labels."""
    return t(lang, "Yes"), t(lang, "No")


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
    buttons: Buttons = []
    kind = step.kind
    if kind is StepKind.YES_NO:
        yes, no = yes_no_labels(lang)
        buttons = [[(yes, Action(Act.ANSWER, "yes")), (no, Action(Act.ANSWER, "no"))]]
    elif kind is StepKind.CHOICE:
        buttons = rows(
            [
                (c.label.get(lang), Action(Act.ANSWER, choice_arg(step, i)))
                for i, c in enumerate(step.choices)
            ],
            1,
        )
    elif kind is StepKind.MULTI_CHOICE:
        chosen = set(data.multi)
        items = [
            (("☑ " if c.id in chosen else "☐ ") + c.label.get(lang), Action(Act.TOGGLE, choice_arg(step, i)))
            for i, c in enumerate(step.choices)
        ]
        buttons = [*rows(items, 1), [(t(lang, "Done ✔"), Action(Act.MULTI_DONE))]]
        lines.append(t(lang, "Tap to select, tap again to clear, then Done."))
    elif kind is StepKind.NUMBER:
        lines.append(t(lang, "Type a number."))
    elif kind is StepKind.TEXT:
        lines.append(t(lang, "Type your answer."))
    elif kind is StepKind.PHOTO:
        got = len(data.pending_photos)
        lines.append(t(lang, "Send photos; tap Done when all are sent ({count} so far).", count=got))
        if got:
            buttons = [[(t(lang, "Done ✔"), Action(Act.PHOTOS_DONE))]]
        buttons += spare_buttons(data, lang)
    elif kind is StepKind.LOCATION:
        lines.append(t(lang, LOCATION_HOWTO))
    elif kind is StepKind.NOTE:
        buttons = [[(t(lang, "OK"), Action(Act.OK))]]
    if not step.required and kind not in (StepKind.NOTE,):
        buttons.append([(t(lang, "Skip"), Action(Act.SKIP))])
    lines.append(t(lang, "/back previous step · /pause · /cancel"))
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
    lines = [what or t(lang, "Send a photo as evidence.")]
    lines.append(t(lang, "Photos: {got} of {need}.", got=got, need=need))
    lines.append(t(lang, "/back to change the answer"))
    return Prompt("\n".join(lines), spare_buttons(data, lang))


def spare_buttons(data: VisitData, lang: str) -> Buttons:
    """The offer to use the photos sent while no step took one (none when there are none)."""
    if not data.spare:
        return []
    label = t(lang, "Use the {count} photo(s) sent earlier", count=len(data.spare))
    return [[(label, Action(Act.USE_SPARE))]]


def number_prompt(confirm: dict[str, Any], step: Step, lang: str) -> Prompt:
    """ "3,5 — did you mean 3.5 yuan?" with Yes and No."""
    value = str(confirm["value"])
    if step.unit is not None:
        value = f"{value} {step.unit.get(lang)}"
    yes, no = yes_no_labels(lang)
    return Prompt(
        t(lang, "{typed} — did you mean {value}?", typed=confirm["typed"], value=value),
        [[(yes, Action(Act.NUMBER_YES)), (no, Action(Act.NUMBER_NO))]],
    )


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
    at: datetime | None = None,
) -> tuple[dict[str, Any], str]:
    """The check-in (sent at `at`, default now): on site, off site with the distance, or weak (a
    static or map-picked location)."""
    at = at or datetime.now(UTC)
    judged = judge_site(Fix(lat, lon, at, accuracy), data.household(), data.datum, radius_m)
    dist = judged.distance_m
    record = {
        "site": judged.status.value,
        "distance_m": dist,
        "live": live,
        "venue": venue,
        "at": at.isoformat(),
    }
    if judged.status is SiteStatus.UNKNOWN and data.household() is None:
        text = t(
            lang, "Location recorded. The household has no position on file, so on-site cannot be checked."
        )
    elif judged.status is SiteStatus.UNKNOWN:
        text = t(lang, "Location recorded, but it is too imprecise to judge whether you are on site.")
    elif judged.status is SiteStatus.ON_SITE:
        text = t(lang, "✅ On site ({distance} from the household's address).", distance=distance(lang, dist))
    else:
        text = t(
            lang,
            "⚠️ Off site: {distance} from the household's address. "
            "You may go on; the visit is flagged for review.",
            distance=distance(lang, dist),
        )
    if venue:
        record["weak"] = True
        text += "\n" + t(lang, "A venue is not a position fix; it is recorded as weak evidence and flagged.")
    elif not live:
        record["weak"] = True
        text += "\n" + t(
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
        return t(lang, "{m} m", m=round(meters))
    return t(lang, "{km} km", km=f"{meters / 1000:.1f}")


def photo_verdict(photo: Photo, lang: str) -> str:
    """One line per photo: on site, fresh, reused (the store's verdict, or "waiting" while queued)."""
    if photo.status == "queued":
        return t(lang, "📷 Photo saved; it will be checked when the server is reachable.")
    parts: list[str] = []
    if photo.site == "on_site":
        parts.append(t(lang, "✅ on site ({distance})", distance=distance(lang, photo.distance_m)))
    elif photo.site == "off_site":
        parts.append(t(lang, "⚠️ off site ({distance})", distance=distance(lang, photo.distance_m)))
    else:
        parts.append(t(lang, "❔ position unknown"))
    if photo.fresh is True:
        parts.append(t(lang, "✅ taken during the visit"))
    elif photo.fresh is False:
        parts.append(t(lang, "⚠️ not taken during the visit"))
    else:
        parts.append(t(lang, "❔ capture time unknown"))
    parts.append(t(lang, "⚠️ used before") if photo.reused else t(lang, "✅ not used before"))
    if photo.edited:
        parts.append(t(lang, "⚠️ edited"))
    if photo.forwarded:
        parts.append(t(lang, "⚠️ forwarded"))
    return t(lang, "📷 Photo checked: {verdict}", verdict=" · ".join(parts))


def core_lines(data: VisitData, cl: Checklist, lang: str) -> list[str]:
    """For each core step answered yes: proven by a photo of this visit, or unproven."""
    out: list[str] = []
    for a in data.answers:
        step = cl.step(a["step_id"])
        if step is None or step.core is None or a.get("value") != "yes":
            continue
        photos = [data.photos[r] for r in a.get("evidence") or [] if r in data.photos]
        label = step.label.get(lang)
        if not step.evidence:  # proven by what was typed (the ID's last four), compared by the store
            out.append(t(lang, "☑️ recorded, the store compares it with the register: {step}", step=label))
        elif any(p.proven for p in photos):
            out.append(t(lang, "✅ proven: {step}", step=label))
        elif any(p.status == "queued" for p in photos):
            out.append(t(lang, "⏳ photo waiting to sync: {step}", step=label))
        else:
            out.append(t(lang, "⚠️ UNPROVEN (no fresh on-site photo): {step}", step=label))
    return out


def summary_texts(data: VisitData, lang: str) -> list[str]:
    """The summary: answers, photos with verdicts, core proof, findings and outcome (split to fit)."""
    cl = data.checklist()
    state = data.state()
    summ = checklists.summary(cl, state, lang)
    lines = [t(lang, "Summary of the visit to {label}", label=data.label), ""]
    if data.checkin:
        site = data.checkin.get("site")
        dist = distance(lang, data.checkin.get("distance_m"))
        kind = t(lang, "live") if data.checkin.get("live") else t(lang, "static (weak)")
        if site == "on_site":
            lines.append(t(lang, "Check-in: on site, {distance} ({kind})", distance=dist, kind=kind))
        elif site == "off_site":
            lines.append(t(lang, "Check-in: OFF SITE, {distance} ({kind})", distance=dist, kind=kind))
        else:
            lines.append(t(lang, "Check-in: not judged ({kind})", kind=kind))
    for item in summ.items:
        lines.append(f"• {item.label}: {item.value}")
    if data.photos:
        lines.append("")
        lines.append(t(lang, "Photos ({count}):", count=len(data.photos)))
        for n, p in enumerate(data.photos.values(), 1):
            lines.append(f"{n}. " + photo_verdict(p, lang))
    core = core_lines(data, cl, lang)
    if core:
        lines.append("")
        lines.append(t(lang, "Core checks:"))
        lines += core
    lines.append("")
    lines.append(t(lang, "Outcome: {outcome}", outcome=summ.outcome_label))
    lines += findings_lines(checklists.findings(cl, state), lang)
    if cl.context:
        lines.append(t(lang, "The store compares the answers with the register once the visit is sent."))
    lines.append("")
    lines.append(t(lang, "Submit this visit, or go back to change the last answer?"))
    return split_text("\n".join(lines))


def findings_lines(found: list[checklists.Finding], lang: str) -> list[str]:
    """Proven findings, leads to verify (疑点待核) and the visit's own flags, each under its heading."""
    kinds = checklists.RuleKind
    out: list[str] = []
    for kind in (kinds.FINDING, kinds.LEAD, kinds.FLAG):
        these = [f for f in found if f.kind is kind]
        if not these:
            continue
        if kind is kinds.FINDING:
            out.append(t(lang, "Findings ({count}):", count=len(these)))
        elif kind is kinds.LEAD:
            out.append(t(lang, "Leads to verify ({count}):", count=len(these)))
        else:
            out.append(t(lang, "About this visit ({count}):", count=len(these)))
        out += [f"- [{f.category_label(lang)}] {f.message.get(lang)}" for f in these]
    if not any(f.kind is not kinds.FLAG for f in found):
        out.append(t(lang, "No findings."))
    return out


def summary_buttons(lang: str) -> Buttons:
    """Submit or go back."""
    return [[(t(lang, "✅ Submit"), Action(Act.SUBMIT)), (t(lang, "↩ Back"), Action(Act.BACK))]]


MAX_CHOICE_ARG_BYTES = 32  # a button's data is at most 64 bytes with the flow and the nonce


def choice_arg(step: Step, i: int) -> str:
    """A choice's button argument: its id, or `#<position>` when the id is too long for a button."""
    cid = step.choices[i].id
    return cid if len(cid.encode()) <= MAX_CHOICE_ARG_BYTES and not cid.startswith("#") else f"#{i}"


def choice_of(step: Step, arg: str) -> str | None:
    """The choice id a button argument stands for (None if it names no choice of this step)."""
    if arg.startswith("#") and arg[1:].isdigit():
        i = int(arg[1:])
        return step.choices[i].id if i < len(step.choices) else None
    return arg if step.choice(arg) is not None else None
