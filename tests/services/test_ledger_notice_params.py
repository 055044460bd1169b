"""What ledger notices carry for the bot: the household masked, the village by name, the measures."""

from __future__ import annotations

from sqlmodel import Session, select

from contracts.ledger import FixIn, ItemUpdateIn
from contracts.telegram import NoticeKind
from models.notice import Notice
from services import findings_review, ledger
from tests.factories import VILLAGE
from tests.ledger_helpers import cast, finding


def _params(session: Session, kind: NoticeKind) -> list[dict[str, object]]:
    rows = session.exec(select(Notice).where(Notice.kind == kind)).all()
    return [dict(n.params) for n in rows]


def test_new_item_and_submitted_fix_notices_carry_what_the_chat_shows(session: Session) -> None:
    c = cast(session, "LBN1")
    item = findings_review.confirm(session, c.sup, finding(session, c.sup, c.household).id)
    [new] = _params(session, NoticeKind.ledger_new_item)
    assert new["head_name"] == "张*" and "张三" not in str(new)
    assert new["village"] == f"区划{VILLAGE}" and new["measures"] == ""
    ledger.update_item(session, c.sup, item.id, ItemUpdateIn(measures="停发并清退"))
    ledger.submit_fix(session, c.officer, item.id, FixIn(note="已停发"))
    sent = _params(session, NoticeKind.ledger_fix_submitted)
    assert {p["note"] for p in sent} == {"已停发"}
    # the version lets a Verify pressed on an older notice be refused as "changed"
    assert {p["version"] for p in sent} == {item.version}
    assert {p["measures"] for p in sent} == {"停发并清退"}
