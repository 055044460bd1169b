"""Submitting a fix in conversation: what was done (text), its photos (bot/flows/fixes_photos.py), its
outcome (as the visit concluded, exited, tier/amount adjusted, money recovered, or none), a summary
to confirm, then the store's submit-fix transition.

The store decides: an illegal move or anything else it refuses comes back as a friendly reply.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from bot import store_ledger
from bot.flows import fixes_photos
from bot.flows.callbacks import Act, Action
from bot.flows.core import Turn
from bot.flows.fixes_common import AMOUNT, CONFIRM, NOTE, OUTCOME, PHOTOS, refusal
from bot.flows.gate import refuse
from bot.flows.view import Prompt
from bot.i18n import t
from bot.store_client import StoreError, StoreUnavailable

MAX_NOTE = 2000
PROPOSED = "proposed"  # the outcome the store pre-filled from the visit's conclusion
CHANGES: dict[str, str] = {
    "none": "no change to the register",
    "exit": "exit (清退)",
    "adjust": "tier or amount adjusted (调档)",
    "recover": "money to recover",
    "add_missed": "missed household added",
    "restore": "benefit restored, back pay (补发)",
}
OUTCOMES: dict[str, str] = {
    "none": "No change to the register",
    "exit": "Household exited (清退)",
    "adjust": "Monthly amount adjusted",
    "recover": "Money recovered",
}
ASK_AMOUNT = {
    "adjust": "Send the new monthly amount in yuan (e.g. 450 or 450.50).",
    "recover": "Send the amount recovered in yuan (e.g. 1200).",
}
HINTS = {
    NOTE: "Describe in one message what was done to fix the problem, or send /cancel.",
    PHOTOS: "Send photos of the fix, or tap Done (or send /done).",
    OUTCOME: "Choose the outcome with the buttons above, or send /cancel.",
    AMOUNT: "Send an amount in yuan, e.g. 450.50, or send /cancel.",
    CONFIRM: "Tap Submit or Cancel above.",
}


async def begin(turn: Turn) -> None:
    """The "Submit a fix" button of an item: asks what was done."""
    await turn.answer(record=False)  # the update is recorded with the conversation below
    try:
        item = await store_ledger.item(turn.rt.store, turn.uid, turn.action.arg)
    except (StoreError, StoreUnavailable) as exc:
        await turn.reply(refusal(turn.lang, exc))
        return
    data: dict[str, Any] = {"item_id": str(item.id), "number": item.number}
    if item.outcome and item.outcome.get("change", "none") != "none":
        data["proposed"] = item.outcome
    turn.save(NOTE, data)
    await turn.reply(
        t(turn.lang, "Item No. {number}: describe in one message the measures taken.", number=item.number)
    )


async def note(turn: Turn) -> None:
    """The measures taken; then the photos."""
    assert turn.conv is not None
    text = turn.text.strip()
    if not text or len(text) > MAX_NOTE:
        await turn.reply(t(turn.lang, "Please describe the measures in 1 to {max} characters.", max=MAX_NOTE))
        return
    await fixes_photos.ask(turn, {**turn.conv.data, "note": text})


async def photos_text(turn: Turn) -> None:
    """Text or a command at the photo step: "done" goes on to the outcome, anything else the hint."""
    if fixes_photos.is_done(turn):
        assert turn.conv is not None
        await ask_outcome(turn, dict(turn.conv.data))
        return
    await fixes_photos.hint(turn)


async def photos_done(turn: Turn) -> None:
    """The photo step's Done button."""
    assert turn.conv is not None
    if turn.action.act is not Act.PHOTOS_DONE:
        await refuse(turn)
        return
    await turn.answer(record=False)  # recorded with the next step
    await ask_outcome(turn, dict(turn.conv.data))


def proposed_text(lang: str, out: dict[str, Any]) -> str:
    """A pre-filled outcome in words: the change, months and amounts."""
    parts = [t(lang, CHANGES.get(str(out.get("change")), "no change to the register"))]
    if out.get("tier"):
        parts.append(str(out["tier"]))
    if out.get("months"):
        parts.append(t(lang, "{months} months", months=out["months"]))
    if out.get("amount_to_recover"):
        parts.append(t(lang, "{amount} yuan to recover", amount=out["amount_to_recover"]))
    if out.get("back_pay_amount"):
        parts.append(t(lang, "{amount} yuan to pay back", amount=out["back_pay_amount"]))
    return ", ".join(parts)


async def ask_outcome(turn: Turn, data: dict[str, Any]) -> None:
    """What the fix changes on the register; the visit's conclusion first when it proposed one."""
    rows = [[(t(turn.lang, label), Action(Act.ANSWER, key))] for key, label in OUTCOMES.items()]
    if data.get("proposed"):
        label = t(
            turn.lang, "As the visit concluded: {outcome}", outcome=proposed_text(turn.lang, data["proposed"])
        )
        rows.insert(0, [(label[:60], Action(Act.ANSWER, PROPOSED))])
    prompt = Prompt(t(turn.lang, "What does the fix change on the household register?"), rows)
    nonce = turn.save(OUTCOME, data)
    await turn.reply(prompt, nonce=nonce)


async def outcome(turn: Turn) -> None:
    """The outcome chosen; an amount asked for where it needs one."""
    assert turn.conv is not None
    choice = turn.action.arg
    known = choice in OUTCOMES or (choice == PROPOSED and turn.conv.data.get("proposed"))
    if turn.action.act is not Act.ANSWER or not known:
        await refuse(turn)
        return
    data = {**turn.conv.data, "outcome": choice}
    await turn.answer(record=False)  # recorded with the next step
    if choice in ASK_AMOUNT:
        turn.save(AMOUNT, data)
        await turn.reply(t(turn.lang, ASK_AMOUNT[choice]))
        return
    await _confirm(turn, data)


async def amount(turn: Turn) -> None:
    """An amount in yuan (at most 10 million, to the fen)."""
    assert turn.conv is not None
    raw = turn.text.strip().replace("，", ".").replace(",", ".").removesuffix("元")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        value = Decimal(-1)
    if not value.is_finite() or value < 0 or value > 10_000_000:
        await turn.reply(t(turn.lang, "That is not an amount in yuan. Send a number such as 450.50."))
        return
    await _confirm(turn, {**turn.conv.data, "amount": str(value.quantize(Decimal("0.01")))})


async def _confirm(turn: Turn, data: dict[str, Any]) -> None:
    lines = [
        t(turn.lang, "Submit this fix for item No. {number}?", number=data["number"]),
        t(turn.lang, "What was done: {note}", note=data["note"]),
        t(turn.lang, "Photos: {count}", count=len(data.get("photos", []))),
        t(turn.lang, "Outcome: {outcome}", outcome=_outcome_text(turn.lang, data)),
    ]
    if data.get("amount"):
        lines.append(t(turn.lang, "Amount: {amount} yuan", amount=data["amount"]))
    prompt = Prompt(
        "\n".join(lines),
        [[(t(turn.lang, "Submit"), Action(Act.SUBMIT)), (t(turn.lang, "Cancel"), Action(Act.BACK))]],
    )
    nonce = turn.save(CONFIRM, data)
    await turn.reply(prompt, nonce=nonce)


def _outcome_text(lang: str, data: dict[str, Any]) -> str:
    if data["outcome"] == PROPOSED:
        return t(lang, "As the visit concluded: {outcome}", outcome=proposed_text(lang, data["proposed"]))
    return t(lang, OUTCOMES[data["outcome"]])


def fix_body(data: dict[str, Any]) -> dict[str, Any]:
    """The store's FixIn of the conversation's answers (no outcome: the one pre-filled stays)."""
    photos = [p["id"] for p in data.get("photos", [])]
    if data["outcome"] == PROPOSED:
        return {"note": data["note"], "evidence_ids": photos}
    out: dict[str, Any] = {"change": data["outcome"]}
    if data["outcome"] == "adjust":
        out["monthly_amount"] = data["amount"]
    elif data["outcome"] == "recover":
        out["recovered"] = data["amount"]
    return {"note": data["note"], "outcome": out, "evidence_ids": photos}


async def confirm(turn: Turn) -> None:
    """Submit: the store's submit-fix transition; Cancel: nothing is sent."""
    assert turn.conv is not None
    data = turn.conv.data
    if turn.action.act is Act.BACK:
        turn.end()
        await turn.answer()
        await turn.ack(t(turn.lang, "Cancelled."))
        return
    if turn.action.act is not Act.SUBMIT:
        await refuse(turn)
        return
    key = f"ledger-fix:{data['item_id']}:{turn.conv.nonce}"
    try:
        await store_ledger.submit_fix(turn.rt.store, turn.uid, data["item_id"], fix_body(data), key)
    except StoreUnavailable as exc:
        await turn.answer(refusal(turn.lang, exc), alert=True)  # the Submit button stays: try again
        return
    except StoreError as exc:
        turn.end()
        await turn.answer()
        await turn.reply(refusal(turn.lang, exc))
        return
    turn.end()
    await turn.answer()
    await turn.ack(
        t(turn.lang, "Fix submitted for item No. {number}; the supervisors are asked to verify it.",
          number=data["number"])
    )  # fmt: skip
