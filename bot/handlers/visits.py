"""The guided visit: pick an assignment, check in, the checklist step by step, photos, summary, submit.

Each handler reads where the visit stands (the `visit` conversation row), asks the checklist engine
what a reply means, writes the new state (and any outbox items) in the handler's own transaction
with the update id, and only then replies. Anything the visit cannot use (text where a button is
expected, a stale button, a sticker, a PDF, an oversized file, a forwarded location) gets a clear
message and changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import random
import weakref
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import select
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

import checklists
from bot import visit_flow as vf
from bot.conversation import Conversation, new_nonce, pack, unpack
from bot.db import BotDB
from bot.handlers.base import Context, handled, ids, language, once
from bot.handlers.start import NOT_LINKED, UNREACHABLE
from bot.i18n import t
from bot.runtime import Runtime, runtime_of
from bot.store_client import Assignment, StoreError, StoreUnavailable
from bot.visit_flow import vt
from bot.visit_sync import (
    VisitSync,
    ensure_table,
    evidence_path,
    pending_count,
    queue_finish,
    queue_photo,
    upload_form,
    visit_pending,
)
from checklists import ChecklistError, StepKind

log = logging.getLogger("feijian.bot.visits")
T = TypeVar("T")
AnyApp = Any
FLOW = vf.FLOW
NAME = vf.NAME
VISITABLE = ("released", "in_progress", "revisit")
PASS_THROUGH = r"^/(tasks|help|lang|start|visit)(@\w+)?(\s|$)"  # noqa: S105 (a regex)
_SYNCS: weakref.WeakKeyDictionary[Any, VisitSync] = weakref.WeakKeyDictionary()


# ---- small helpers ---------------------------------------------------------------------------


# At most this many of the visit handlers' store calls at once: fifty inspectors pressing at the
# same moment must not take all of the store's worker threads and connections (its audit chain
# serializes writers), so the rest wait here, in the bot, a few milliseconds each.
STORE_CONCURRENCY = 8
_SLOTS: weakref.WeakKeyDictionary[Any, asyncio.Semaphore] = weakref.WeakKeyDictionary()


async def _store(call: Callable[[], Awaitable[T]], rt: Runtime | None = None, tries: int = 4) -> T:
    """A direct store call, retried briefly when the store answered 5xx (a busy SQLite store);
    an unreachable store is reported at once so the handler can fall back to its queue."""
    slots = _SLOTS.setdefault(rt.store, asyncio.Semaphore(STORE_CONCURRENCY)) if rt is not None else None
    for n in range(tries):
        try:
            if slots is None:
                return await call()
            async with slots:
                return await call()
        except StoreUnavailable as exc:
            if n == tries - 1 or not str(exc).startswith("HTTP 5"):
                raise
            await asyncio.sleep(random.uniform(0.05, 0.15) * (n + 1))
    raise AssertionError("unreachable")


def _markup(buttons: list[list[tuple[str, str]]], nonce: str) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(label, callback_data=pack(FLOW, nonce, value)) for label, value in row]
            for row in buttons
        ]
    )


async def _send(msg: Message, prompt: vf.Prompt, nonce: str, prefix: str = "") -> None:
    text = f"{prefix}\n\n{prompt.text}" if prefix else prompt.text
    chunks = vf.split_text(text)
    for chunk in chunks[:-1]:
        await msg.reply_text(chunk)
    await msg.reply_text(chunks[-1], reply_markup=_markup(prompt.buttons, nonce))


def _load(rt: Runtime, uid: int) -> tuple[Conversation, vf.VisitData] | None:
    conv = Conversation.of(rt.db.conversation(uid, NAME))
    if conv is None:
        return None
    return conv, vf.VisitData.of(conv.data)


def _wake(rt: Runtime, app: Any) -> None:
    if rt.outbox is not None:
        rt.outbox.wake()
    sync = _SYNCS.get(app)
    jq = getattr(app, "job_queue", None)
    if sync is not None and jq is not None:
        jq.run_once(_sync_job, 0.05, name="visit_sync_now", job_kwargs={"max_instances": 3})


def _merge_synced(rt: Runtime, data: vf.VisitData) -> None:
    """Photos queued earlier and uploaded since: take the store's verdict from the sync queue."""
    queued = [ref for ref, p in data.photos.items() if p.status == "queued"]
    if not queued:
        return
    with rt.db.engine.connect() as conn:
        rows = conn.execute(
            select(visit_pending.c.ref, visit_pending.c.evidence).where(
                visit_pending.c.visit_id == data.visit_id,
                visit_pending.c.kind == "photo",
                visit_pending.c.status == "done",
            )
        ).all()
    for ref, ev in rows:
        if ref in data.photos and ev:
            data.photos[ref].apply_verdict(ev)


def _next(data: vf.VisitData, lang: str) -> tuple[str, vf.Prompt]:
    """The state and prompt after an answer: the engine's next step, or the summary."""
    data.multi = []
    data.pending = None
    data.pending_photos = []
    data.step_shown_at = vf.now_iso()
    step = data.current()
    if step is None:
        texts = vf.summary_texts(data, lang)
        return vf.SUMMARY, vf.Prompt("\n".join(texts), vf.summary_buttons(lang))
    return vf.STEP, vf.step_prompt(data, step, lang)


def _render(state: str, data: vf.VisitData, lang: str) -> vf.Prompt:
    """The prompt of a state as it stands (resume, re-ask)."""
    if state == vf.SUMMARY:
        return vf.Prompt("\n".join(vf.summary_texts(data, lang)), vf.summary_buttons(lang))
    if state == vf.HELPER:
        return _helper_prompt(data, lang)
    if state == vf.CONFIRM_CANCEL:
        return _cancel_prompt(lang)
    step = data.current()
    if step is None:
        return vf.Prompt("\n".join(vf.summary_texts(data, lang)), vf.summary_buttons(lang))
    if state == vf.EVIDENCE and data.pending is not None:
        return vf.evidence_prompt(data, step, lang)
    return vf.step_prompt(data, step, lang)


def _helper_prompt(data: vf.VisitData, lang: str) -> vf.Prompt:
    return vf.Prompt(
        vt(
            lang,
            "A teammate is running the visit to {label}; you have joined it. Send photos to add them "
            "to the visit. /cancel leaves the visit (your teammate carries on).",
            label=data.label,
        ),
        [[(vt(lang, "Run the checklist on this phone"), "run")]],
    )


def _cancel_prompt(lang: str) -> vf.Prompt:
    return vf.Prompt(
        vt(lang, "Cancel this visit? Its answers are discarded and the household goes back on your list."),
        [[(vt(lang, "Yes, cancel the visit"), "cy"), (vt(lang, "No, continue"), "cn")]],
    )


def _save(
    rt: Runtime,
    update: Update,
    state: str,
    data: vf.VisitData,
    nonce: str,
    outbox: tuple[tuple[str, str, str, Any, str], ...] = (),
    photo: tuple[str, str, dict[str, Any]] | None = None,
) -> None:
    """Writes the visit state, its outbox items and a queued photo, with the update id, in one transaction."""
    uid, _ = ids(update)
    with handled(rt, update) as conn:
        rt.db.save_conversation(conn, uid, NAME, state, data.to_json(), nonce)
        for key, method, path, body, label in outbox:
            rt.db.outbox_add(conn, key, uid, method, path, body, label=label)
        if photo is not None:
            key, ref, body = photo
            queue_photo(conn, key, uid, data.visit_id, ref, body)


def _nothing(rt: Runtime, update: Update) -> None:
    """Records the update (so a redelivery is ignored) and changes nothing else."""
    with handled(rt, update):
        pass


def _events(data: vf.VisitData, key: str, events: list[dict[str, Any]]) -> tuple[str, str, str, Any, str]:
    return (key, "POST", f"/visits/{data.visit_id}/events", {"events": events}, "visit_events")


def _add_events(
    rt: Runtime, conn: Any, uid: int, data: vf.VisitData, key: str, events: list[dict[str, Any]]
) -> None:
    """Queues an events batch for the store (location fixes, step timings)."""
    key, method, path, body, label = _events(data, key, events)
    rt.db.outbox_add(conn, key, uid, method, path, body, label=label)


async def _profile_role(rt: Runtime, uid: int) -> tuple[str | None, str | None]:
    """(role, store user id) of a bound user, from the bot's table or the store."""
    known = rt.db.user(uid) or {}
    if known.get("bound") and known.get("role"):
        return str(known["role"]), known.get("store_user_id")
    try:
        profile = await rt.store.profile(uid)
    except (StoreUnavailable, StoreError):
        return None, None
    if profile is None:
        return None, None
    return profile.role, profile.user_id


def _hint(state: str, data: vf.VisitData, lang: str) -> str:
    """What the visit expects now, for a reply it cannot use."""
    if state == vf.PAUSED:
        return vt(lang, "The visit to {label} is paused. Send /visit to resume it.", label=data.label)
    if state == vf.SUMMARY:
        return vt(lang, "Please use the buttons under the summary: Submit or Back.")
    if state == vf.CONFIRM_CANCEL:
        return vt(lang, "Please answer the question with the buttons: cancel the visit or continue.")
    if state == vf.HELPER:
        return vt(lang, "You are helping on this visit: send photos, or use the button to run the checklist.")
    if state == vf.EVIDENCE:
        return vt(
            lang, "This answer needs a photo: send a photo (or an image file), or /back to change the answer."
        )
    step = data.current()
    if step is None:
        return vt(lang, "Please use the buttons under the summary: Submit or Back.")
    if step.kind in (StepKind.YES_NO, StepKind.CHOICE, StepKind.MULTI_CHOICE, StepKind.NOTE):
        return vt(lang, "Please answer with the buttons under the question.")
    if step.kind is StepKind.LOCATION:
        return vt(lang, "Please share your location (📎 → Location); a typed position is not evidence.")
    if step.kind is StepKind.PHOTO:
        return vt(lang, "Please send a photo (or an image file) for this step.")
    return vt(lang, "Please type the answer to the question.")


# ---- /visit and picking an assignment ----------------------------------------------------------


@once
async def visit_cmd(update: Update, context: Context) -> None:
    """Resumes the visit in progress, or lists the assignments to start one from."""
    rt = runtime_of(context)
    uid, _ = ids(update)
    lang = language(rt, update)
    msg = update.effective_message
    assert msg is not None
    loaded = _load(rt, uid)
    if loaded is not None:
        conv, data = loaded
        _merge_synced(rt, data)
        state = data.resume_state if conv.state == vf.PAUSED else conv.state
        if state == vf.CONFIRM_CANCEL:
            state = data.resume_state
        nonce = new_nonce()
        _save(rt, update, state, data, nonce)
        prefix = vt(lang, "Resuming the visit to {label}.", label=data.label)
        await _send(msg, _render(state, data, lang), nonce, prefix)
        return
    role, _store_id = await _profile_role(rt, uid)
    if role is None:
        _nothing(rt, update)
        await msg.reply_text(t(lang, NOT_LINKED))
        return
    if role != "inspector":
        _nothing(rt, update)
        await msg.reply_text(
            vt(lang, "Visits are carried out by inspectors; this command is not available to your account.")
        )
        return
    text, buttons = await _assignment_buttons(rt, uid, lang)
    _nothing(rt, update)
    await msg.reply_text(text, reply_markup=_markup(buttons, "-"))


async def _assignment_buttons(rt: Runtime, uid: int, lang: str) -> tuple[str, list[list[tuple[str, str]]]]:
    try:
        items = await _store(lambda: rt.store.my_assignments(uid), rt)
    except StoreUnavailable:
        return t(lang, UNREACHABLE), []
    except StoreError as exc:
        return exc.detail, []
    open_ = sorted((a for a in items if a.status in VISITABLE), key=lambda a: (a.visit_date, a.route_order))
    if not open_:
        return vt(lang, "You have no assignment to visit."), []
    today = date.today()
    buttons = []
    for a in open_[:20]:
        when = vt(lang, "today") if a.visit_date == today else a.visit_date.isoformat()
        mark = "⏯" if a.status == "in_progress" else "↻" if a.status == "revisit" else "▶"
        label = f"{mark} {_label(a)} · {when}"
        buttons.append([(label[:60], f"go:{a.id}")])
    return vt(lang, "Choose the household to visit:"), buttons


def _label(a: Assignment) -> str:
    who = a.head_name or a.register_no
    where = a.village_name or a.village_code
    return f"{who} · {where}" + (f" · {a.address}" if a.address else "")


async def tasks_followup(update: Update, context: Context) -> None:
    """After /tasks (group 1): the visit in progress or paused, or buttons to start one."""
    rt = runtime_of(context)
    uid, _ = ids(update)
    lang = language(rt, update)
    msg = update.effective_message
    known = rt.db.user(uid) or {}
    if msg is None or not known.get("bound") or known.get("role") != "inspector":
        return
    loaded = _load(rt, uid)
    if loaded is not None:
        conv, data = loaded
        if conv.state == vf.PAUSED:
            text = vt(lang, "⏸ Paused: the visit to {label}. Send /visit to resume it.", label=data.label)
        elif conv.state == vf.HELPER:
            text = vt(lang, "👥 Helping on the visit to {label}. Send /visit to see it.", label=data.label)
        else:
            text = vt(lang, "▶ In progress: the visit to {label}. Send /visit to continue.", label=data.label)
        await msg.reply_text(text)
        return
    text, buttons = await _assignment_buttons(rt, uid, lang)
    if buttons:
        await msg.reply_text(text, reply_markup=_markup(buttons, "-"))


async def _pick(update: Update, context: Context, assignment_id: str) -> None:
    """Starts (or joins) the visit of the chosen assignment and asks for the check-in location."""
    rt = runtime_of(context)
    uid, _ = ids(update)
    lang = language(rt, update)
    query = update.callback_query
    assert query is not None and query.message is not None
    msg = query.message
    assert isinstance(msg, Message)
    loaded = _load(rt, uid)
    if loaded is not None:
        _nothing(rt, update)
        await query.answer()
        await msg.reply_text(
            vt(
                lang,
                "You already have a visit open ({label}). Send /visit to continue it, or /cancel it first.",
                label=loaded[1].label,
            )
        )
        return
    role, store_id = await _profile_role(rt, uid)
    if role != "inspector":
        _nothing(rt, update)
        await query.answer(
            vt(lang, "Visits are carried out by inspectors; this command is not available to your account."),
            show_alert=True,
        )
        return
    try:
        a = Assignment.of(
            await _store(
                lambda: rt.store.request("GET", f"/me/assignments/{assignment_id}", telegram_user_id=uid), rt
            )
        )
        visit = await _store(
            lambda: rt.store.request(
                "POST",
                "/visits",
                telegram_user_id=uid,
                json={"assignment_id": assignment_id},
                idempotency_key=f"vstart:{uid}:{update.update_id}",
            ),
            rt,
        )
    except StoreUnavailable:
        await query.answer()
        await msg.reply_text(t(lang, UNREACHABLE))
        return
    except StoreError as exc:
        _nothing(rt, update)
        await query.answer()
        if exc.code == "visit_already_done":
            await msg.reply_text(vt(lang, "This household's visit has already been submitted."))
        elif exc.status == 404:
            await msg.reply_text(vt(lang, "This assignment is not yours, or it is no longer open."))
        else:
            await msg.reply_text(exc.detail)
        return
    data = vf.VisitData(
        assignment_id=assignment_id,
        visit_id=str(visit["id"]),
        label=_label(a),
        checklist_id=str(visit["checklist_id"]),
        version=int(visit["checklist_version"]),
        lat=a.lat,
        lon=a.lon,
        datum=a.datum,
    )
    joined = store_id is not None and str(visit.get("inspector_id")) != str(store_id)
    data.joined = joined
    nonce = new_nonce()
    if joined:
        state, prompt = vf.HELPER, _helper_prompt(data, lang)
    else:
        state, prompt = _next(data, lang)
    _save(rt, update, state, data, nonce)
    await asyncio.gather(
        query.answer(),
        _ack(query, msg, vt(lang, "Visit opened: {label}", label=data.label)),
        _send(msg, prompt, nonce),
    )


# ---- buttons ---------------------------------------------------------------------------------


@once
async def pressed(update: Update, context: Context) -> None:
    """A visit button: answers the current step when it belongs to it, else explains and changes nothing."""
    rt = runtime_of(context)
    query = update.callback_query
    assert query is not None
    uid, _ = ids(update)
    lang = language(rt, update)
    parsed = unpack(query.data)
    if parsed is None:
        _nothing(rt, update)
        await query.answer(t(lang, "This button has expired."))
        return
    _flow, nonce, value = parsed
    if nonce == "-" and value.startswith("go:"):
        await _pick(update, context, value[3:])
        return
    loaded = _load(rt, uid)
    if loaded is None:
        _nothing(rt, update)
        await query.answer(t(lang, "This button has expired."))
        return
    conv, data = loaded
    if not conv.is_current(nonce):
        _nothing(rt, update)
        await query.answer(
            vt(lang, "This button belongs to an earlier question; it no longer answers anything."),
            show_alert=True,
        )
        return
    msg = query.message
    assert isinstance(msg, Message)
    _merge_synced(rt, data)
    state = conv.state
    if state == vf.PAUSED:
        _nothing(rt, update)
        await query.answer(_hint(state, data, lang), show_alert=True)
        return
    if state == vf.CONFIRM_CANCEL:
        await _cancel_answer(update, context.application, rt, data, value, lang, msg)
        return
    if state == vf.HELPER:
        if value != "run":
            _nothing(rt, update)
            await query.answer(_hint(state, data, lang))
            return
        data.answers = []
        new_state, prompt = _next(data, lang)
        new_nonce_ = new_nonce()
        _save(rt, update, new_state, data, new_nonce_)
        await query.answer()
        await _ack(query, msg, vt(lang, "You are running the checklist on this phone now."))
        await _send(msg, prompt, new_nonce_)
        return
    if state == vf.SUMMARY:
        if value == "sub":
            await _submit(update, context, rt, data, lang, msg)
            return
        if value == "bk":
            await _go_back(update, rt, data, state, lang, msg)
            return
    step = data.current()
    if state != vf.STEP or step is None:
        _nothing(rt, update)
        await query.answer(_hint(state, data, lang), show_alert=True)
        return
    if value.startswith("m:") and step.kind is StepKind.MULTI_CHOICE:
        choice = value[2:]
        if step.choice(choice) is None:
            _nothing(rt, update)
            await query.answer(t(lang, "This button has expired."))
            return
        data.multi = [c for c in data.multi if c != choice] if choice in data.multi else [*data.multi, choice]
        _save(rt, update, state, data, conv.nonce)
        prompt = vf.step_prompt(data, step, lang)
        await asyncio.gather(
            query.answer(),
            query.edit_message_reply_markup(reply_markup=_markup(prompt.buttons, conv.nonce)),
        )
        return
    raw: Any
    if value.startswith("a:") and step.kind in (StepKind.YES_NO, StepKind.CHOICE):
        raw = value[2:]
    elif value == "md" and step.kind is StepKind.MULTI_CHOICE:
        raw = list(data.multi)
    elif value == "pd" and step.kind is StepKind.PHOTO:
        raw = list(data.pending_photos)
    elif value == "sk" and not step.required:
        raw = None
    elif value == "ok" and step.kind is StepKind.NOTE:
        raw = None
    else:
        _nothing(rt, update)
        await query.answer(_hint(state, data, lang), show_alert=True)
        return
    try:
        new_state, prompt, shown = _answer(data, step, raw, lang)
    except ChecklistError as err:
        _nothing(rt, update)
        await query.answer(err.message(lang)[:190], show_alert=True)
        return
    new_nonce_ = new_nonce()
    _save(rt, update, new_state, data, new_nonce_)
    # The state is committed; the three calls are independent, so they go out together.
    await asyncio.gather(
        query.answer(),
        _ack(query, msg, f"{vf.step_prompt(data, step, lang).text.splitlines()[0]}\n→ {shown}"),
        _send(msg, prompt, new_nonce_),
    )


async def _ack(query: Any, msg: Message, text: str) -> None:
    """Replaces the pressed keyboard with the chosen answer, so the old buttons are gone."""
    try:
        await query.edit_message_text(text[:4000])
    except Exception:  # e.g. the message is too old to edit: the nonce still makes its buttons inert
        log.debug("could not edit message %s", msg.message_id, exc_info=True)


def _answer(data: vf.VisitData, step: checklists.Step, raw: Any, lang: str) -> tuple[str, vf.Prompt, str]:
    """Validates an answer; records it (or waits for its photos); returns (state, prompt, answer shown)."""
    cl = data.checklist()
    state = data.state()
    value = checklists.parse_value(step, raw, state.values(), lang)
    need = checklists.required_evidence(cl, state, step.id, value)
    shown = vf.answer_label(step, value, lang)
    if need > 0:
        data.pending = {"step_id": step.id, "value": value, "need": need}
        data.pending_photos = []
        return vf.EVIDENCE, vf.evidence_prompt(data, step, lang), shown
    new = checklists.answer(cl, state, step.id, value, lang)
    data.set_state(new)
    data.time_step(step.id)
    new_state, prompt = _next(data, lang)
    return new_state, prompt, shown


async def _cancel_answer(
    update: Update,
    app: Any,
    rt: Runtime,
    data: vf.VisitData,
    value: str,
    lang: str,
    msg: Message,
) -> None:
    """The answer to "cancel this visit?"."""
    query = update.callback_query
    assert query is not None
    uid, _ = ids(update)
    if value == "cy":
        leaving_helper = data.resume_state == vf.HELPER or data.joined
        with handled(rt, update) as conn:
            rt.db.end_conversation(conn, uid, NAME)
            if not leaving_helper:
                rt.db.outbox_add(
                    conn,
                    f"cancel:{data.visit_id}",
                    uid,
                    "POST",
                    f"/visits/{data.visit_id}/cancel",
                    None,
                    label="visit_cancel",
                )
        await query.answer()
        if leaving_helper:
            await _ack(query, msg, vt(lang, "You have left the visit; your teammate carries on."))
        else:
            await _ack(query, msg, vt(lang, "Visit cancelled. The household is back on your list (/tasks)."))
        _wake(rt, app)
        return
    if value == "cn":
        state = data.resume_state
        nonce = new_nonce()
        _save(rt, update, state, data, nonce)
        await query.answer()
        await _ack(query, msg, vt(lang, "The visit continues."))
        await _send(msg, _render(state, data, lang), nonce)
        return
    _nothing(rt, update)
    await query.answer(_hint(vf.CONFIRM_CANCEL, data, lang), show_alert=True)


async def _go_back(
    update: Update, rt: Runtime, data: vf.VisitData, state: str, lang: str, msg: Message
) -> None:
    """Undoes the last answer (or the answer waiting for photos) and asks that step again."""
    if state == vf.EVIDENCE:
        data.pending = None
        data.pending_photos = []
        new_state, prompt = vf.STEP, _render(vf.STEP, data, lang)
    else:
        try:
            data.set_state(checklists.back(data.checklist(), data.state()))
        except ChecklistError as err:
            _nothing(rt, update)
            await _reply(update, msg, err.message(lang))
            return
        new_state, prompt = _next(data, lang)
    nonce = new_nonce()
    _save(rt, update, new_state, data, nonce)
    if update.callback_query is not None:
        await update.callback_query.answer()
        await _ack(update.callback_query, msg, vt(lang, "Going back a step."))
    await _send(msg, prompt, nonce, vt(lang, "Back one step."))


async def _reply(update: Update, msg: Message, text: str) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer(text[:190], show_alert=True)
    else:
        await msg.reply_text(text)


async def _submit(
    update: Update, context: Context, rt: Runtime, data: vf.VisitData, lang: str, msg: Message
) -> None:
    """Writes the finish (with the step timings before it) to the outbox and closes the conversation."""
    uid, _ = ids(update)
    query = update.callback_query
    assert query is not None
    refs = set(data.photos)
    known = vf.known_ids(data)
    answers = vf.finish_answers(data.answers, refs, known)
    findings = vf.client_findings(data)
    finished_at = vf.now_iso()
    with handled(rt, update) as conn:
        if data.step_seconds:
            events = [
                {"kind": "step_time", "step_id": s, "seconds": secs} for s, secs in data.step_seconds.items()
            ]
            _add_events(rt, conn, uid, data, f"steps:{data.visit_id}", events)
        if answers is not None:
            rt.db.outbox_add(
                conn,
                f"finish:{data.visit_id}",
                uid,
                "POST",
                f"/visits/{data.visit_id}/finish",
                {"answers": answers, "client_findings": findings, "finished_at": finished_at},
                label="visit_finish",
            )
        else:
            queue_finish(
                conn,
                f"finish:{data.visit_id}",
                uid,
                data.visit_id,
                {
                    "answers": data.answers,
                    "refs": sorted(refs),
                    "known": known,
                    "client_findings": findings,
                    "finished_at": finished_at,
                },
            )
        rt.db.end_conversation(conn, uid, NAME)
    await query.answer()
    try:
        await query.edit_message_reply_markup(reply_markup=None)
    except Exception:
        log.debug("could not remove the summary keyboard", exc_info=True)
    text = vt(lang, "✅ Visit submitted. It is being sent to the server; /tasks shows your list.")
    waiting = rt.outbox.waiting_text(uid, lang) if rt.outbox is not None else None
    if answers is None:
        text += "\n" + vt(lang, "Some photos are still waiting to sync; the visit is sent right after them.")
    elif waiting:
        text += "\n" + waiting
    await msg.reply_text(text)
    _wake(rt, context.application)


# ---- messages during a visit -----------------------------------------------------------------


@once
async def on_message(update: Update, context: Context) -> None:
    """Anything the inspector sends while a visit is open: dispatched by what it is."""
    rt = runtime_of(context)
    uid, _ = ids(update)
    lang = language(rt, update)
    msg = update.effective_message
    if msg is None:
        return
    loaded = _load(rt, uid)
    if loaded is None:
        return
    conv, data = loaded
    if msg.location is not None:
        await _location(update, context, rt, conv, data, lang, msg)
        return
    if update.edited_message is not None:
        return  # an edited text or caption changes nothing already answered
    if msg.photo or msg.document is not None:
        await _photo(update, context, rt, conv, data, lang, msg)
        return
    text = msg.text or ""
    if text.startswith("/"):
        await _command(update, context, rt, conv, data, lang, msg, text)
        return
    if not text:
        _nothing(rt, update)
        what = vt(lang, "Stickers and other messages are not an answer.")
        await msg.reply_text(f"{what}\n{_hint(conv.state, data, lang)}")
        return
    await _typed(update, rt, conv, data, lang, msg, text)


async def _typed(
    update: Update, rt: Runtime, conv: Conversation, data: vf.VisitData, lang: str, msg: Message, text: str
) -> None:
    step = data.current()
    if conv.state != vf.STEP or step is None or step.kind not in (StepKind.NUMBER, StepKind.TEXT):
        _nothing(rt, update)
        prompt = _render(conv.state, data, lang) if conv.state != vf.PAUSED else vf.Prompt("")
        hint = _hint(conv.state, data, lang)
        if prompt.buttons:
            await _send(msg, prompt, conv.nonce, hint)
        else:
            await msg.reply_text(hint)
        return
    try:
        new_state, prompt, shown = _answer(data, step, text, lang)
    except ChecklistError as err:
        _nothing(rt, update)
        await msg.reply_text(f"⚠️ {err.message(lang)}\n{step.label.get(lang)}")
        return
    nonce = new_nonce()
    _save(rt, update, new_state, data, nonce)
    await _send(msg, prompt, nonce, f"✔ {shown}")


async def _command(
    update: Update,
    context: Context,
    rt: Runtime,
    conv: Conversation,
    data: vf.VisitData,
    lang: str,
    msg: Message,
    text: str,
) -> None:
    cmd = text.split()[0].split("@")[0].lower()
    state = conv.state
    if cmd == "/back":
        if state in (vf.STEP, vf.EVIDENCE, vf.SUMMARY):
            await _go_back(update, rt, data, state, lang, msg)
            return
    elif cmd == "/pause":
        if state in (vf.STEP, vf.EVIDENCE, vf.SUMMARY):
            data.resume_state = state
            _save(rt, update, vf.PAUSED, data, new_nonce())
            await msg.reply_text(
                vt(
                    lang,
                    "⏸ Visit paused; every answer so far is kept. "
                    "/tasks shows it as paused; /visit resumes it.",
                )
            )
            return
    elif cmd == "/cancel":
        if state != vf.CONFIRM_CANCEL:
            data.resume_state = vf.STEP if state == vf.PAUSED else state
            if state == vf.PAUSED:
                data.resume_state = data.resume_state if data.resume_state else vf.STEP
            nonce = new_nonce()
            if state == vf.HELPER:
                with handled(rt, update) as conn:
                    rt.db.end_conversation(conn, ids(update)[0], NAME)
                await msg.reply_text(vt(lang, "You have left the visit; your teammate carries on."))
                return
            _save(rt, update, vf.CONFIRM_CANCEL, data, nonce)
            await _send(msg, _cancel_prompt(lang), nonce)
            return
    _nothing(rt, update)
    if cmd in ("/back", "/pause", "/cancel"):
        await msg.reply_text(_hint(state, data, lang))
        return
    await msg.reply_text(
        vt(lang, "That command is not available during a visit. Use /back, /pause or /cancel.")
        + "\n"
        + _hint(state, data, lang)
    )


async def _location(
    update: Update,
    context: Context,
    rt: Runtime,
    conv: Conversation,
    data: vf.VisitData,
    lang: str,
    msg: Message,
) -> None:
    """Check-in at the location step; later positions (live updates) join the visit's track."""
    loc = msg.location
    assert loc is not None
    uid, chat = ids(update)
    lat, lon, acc = loc.latitude, loc.longitude, loc.horizontal_accuracy
    live = bool(loc.live_period) or update.edited_message is not None
    venue = msg.venue is not None
    forwarded = msg.forward_origin is not None
    event = vf.location_event(lat, lon, acc, live, venue, forwarded)
    key = f"loc:{data.visit_id}:{update.update_id}"
    if forwarded:
        # Recorded on the visit as a refused fix (the store flags it); the conversation is unchanged.
        with handled(rt, update) as conn:
            _add_events(rt, conn, uid, data, key, [event])
        await msg.reply_text(
            vt(
                lang,
                "A forwarded location is not evidence of where you are, so it was not accepted. "
                "Share your own live location (📎 → Location).",
            )
        )
        _wake(rt, context.application)
        return
    if update.edited_message is not None or conv.state in (vf.PAUSED, vf.HELPER, vf.CONFIRM_CANCEL):
        with handled(rt, update) as conn:
            _add_events(rt, conn, uid, data, key, [event])
            rt.db.save_user(conn, uid, chat, last_lat=lat, last_lon=lon)
        if update.edited_message is None:
            await msg.reply_text(vt(lang, "Location added to the visit's track."))
        _wake(rt, context.application)
        return
    step = data.current()
    if conv.state == vf.STEP and step is not None and step.kind is StepKind.LOCATION:
        if not vf.usable_position(lat, lon):
            _nothing(rt, update)
            await msg.reply_text(
                vt(lang, "This location has no usable position. Share your live location again.")
            )
            return
        try:
            new_state, prompt, _shown = _answer(data, step, {"lat": lat, "lon": lon}, lang)
        except ChecklistError as err:
            _nothing(rt, update)
            await msg.reply_text(err.message(lang))
            return
        record, verdict = vf.checkin_verdict(data, lat, lon, acc, live, venue, lang)
        if data.checkin is None or step.id == data.answers[0]["step_id"]:
            data.checkin = record
        nonce = new_nonce()
        with handled(rt, update) as conn:
            rt.db.save_conversation(conn, uid, NAME, new_state, data.to_json(), nonce)
            _add_events(rt, conn, uid, data, key, [event])
            rt.db.save_user(conn, uid, chat, last_lat=lat, last_lon=lon)
        await _send(msg, prompt, nonce, verdict)
        _wake(rt, context.application)
        return
    with handled(rt, update) as conn:
        _add_events(rt, conn, uid, data, key, [event])
        rt.db.save_user(conn, uid, chat, last_lat=lat, last_lon=lon)
    await msg.reply_text(
        vt(lang, "Location added to the visit's track.") + "\n" + _hint(conv.state, data, lang)
    )
    _wake(rt, context.application)


async def _photo(
    update: Update,
    context: Context,
    rt: Runtime,
    conv: Conversation,
    data: vf.VisitData,
    lang: str,
    msg: Message,
) -> None:
    """A photo or an image file: uploaded to the store (or queued), its verdict shown, the step moved on."""
    uid, _ = ids(update)
    state = conv.state
    step = data.current()
    takes_photo = state in (vf.EVIDENCE, vf.HELPER) or (
        state == vf.STEP and step is not None and step.kind is StepKind.PHOTO
    )
    doc = msg.document
    as_file = doc is not None
    if doc is not None:
        if not vf.is_photo_document(doc.mime_type, doc.file_name):
            _nothing(rt, update)
            await msg.reply_text(
                vt(
                    lang,
                    "This file is not a photo ({kind}). Send a photo, or an image file (JPEG, PNG, HEIC).",
                    kind=doc.mime_type or doc.file_name or "?",
                )
            )
            return
        if doc.file_size and doc.file_size > vf.MAX_PHOTO_BYTES:
            _nothing(rt, update)
            await msg.reply_text(
                vt(
                    lang,
                    "This file is too large ({size} MB); photos up to 20 MB are accepted.",
                    size=f"{doc.file_size / 1024 / 1024:.0f}",
                )
            )
            return
    if not takes_photo:
        _nothing(rt, update)
        await msg.reply_text(vt(lang, "This step does not take a photo.") + "\n" + _hint(state, data, lang))
        return
    if state == vf.STEP and step is not None and step.kind is StepKind.PHOTO:
        limit = step.validation.max_items
        if limit is not None and len(data.pending_photos) >= limit:
            _nothing(rt, update)
            await msg.reply_text(vt(lang, "This step takes at most {max} photos; tap Done.", max=limit))
            return
    if doc is not None:
        file_id, name, mime = doc.file_id, doc.file_name or "photo.jpg", doc.mime_type or "image/jpeg"
        source = "telegram_document"
    else:
        best = msg.photo[-1]
        file_id, name, mime, source = best.file_id, "photo.jpg", "image/jpeg", "telegram_photo"
    forwarded = msg.forward_origin is not None
    ref = f"p{update.update_id}"
    step_id = (
        data.pending["step_id"]
        if data.pending
        else (step.id if step is not None and state == vf.STEP else None)
    )
    body = {
        "file_id": file_id,
        "file_name": name,
        "mime": mime,
        "source": source,
        "step_id": step_id,
        "forwarded": forwarded,
    }
    key = f"ev:{data.visit_id}:{ref}"
    photo = vf.Photo(ref=ref, step_id=step_id, source=source, forwarded=forwarded)
    queued: tuple[str, str, dict[str, Any]] | None = None
    try:
        tg_file = await context.bot.get_file(file_id)
        blob = bytes(await tg_file.download_as_bytearray())
        ev = await _store(
            lambda: rt.store.upload(
                evidence_path(data.visit_id),
                files={"file": (name, blob, mime)},
                data=upload_form(body),
                telegram_user_id=uid,
                idempotency_key=key,
                timeout=min(rt.settings.store_timeout, 15.0),
            ),
            rt,
        )
        photo.apply_verdict(ev)
    except StoreUnavailable:
        photo.status = "queued"
        queued = (key, ref, body)
    except StoreError as exc:
        _nothing(rt, update)
        if exc.code == "visit_not_in_progress":
            with rt.db.tx() as conn:
                rt.db.end_conversation(conn, uid, NAME)
            await msg.reply_text(
                vt(lang, "This visit has been submitted or cancelled; nothing more can be added.")
            )
            return
        await msg.reply_text(vt(lang, "The photo was not accepted: {detail}", detail=exc.detail))
        return
    except Exception as exc:  # the file could not be fetched from Telegram
        _nothing(rt, update)
        log.warning("photo download failed: %s", exc)
        await msg.reply_text(vt(lang, "The photo could not be received; please send it again."))
        return
    data.photos[ref] = photo
    lines = [vf.photo_verdict(photo, lang)]
    lines += [f"  · {r}" for r in photo.reasons[:3] if photo.status == "stored" and not photo.proven]
    if not as_file and not data.told_file_tip:
        data.told_file_tip = True
        lines.append(
            vt(
                lang,
                "Tip: send photos as a file (📎 → File) to keep their time and location data; "
                "Telegram strips it from ordinary photos.",
            )
        )
    new_state, nonce, prompt = state, conv.nonce, None
    if state == vf.EVIDENCE and data.pending is not None and step is not None:
        data.pending_photos.append(ref)
        if len(data.pending_photos) >= int(data.pending["need"]):
            cl = data.checklist()
            try:
                new = checklists.answer(
                    cl, data.state(), step.id, data.pending["value"], lang, evidence=data.pending_photos
                )
            except ChecklistError as err:
                lines.append(err.message(lang))
            else:
                data.set_state(new)
                data.time_step(step.id)
                new_state, prompt = _next(data, lang)
                nonce = new_nonce()
        if prompt is None:
            prompt = vf.evidence_prompt(data, step, lang)
    elif state == vf.STEP and step is not None:
        data.pending_photos.append(ref)
        nonce = new_nonce()
        prompt = vf.step_prompt(data, step, lang)
    _save(rt, update, new_state, data, nonce, photo=queued)
    if prompt is not None:
        await _send(msg, prompt, nonce, "\n".join(lines))
    else:
        await msg.reply_text("\n".join(lines))
    if queued is not None:
        _wake(rt, context.application)


@once
async def no_visit(update: Update, context: Context) -> None:
    """/back or /pause with no visit open."""
    rt = runtime_of(context)
    _nothing(rt, update)
    if update.effective_message is not None:
        await update.effective_message.reply_text(
            vt(language(rt, update), "No visit is open. Send /visit to start one.")
        )


# ---- wiring ----------------------------------------------------------------------------------


class ActiveVisit(filters.UpdateFilter):
    """Updates from a user with a visit open (one indexed read of the bot's own table)."""

    def __init__(self, db: BotDB) -> None:
        super().__init__(name="ActiveVisit")
        self._db = db

    def filter(self, update: Update) -> bool:
        """True while the sender has a visit conversation."""
        user = update.effective_user
        return user is not None and self._db.conversation(user.id, NAME) is not None


async def _sync_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    sync = _SYNCS.get(context.application)
    if sync is not None:
        await sync.drain_once()


def register(app: AnyApp) -> None:
    """Adds the visit's handlers (before the foundation's catch-alls) and its sync job."""
    rt = runtime_of(app)
    ensure_table(rt.db)
    private = filters.ChatType.PRIVATE

    async def notify(uid: int, photo: dict[str, Any] | None, text: str) -> None:
        lang = (rt.db.user(uid) or {}).get("language")
        if photo is not None:
            p = vf.Photo(ref=photo["ref"], step_id=None, source="")
            p.apply_verdict(photo["evidence"])
            text = (
                vt(lang, "A photo saved earlier is now on the server.")
                + "\n"
                + vf.photo_verdict(p, lang or "zh-CN")
            )
        elif text:
            text = vt(lang, "A photo saved earlier was not accepted: {detail}", detail=text)
        if text:
            await app.bot.send_message(chat_id=uid, text=text)

    def wake_outbox() -> None:
        if rt.outbox is not None:
            rt.outbox.wake()

    _SYNCS[app] = VisitSync(rt.db, rt.store, app.bot, notify, wake_outbox)
    app.add_handler(CommandHandler("visit", visit_cmd, filters=private))
    app.add_handler(CallbackQueryHandler(pressed, pattern=rf"^{FLOW}\|"))
    app.add_handler(MessageHandler(private & ActiveVisit(rt.db) & ~filters.Regex(PASS_THROUGH), on_message))
    app.add_handler(CommandHandler(["back", "pause"], no_visit, filters=private))
    app.add_handler(CommandHandler("tasks", tasks_followup, filters=private), group=1)
    if app.job_queue is not None:
        # A pass can outlast the interval while the store is slow; the sync's own flag skips overlaps.
        app.job_queue.run_repeating(
            _sync_job, interval=2.0, first=1.0, name="visit_sync", job_kwargs={"max_instances": 3}
        )


def pending_for(rt: Runtime, uid: int) -> int:
    """Photos and submissions of the user still waiting in the visit queue."""
    return pending_count(rt.db, uid)
