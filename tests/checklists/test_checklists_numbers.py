"""Strict number input (issue 12, problem 5): one parser, used by the engine for every number step."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from checklists import ChecklistError, Step, answer, load_checklist, parse_value, replay, start
from checklists.numbers import MAX_DIGITS, AmbiguousNumber, canonical_number, parse_number

HOME = load_checklist("home_visit")
MONEY = HOME.step("total_credited")  # decimal, min 0, unit 元
PEOPLE = HOME.step("people_living")  # integer, min 0, unit 人
assert MONEY is not None and PEOPLE is not None

FULL = str.maketrans("0123456789.,-+ ", "０１２３４５６７８９．，－＋\u3000")


def _code(step: Step, raw: Any) -> str:
    with pytest.raises(ChecklistError) as info:
        parse_value(step, raw)
    return info.value.code


# ---- the engine: what a money step used to accept silently ----------------------------------


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("1e3", "number_exponent"),
        ("1E3", "number_exponent"),
        ("2.5e2", "number_exponent"),
        ("１ｅ３", "number_exponent"),
        ("1,000", "number_grouping"),
        ("1，000", "number_grouping"),
        ("1 000", "number_grouping"),
        ("1\u3000000", "number_grouping"),
        ("1_000", "number_grouping"),
        ("1,000.50", "number_grouping"),
        ("1.000,50", "number_grouping"),
        ("1.2.3", "not_a_number"),
        ("nan", "not_a_number"),
        ("inf", "not_a_number"),
        ("-inf", "not_a_number"),
        ("Infinity", "not_a_number"),
        ("0x10", "not_a_number"),
        ("٣٥", "not_a_number"),  # Arabic-Indic digits: float() reads them, a Chinese register does not
        ("5²", "not_a_number"),  # NFKC would read "52"
        ("1元5", "not_a_number"),  # the unit only after the number
        ("元", "not_a_number"),
        ("-5", "number_negative"),
        ("1234567890123456", "number_too_long"),
    ],
)
def test_money_step_refuses_what_float_would_read(raw: str, code: str) -> None:
    assert _code(MONEY, raw) == code


@pytest.mark.parametrize("raw", ["3,5", "3，5", "３，５", "3,50", " 3,5 元 "])
def test_a_decimal_comma_is_never_silently_accepted(raw: str) -> None:
    with pytest.raises(AmbiguousNumber) as info:
        parse_value(MONEY, raw)
    assert info.value.code == "number_decimal_comma"
    assert info.value.candidate == Decimal("3.5")
    assert "3.5" in info.value.message("zh-CN") and "3.5" in info.value.message("en")


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("560", 560.0),
        ("560.5", 560.5),
        ("  560.50 ", 560.5),
        ("560元", 560.0),
        ("560 元", 560.0),
        ("560 yuan", 560.0),
        ("560 Yuan", 560.0),
        ("５６０．５元", 560.5),
        ("\u3000５６０\u3000", 560.0),
        ("+12", 12.0),
        ("0.5", 0.5),
        (".5", 0.5),
        ("5.", 5.0),
        ("007", 7.0),
        (560, 560),
        (560.5, 560.5),
        (Decimal("3.5"), 3.5),
    ],
)
def test_money_step_accepts_plain_numbers(raw: Any, value: float) -> None:
    got = parse_value(MONEY, raw)
    assert got == value and type(got) is type(value)


def test_integer_step() -> None:
    assert parse_value(PEOPLE, "３人") == 3 and type(parse_value(PEOPLE, "3人")) is int
    assert parse_value(PEOPLE, "3.0") == 3 and parse_value(PEOPLE, 3.0) == 3
    assert _code(PEOPLE, "3.5") == "not_an_integer"
    assert _code(PEOPLE, "3元") == "not_a_number"  # not this step's unit
    assert _code(PEOPLE, "1e1") == "number_exponent"
    assert _code(PEOPLE, True) == "not_a_number"
    assert _code(PEOPLE, float("nan")) == "not_a_number"


def test_messages_are_localized() -> None:
    with pytest.raises(ChecklistError) as info:
        parse_value(MONEY, "1e3")
    assert "科学计数法" in info.value.message("zh-CN") and "Exponents" in info.value.message("en")
    with pytest.raises(ChecklistError) as info:
        parse_value(MONEY, "1,000")
    assert "千位分隔符" in info.value.message("zh-CN") and "separators" in info.value.message("en")


def test_the_store_replay_refuses_a_typed_decimal_comma() -> None:
    # A client that sends the raw text gets no "35 yuan" from the store either.
    state = start(HOME)
    with pytest.raises(AmbiguousNumber):
        parse_value(MONEY, "3,5", state.values())
    answers = [{"step_id": "arrival_location", "value": {"lat": 43.98, "lon": 119.38}}]
    answers.append({"step_id": "inspectors_count", "value": "1,000"})
    with pytest.raises(ChecklistError) as info:
        replay(HOME, answers)
    assert info.value.code == "number_grouping"
    state = answer(HOME, state, "arrival_location", {"lat": 43.98, "lon": 119.38})
    assert answer(HOME, state, "inspectors_count", "２").answers[-1].value == 2


# ---- the parser's properties ------------------------------------------------------------------

decimals = st.decimals(
    min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=4, allow_nan=False, allow_infinity=False
)


def _canonical_text(d: Decimal) -> str:
    return format(d, "f")


@given(decimals)
def test_every_canonical_decimal_string_round_trips(d: Decimal) -> None:
    text = _canonical_text(d)
    got = parse_number(text)
    assert got == d and str(got) == text
    assert parse_number(canonical_number(got)) == d


@given(st.integers(-(10**MAX_DIGITS) + 1, 10**MAX_DIGITS - 1))
def test_integers_round_trip(n: int) -> None:
    assert parse_number(str(n), integer=True) == n
    assert parse_number(n, integer=True) == n and canonical_number(n) == str(n)


@given(decimals)
def test_full_width_equals_ascii(d: Decimal) -> None:
    text = _canonical_text(d)
    assert parse_number(text.translate(FULL)) == parse_number(text)
    assert parse_number(f" {text.translate(FULL)}元 ", units=("元",)) == d


@given(decimals, st.sampled_from([",", "，", "_", " ", "\u3000", "'"]), st.integers(1, 9))
def test_nothing_with_a_digit_separator_is_accepted(d: Decimal, sep: str, at: int) -> None:
    text = _canonical_text(abs(d)) + "000"
    digits = text.split(".")[0]
    cut = min(at, len(digits) - 1) or 1
    grouped = text[:cut] + sep + text[cut:]
    with pytest.raises(ChecklistError):
        parse_number(grouped)


@given(st.text(alphabet="0123456789.,_-+eE xX元０１２．，ｅ\u3000", max_size=14))
def test_nothing_with_e_underscore_or_separator_is_accepted(text: str) -> None:
    try:
        got = parse_number(text, units=("元",))
    except ChecklistError:
        return
    folded = text.translate(str.maketrans("０１２．，ｅ\u3000", "012.,e "))
    inner = folded.strip().removesuffix("元").strip()
    assert not any(c in inner for c in "eE_xX, ")
    assert isinstance(got, Decimal) and got.is_finite()


@given(st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(["nan", "NaN", "inf", "-Infinity"]))
def test_no_nan_or_infinity(raw: Any) -> None:
    try:
        got = parse_number(raw)
    except ChecklistError:
        return
    assert isinstance(got, Decimal) and got.is_finite()


def test_decimal_comma_is_ambiguous_grouping_is_not() -> None:
    for typed, candidate in [("3,5", "3.5"), ("0,25", "0.25"), ("-3,5", "-3.5"), ("12，50", "12.5")]:
        with pytest.raises(AmbiguousNumber) as info:
            parse_number(typed)
        assert info.value.candidate == Decimal(candidate) and info.value.typed == typed
    for typed in ["3,500", "3,5,0", "3,", ",5", "3,500.5"]:
        with pytest.raises(ChecklistError) as err:
            parse_number(typed)
        assert not isinstance(err.value, AmbiguousNumber), typed


def test_sign_only_where_negatives_are_allowed() -> None:
    assert parse_number("-2.5") == Decimal("-2.5") and parse_number("－２") == -2
    with pytest.raises(ChecklistError) as info:
        parse_number("-2.5", negative=False)
    assert info.value.code == "number_negative"
    assert parse_number("+2", negative=False) == 2


def test_bounds_are_compared_as_written() -> None:
    # Decimal("0.1") is below the float 0.1; a bound of 0.1 must still take "0.1".
    step = Step.model_validate(
        {
            "id": "x",
            "kind": "number",
            "label": {"zh-CN": "x", "en": "x"},
            "validation": {"min": 0.1, "max": 0.3},
        }
    )
    assert parse_value(step, "0.1") == 0.1 and parse_value(step, "0.3") == 0.3
    assert _code(step, "0.09") == "too_small" and _code(step, "0.31") == "too_large"
    assert _code(step, "1元") == "not_a_number"  # no unit declared, none accepted


def test_only_number_steps_have_a_unit() -> None:
    with pytest.raises(ValueError, match="only number steps"):
        Step.model_validate(
            {"id": "x", "kind": "text", "label": {"zh-CN": "x", "en": "x"}, "unit": {"en": "yuan"}}
        )
