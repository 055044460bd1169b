from __future__ import annotations

from bot.render import notice

PARAMS = {
    "register_no": "LB1",
    "village": "150422100200",
    "findings": [{"category": "funds_misuse", "zh": "干部持有银行卡", "en": "A cadre holds the bank card"}],
}


def test_serious_findings_alert_in_both_languages() -> None:
    zh = notice("zh-CN", "serious_findings", PARAMS)
    en = notice("en", "serious_findings", PARAMS)
    assert zh.startswith("走访户 LB1") and "干部持有银行卡" in zh
    assert en.startswith("Serious findings") and "A cadre holds the bank card" in en


def test_unknown_or_broken_notices_still_say_something() -> None:
    assert "serious_findings" in notice("en", "serious_findings", {"findings": None})
    assert "mystery" in notice("en", "mystery", {})


LEDGER = {
    "item_id": "7d0c5e4e-0000-4000-8000-000000000001",
    "number": 7,
    "version": 3,
    "register_no": "LB7",
    "head_name": "张*",
    "village": "林东镇",
    "category": "not_eligible",
    "deadline": "2026-12-18",
    "measures": "",
}


def test_ledger_notices_for_officers_name_the_household_and_what_to_do() -> None:
    new = notice("zh-CN", "ledger_new_item", LEDGER)
    assert "第7号" in new and "张*（LB7）· 林东镇" in new and "不符合条件" in new and "2026-12-18" in new
    assert "尚未填写" in new  # no measures yet
    assert "即将到期" in notice("zh-CN", "ledger_deadline_soon", LEDGER)
    assert "已逾期" in notice("zh-CN", "ledger_overdue", LEDGER)
    back = notice("en", "ledger_returned", {**LEDGER, "reason": "photo unclear"})
    assert back.startswith("Your fix for item No. 7") and "photo unclear" in back
    again = notice("zh-CN", "ledger_new_item", {**LEDGER, "reopened": True})
    assert again.startswith("第7号事项已重新打开")


def test_only_a_submitted_fix_notice_carries_verify_and_return() -> None:
    from bot.flows.callbacks import Act
    from bot.ledger_text import notice_buttons

    rows = notice_buttons("zh-CN", "ledger_fix_submitted", LEDGER)
    assert [(label, a.act, a.arg) for label, a in rows[0]] == [
        ("核验销号", Act.VERIFY, f"{LEDGER['item_id']}:3"),
        ("退回", Act.RETURN, f"{LEDGER['item_id']}:3"),
    ]
    assert notice_buttons("zh-CN", "ledger_new_item", LEDGER) == []
    text = notice("en", "ledger_fix_submitted", {**LEDGER, "note": "stopped payment"})
    assert "What was done: stopped payment" in text
