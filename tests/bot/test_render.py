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
