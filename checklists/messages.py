"""Localized texts, language handling and the engine's message catalog (zh-CN first, en second)."""

from __future__ import annotations

from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

Lang = Literal["zh-CN", "en"]
LANGS: Final[tuple[Lang, ...]] = ("zh-CN", "en")
DEFAULT_LANG: Final[Lang] = "zh-CN"


def normalize_lang(lang: str | None) -> Lang:
    """Map a loose language tag (zh, zh_CN, en-US, ...) to a supported one; zh-CN by default."""
    if lang and lang.strip().lower().startswith("en"):
        return "en"
    # Chinese is the working language of inspectors, so anything unknown falls back to it.
    return DEFAULT_LANG


class LocalizedText(BaseModel):
    """A text in zh-CN and en; an empty string means the translation is missing (lint reports it)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    zh_CN: str = Field(default="", alias="zh-CN")
    en: str = ""

    def get(self, lang: str | None = None) -> str:
        """Return the text in `lang`, falling back to the other language when one is missing."""
        if normalize_lang(lang) == "en":
            return self.en or self.zh_CN
        return self.zh_CN or self.en

    def missing(self) -> list[Lang]:
        """Return the languages whose text is empty."""
        out: list[Lang] = []
        if not self.zh_CN.strip():
            out.append("zh-CN")
        if not self.en.strip():
            out.append("en")
        return out

    def format(self, **params: object) -> LocalizedText:
        """Return a copy with `{name}` placeholders filled in both languages."""
        return LocalizedText(zh_CN=_safe_format(self.zh_CN, params), en=_safe_format(self.en, params))


def lt(zh: str, en: str) -> LocalizedText:
    """Build a LocalizedText from its zh-CN and en strings."""
    return LocalizedText(zh_CN=zh, en=en)


class _Defaulting(dict[str, Any]):
    """Leaves unknown placeholders visible instead of raising, so a bad template never crashes a visit."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _safe_format(template: str, params: dict[str, object]) -> str:
    try:
        return template.format_map(_Defaulting(params))
    except (ValueError, IndexError, AttributeError):
        return template


# Every message the engine itself produces. Checklist texts live in the YAML definitions.
CATALOG: Final[dict[str, LocalizedText]] = {
    "required": lt("此项必填，请回答。", "This step is required; please answer it."),
    "not_yes_no": lt("请回答“是”或“否”。", "Please answer yes or no."),
    "unknown_choice": lt(
        "“{value}”不是可选项。可选：{options}", "“{value}” is not an option. Options: {options}"
    ),
    "not_a_list": lt("请选择一个或多个选项。", "Please choose one or more options."),
    "exclusive_choice": lt(
        "“{choice}”不能与其他选项同时选择。", "“{choice}” cannot be combined with other options."
    ),
    "too_few_choices": lt("至少选择 {min} 项。", "Choose at least {min} options."),
    "too_many_choices": lt("最多选择 {max} 项。", "Choose at most {max} options."),
    "not_a_number": lt("请输入数字。", "Please enter a number."),
    "not_an_integer": lt("请输入整数。", "Please enter a whole number."),
    "too_small": lt("数值不能小于 {min}。", "The value must be at least {min}."),
    "too_large": lt("数值不能大于 {max}。", "The value must be at most {max}."),
    "not_text": lt("请输入文字。", "Please enter text."),
    "too_short": lt("至少输入 {min} 个字。", "Enter at least {min} characters."),
    "too_long": lt("最多输入 {max} 个字。", "Enter at most {max} characters."),
    "pattern_mismatch": lt("格式不正确。", "The format is not valid."),
    "constraint_failed": lt("答案不符合要求。", "The answer does not meet the requirement."),
    "not_photos": lt("请上传照片（证据编号列表）。", "Please send photos (a list of evidence ids)."),
    "too_few_photos": lt("至少需要 {min} 张照片。", "At least {min} photos are needed."),
    "too_many_photos": lt("最多 {max} 张照片。", "At most {max} photos."),
    "not_location": lt("请发送位置（纬度、经度）。", "Please send a location (latitude, longitude)."),
    "evidence_required": lt(
        "此答案需要至少 {min} 张照片作为证据。", "This answer needs at least {min} photos as evidence."
    ),
    "bad_evidence": lt("证据编号无效。", "The evidence ids are not valid."),
    "not_current_step": lt(
        "当前应回答“{expected}”，而不是“{step}”。", "The current step is “{expected}”, not “{step}”."
    ),
    "finished": lt("检查表已结束，不能再作答。", "The checklist is finished; no more answers are accepted."),
    "wrong_checklist": lt(
        "记录属于检查表 {state}，而不是 {checklist}。",
        "This record belongs to checklist {state}, not {checklist}.",
    ),
    "unknown_checklist": lt("未找到检查表 {id} {version}。", "Checklist {id} {version} was not found."),
    "bad_answer_record": lt("第 {index} 条答案记录格式错误。", "Answer record {index} is malformed."),
    "nothing_to_undo": lt(
        "已经是第一步，无法返回。", "This is the first step; there is nothing to go back to."
    ),
}

# Words used when rendering answers in a summary.
DISPLAY: Final[dict[str, LocalizedText]] = {
    "yes": lt("是", "Yes"),
    "no": lt("否", "No"),
    "skipped": lt("（未答）", "(skipped)"),
    "photos": lt("{count} 张照片", "{count} photo(s)"),
    "evidence": lt("附证据 {count} 张", "{count} evidence photo(s)"),
    "outcome": lt("结果", "Outcome"),
    "findings": lt("发现问题", "Findings"),
    "no_findings": lt("未发现问题", "No findings"),
    "in_progress": lt("进行中", "in progress"),
    "list_sep": lt("、", ", "),
}


def catalog_text(code: str, lang: str | None = None, **params: object) -> str:
    """Render a catalog message in `lang`; unknown codes render as the code itself."""
    text = CATALOG.get(code)
    if text is None:
        return code
    return text.format(**params).get(lang)


def display_text(code: str, lang: str | None = None, **params: object) -> str:
    """Render a summary display word in `lang`."""
    return DISPLAY[code].format(**params).get(lang)


class ChecklistError(Exception):
    """A user-facing error: an invalid answer, an out-of-order step, a wrong checklist."""

    def __init__(
        self,
        code: str,
        *,
        lang: str | None = None,
        text: LocalizedText | None = None,
        step_id: str | None = None,
        **params: object,
    ) -> None:
        self.code = code
        self.params = params
        self.step_id = step_id
        # A checklist-defined message (e.g. an XLSForm constraint_message) overrides the catalog.
        self.text = text if text is not None else CATALOG.get(code, lt(code, code)).format(**params)
        self.lang: Lang = normalize_lang(lang)
        super().__init__(self.message(self.lang))

    def message(self, lang: str | None = None) -> str:
        """Return the error message in `lang` (zh-CN by default)."""
        return self.text.get(lang if lang is not None else self.lang)
