"""The bot asks a repeat through the engine: "add a member?", each member's questions, the summary."""

from __future__ import annotations

import pytest

import checklists
from bot.flows import visit_data as vd
from bot.flows import visit_steps as vs
from bot.flows import visit_view as vv
from bot.flows.visit_data import VisitData
from tests.checklists.checklists_testkit import members_checklist


@pytest.fixture
def data(monkeypatch: pytest.MonkeyPatch) -> VisitData:
    cl = members_checklist()
    monkeypatch.setattr(checklists, "load_checklist", lambda cid, version=None: cl)
    return VisitData("a1", "v1", "王** · 村", cl.id, cl.version)


def _say(d: VisitData, raw: object, lang: str = "en") -> str:
    step = d.current()
    assert step is not None
    state, prompt, _shown = vs.answer_step(d, step, raw, lang)
    return prompt.text if state == vd.STEP else state


def test_members_are_asked_one_by_one_and_sent_with_their_number(data: VisitData) -> None:
    first = vv.step_prompt(data, data.current(), "zh-CN")  # type: ignore[arg-type]
    assert "家庭人数" in first.text
    text = _say(data, "2")
    assert "Add an entry to “household members”?" in text
    step = data.current()
    assert step is not None and [str(b[1]) for b in vv.step_prompt(data, step, "en").buttons[0]] == [
        "a:yes",
        "a:no",
    ]
    assert "household members 1: Name" in _say(data, "yes")
    _say(data, "甲")
    assert "Cared for?" in _say(data, "85")
    assert "(number 2)" in _say(data, "no")
    assert "household members 2: Name" in _say(data, "yes")
    _say(data, "乙")
    _say(data, "30")
    _say(data, "no")
    assert _say(data, None) == vd.SUMMARY
    back = VisitData.of(data.to_json())
    assert [a.get("item") for a in back.answers if a["step_id"] == "name"] == [1, 2]
    sent = vd.finish_answers(back.answers, set(), {})
    assert sent is not None and [a.get("item") for a in sent if a["step_id"] == "age"] == [1, 2]
    summary = "\n".join(vv.summary_texts(back, "en"))
    assert "household members 2: Name: 乙" in summary and "an elderly member has no care" in summary


def test_long_choice_ids_use_their_position_on_buttons() -> None:
    long_id = "Bayan Huxu Gacha Village Committee Group 3"
    cl = checklists.parse_checklist(
        {
            "id": "long_ids",
            "version": 1,
            "title": {"zh-CN": "长", "en": "Long"},
            "steps": [
                {
                    "id": "v",
                    "kind": "choice",
                    "label": {"zh-CN": "村", "en": "Village"},
                    "choices": [
                        {"id": "short", "label": {"zh-CN": "短", "en": "Short"}},
                        {"id": long_id, "label": {"zh-CN": "长", "en": "Long"}},
                    ],
                }
            ],
        }
    )
    step = cl.steps[0]
    args = [vv.choice_arg(step, i) for i in range(2)]
    assert args == ["short", "#1"]
    assert vv.choice_of(step, "#1") == long_id and vv.choice_of(step, "short") == "short"
    assert vv.choice_of(step, "#7") is None and vv.choice_of(step, "nope") is None
