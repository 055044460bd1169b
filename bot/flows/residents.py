"""Residents in the bot: a stranger gets a resident's menu; `/status` by their own phone; `/mycases`.

`/status` asks for the phone number with Telegram's contact button and accepts it only when the
shared contact is the sender's own (`contact.user_id` equals the sender): anyone can share someone
else's contact card, which proves nothing. The store matches the number by its keyed hash and
answers with that resident's applications and the cases they sent, nothing else.
"""

from __future__ import annotations

from telegram import KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove

from bot.flows.callbacks import Act
from bot.flows.core import Flow, Kind, States, Turn
from bot.flows.view import split_text
from bot.i18n import t
from bot.store_client import StoreError, StoreUnavailable
from contracts.residents import CasePublic, ResidentOverview, StatusAnswer

MENU = (
    "Hello! Here you can:\n/status – where your dibao application stands\n"
    "/complain – make a complaint or report a problem\n/mycases – your complaints and their answers\n"
    "/lang – language\nStaff: send /start followed by your invite code."
)
ASK_CONTACT = (
    "To find your application, share your phone number with the button below. "
    "Only applications registered with this number are shown."
)
SHARE = "📱 Share my phone number"
NOT_OWN = "Please share your own phone number with the button below, not someone else's contact."
NO_APPLICATION = "No application is registered with this phone number. Call your township office to check."
UNREACHABLE = "The Feijian server cannot be reached right now. Please try again in a few minutes."
NO_CASES = "You have not sent any complaint yet. Send /complain to make one."
RATED = "Thank you. You rated case {number}: {score} / 5."
RATED_BEFORE = "This case has already been rated. Thank you."
RATE_FAILED = "This rating could not be recorded."


def menu(lang: str) -> str:
    """The resident's menu (also what a stranger sees instead of a dead end)."""
    return t(lang, MENU)


async def send(
    turn: Turn, text: str, markup: ReplyKeyboardMarkup | ReplyKeyboardRemove | None = None
) -> None:
    """Records the update, then sends the text (split to fit) with a reply keyboard or its removal."""
    turn.record()
    chunks = split_text(text)
    for chunk in chunks[:-1]:
        await turn.msg.reply_text(chunk)
    await turn.msg.reply_text(chunks[-1], reply_markup=markup)


def contact_keyboard(lang: str) -> ReplyKeyboardMarkup:
    """One big button that shares the sender's own number."""
    return ReplyKeyboardMarkup(
        [[KeyboardButton(t(lang, SHARE), request_contact=True)]], resize_keyboard=True, one_time_keyboard=True
    )


def render_application(lang: str, a: StatusAnswer) -> str:
    """One application: number, stage, dates reached, what comes next, whom to call."""
    lines = [
        t(lang, "Application {number} ({name})", number=a.number, name=a.applicant_name),
        t(lang, "Stage: {stage}", stage=a.stage_label),
    ]
    lines += [f"  · {d.stage.value} {d.on.isoformat()}" for d in a.dates if d.on is not None]
    if a.refusal_reason:
        lines.append(t(lang, "Reason: {reason}", reason=a.refusal_reason))
    lines.append(a.next_step)
    if a.contact_unit or a.contact_phone:
        lines.append(t(lang, "Call: {unit} {phone}", unit=a.contact_unit or "", phone=a.contact_phone or ""))
    return "\n".join(lines)


def render_case(lang: str, c: CasePublic) -> str:
    """One case: number, state, time limit, the answer when there is one."""
    lines = [
        t(lang, "Case {number}: {state}", number=c.number, state=c.state_label),
        t(lang, "Due by {day}", day=c.due_on.isoformat()),
    ]
    if c.answer:
        lines.append(t(lang, "Answer: {answer}", answer=c.answer))
    return "\n".join(lines)


def render_overview(lang: str, overview: ResidentOverview) -> str:
    """The resident's applications, then their cases."""
    parts = [render_application(lang, a) for a in overview.applications] or [t(lang, NO_APPLICATION)]
    parts += [render_case(lang, c) for c in overview.cases]
    return "\n\n".join(parts)


async def status(turn: Turn) -> None:
    """Asks for the sender's own phone number with the contact button."""
    turn.save("contact", {})
    await turn.msg.reply_text(t(turn.lang, ASK_CONTACT), reply_markup=contact_keyboard(turn.lang))


async def contact(turn: Turn) -> None:
    """Accepts only the sender's own contact; shows only the applications registered with it."""
    shared = turn.msg.contact
    if shared is None or shared.user_id != turn.uid:
        turn.record()
        await turn.msg.reply_text(t(turn.lang, NOT_OWN), reply_markup=contact_keyboard(turn.lang))
        return
    try:
        overview = await turn.rt.store.resident_lookup(turn.uid, shared.phone_number, turn.lang)
    except (StoreUnavailable, StoreError):
        await turn.msg.reply_text(t(turn.lang, UNREACHABLE), reply_markup=ReplyKeyboardRemove())
        return  # not recorded: a redelivery tries again
    turn.end()
    await send(turn, render_overview(turn.lang, overview), ReplyKeyboardRemove())


async def contact_hint(turn: Turn) -> None:
    """Anything but a contact while the number is expected: the button again."""
    turn.record()
    await turn.msg.reply_text(t(turn.lang, ASK_CONTACT), reply_markup=contact_keyboard(turn.lang))


async def my_cases(turn: Turn) -> None:
    """The cases this Telegram account sent, with their state and answer."""
    try:
        found = await turn.rt.store.resident_cases(turn.uid, turn.lang)
    except (StoreUnavailable, StoreError):
        await turn.reply(t(turn.lang, UNREACHABLE), record=False)
        return
    text = "\n\n".join(render_case(turn.lang, c) for c in found) or t(turn.lang, NO_CASES)
    await turn.reply(text)


async def rate(turn: Turn) -> None:
    """A rating pressed under the "case closed" notice: sent once; a second press is told so."""
    number, _, score = turn.callback.action.arg.rpartition(":") if turn.callback else ("", "", "")
    if not number or not score.isdigit():
        await turn.answer(t(turn.lang, RATE_FAILED))
        return
    try:
        await turn.rt.store.resident_rate(turn.uid, number, int(score), turn.lang)
    except StoreUnavailable:
        await turn.answer(t(turn.lang, UNREACHABLE), alert=True, record=False)
        return
    except StoreError as exc:
        await turn.answer(t(turn.lang, RATED_BEFORE if exc.status == 409 else RATE_FAILED), alert=True)
        return
    await turn.answer(record=True)
    await turn.ack(t(turn.lang, RATED, number=number, score=score))


STATES: States = {
    "contact": {Kind.CONTACT: contact, Kind.TEXT: contact_hint, Kind.PHOTO: contact_hint},
}
PASSES = frozenset({"start", "help", "cancel", "lang", "status", "complain", "mycases", "tasks", "visit"})
FLOW = Flow(
    name="resident",
    code="rs",
    states=STATES,
    commands={"status": status, "mycases": my_cases},
    buttons={Act.RATE: rate},
    passes=PASSES,
)
