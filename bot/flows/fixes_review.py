"""A supervisor's Verify / Return on a "fix submitted" notice.

Verify closes the item (对账销号) on the fix's evidence; the store refuses the submitter (four eyes), a
fix without evidence, and a press after the item moved on (the version in the button's data). Return
asks for the reason in the next message, then sends the fix back to the officer.
"""

from __future__ import annotations

from bot import store_ledger
from bot.flows.core import Turn
from bot.flows.fixes_common import REASON, refusal, split_arg
from bot.i18n import t
from bot.store_client import StoreError, StoreUnavailable

MAX_REASON = 2000


async def verify(turn: Turn) -> None:
    """Verify on the notice: the item closed, or the reason why not."""
    item_id, version = split_arg(turn.action.arg)
    store = turn.rt.store
    try:
        detail = await store_ledger.item(store, turn.uid, item_id)
        evidence = store_ledger.fix_evidence(detail)
        key = f"ledger-verify:{item_id}:{turn.update.update_id}"
        await store_ledger.verify(store, turn.uid, item_id, version, evidence, key)
    except (StoreError, StoreUnavailable) as exc:
        await turn.answer()
        await turn.reply(refusal(turn.lang, exc))
        return
    await turn.answer()
    done = t(turn.lang, "Verified: item No. {number} is closed.", number=detail.number)
    await turn.ack(f"{turn.msg.text or ''}\n\n{done}")


async def ask_reason(turn: Turn) -> None:
    """Return on the notice: asks for the reason (the next message)."""
    item_id, version = split_arg(turn.action.arg)
    await turn.answer(record=False)  # recorded with the conversation below
    turn.save(REASON, {"item_id": item_id, "version": version})
    await turn.reply(t(turn.lang, "Why is the fix returned? Send the reason in one message (or /cancel)."))


async def reason(turn: Turn) -> None:
    """The reason: the fix goes back to the officer."""
    assert turn.conv is not None
    text = turn.text.strip()
    if not text or len(text) > MAX_REASON:
        await turn.reply(t(turn.lang, "Please give the reason in 1 to {max} characters.", max=MAX_REASON))
        return
    data = turn.conv.data
    key = f"ledger-return:{data['item_id']}:{turn.update.update_id}"
    try:
        item = await store_ledger.return_fix(
            turn.rt.store, turn.uid, data["item_id"], data.get("version"), text, key
        )
    except StoreUnavailable as exc:
        await turn.reply(refusal(turn.lang, exc), record=False)  # the reason is asked for again
        return
    except StoreError as exc:
        turn.end()
        await turn.reply(refusal(turn.lang, exc))
        return
    turn.end()
    await turn.reply(
        t(turn.lang, "Returned: item No. {number} goes back to the officer.", number=item.number)
    )
