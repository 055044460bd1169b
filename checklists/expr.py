"""A small, safe expression language for conditions, constraints and finding rules (an XPath subset).

It is the subset of XLSForm's XPath that checklists need, so imported `relevant` and `constraint`
cells keep their meaning: `${step}` references, `.` (the value being validated), string and number
literals, `= != < <= > >=`, `+ - * div mod`, `and`/`or`, and the functions `not()`, `selected()`,
`count-selected()`, `string-length()`, `regex()`, `answered()`, `true()`, `false()`, and over the
members of a repeat `count()`, `sum()`, `max()`, `min()`.

Outside a repeat, `${member_step}` is the NodeSet of its answers, one per member; as in XPath a
comparison with a NodeSet holds if it holds for any member (`${age} >= 60`: someone is 60 or over).

Expressions are parsed once and compiled to closures; nothing is ever passed to `eval`.
Missing answers (a step skipped or never asked) are `None`: every comparison with `None` is false
except `= ''` and `!= ''`-style emptiness tests, so a rule such as `${card_holder} != 'household'`
never fires for a step that was not asked.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

Value = Any
Env = Mapping[str, Value]
Fn = Callable[[Env, Value], Value]

NAME_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
_NUMBER_RE: Final = re.compile(r"\d+(?:\.\d*)?|\.\d+")
_TYPOGRAPHIC_QUOTES: Final = "‘’“”„‟‚‛′″「」『』"
_OPERATORS: Final = ("!=", "<=", ">=", "=", "<", ">", "+", "-", "*", "(", ")", ",")
_FUNCTIONS: Final = {
    "not": (1, 1),
    "selected": (2, 2),
    "count-selected": (1, 1),
    "string-length": (1, 1),
    "regex": (2, 2),
    "answered": (1, 1),
    "true": (0, 0),
    "false": (0, 0),
    "count": (1, 1),
    "sum": (1, 1),
    "max": (1, 1),
    "min": (1, 1),
}


class NodeSet(tuple[Any, ...]):
    """The answers of one step across the members of a repeat (None where a member has no answer)."""

    __slots__ = ()


class ExprError(ValueError):
    """An expression that cannot be parsed; the message names the problem and the position."""


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # "num", "str", "ref", "dot", "name", "op", "end"
    text: str
    pos: int


def _tokenize(src: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c.isspace():
            i += 1
            continue
        if c in _TYPOGRAPHIC_QUOTES:
            raise ExprError(f"typographic quote {c!r} at position {i}; use a plain ' or \"")
        if c in "'\"":
            end = src.find(c, i + 1)
            if end < 0:
                raise ExprError(f"unterminated string starting at position {i}")
            toks.append(_Tok("str", src[i + 1 : end], i))
            i = end + 1
            continue
        if src.startswith("${", i):
            end = src.find("}", i + 2)
            name = src[i + 2 : end].strip() if end >= 0 else ""
            if end < 0 or not NAME_RE.fullmatch(name):
                raise ExprError(f"malformed reference at position {i}")
            toks.append(_Tok("ref", name, i))
            i = end + 1
            continue
        m = _NUMBER_RE.match(src, i)
        if m and (c.isdigit() or (c == "." and m.end() > i + 1)):
            toks.append(_Tok("num", m.group(), i))
            i = m.end()
            continue
        if c == ".":
            toks.append(_Tok("dot", ".", i))
            i += 1
            continue
        m = NAME_RE.match(src, i)
        if m:
            toks.append(_Tok("name", m.group(), i))
            i = m.end()
            continue
        for op in _OPERATORS:
            if src.startswith(op, i):
                toks.append(_Tok("op", op, i))
                i += len(op)
                break
        else:
            raise ExprError(f"unexpected character {c!r} at position {i}")
    toks.append(_Tok("end", "", n))
    return toks


# ---- value semantics -------------------------------------------------------------------------


def truthy(v: Value) -> bool:
    """XPath-style boolean: None, '', [], 0, NaN and False are false."""
    if v is None:
        return False
    if isinstance(v, float) and math.isnan(v):
        return False
    return bool(v)


def _num(v: Value) -> float | None:
    if v is None or isinstance(v, list | dict):
        return None
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, int | float):
        return float(v)
    try:
        return float(str(v).strip())
    except ValueError:
        return None


def _as_str(v: Value) -> str:
    if v is None:
        return ""
    if isinstance(v, list):
        # XForms stores a multiple choice as space-separated values.
        return " ".join(str(x) for x in v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _is_empty(v: Value) -> bool:
    if isinstance(v, NodeSet):
        return all(_is_empty(x) for x in v)
    return v is None or v == "" or v == []


def _any_member(op: Callable[[Value, Value], bool]) -> Callable[[Value, Value], bool]:
    def cmp(a: Value, b: Value) -> bool:
        if isinstance(a, NodeSet):
            return any(cmp(x, b) for x in a)
        if isinstance(b, NodeSet):
            return any(cmp(a, y) for y in b)
        return op(a, b)

    return cmp


def _aggregate(name: str, v: Value) -> Value:
    members = list(v) if isinstance(v, NodeSet) else ([] if v is None else [v])
    if name == "count":
        return len(members)
    nums = [n for n in (_num(x) for x in members if not _is_empty(x)) if n is not None]
    if name == "sum":
        return sum(nums)
    if not nums:
        return None
    return max(nums) if name == "max" else min(nums)


def _eq(a: Value, b: Value) -> bool:
    if _is_empty(a) or _is_empty(b):
        return _is_empty(a) and _is_empty(b)
    if isinstance(a, int | float) or isinstance(b, int | float):
        na, nb = _num(a), _num(b)
        if na is not None and nb is not None:
            return na == nb
    return _as_str(a) == _as_str(b)


def _ne(a: Value, b: Value) -> bool:
    if _is_empty(a) or _is_empty(b):
        # A missing answer is different from nothing: `${x} != 'no'` must not fire for an unasked step,
        # but `${x} != ''` (the XLSForm idiom for "answered") must behave as expected.
        return not (_is_empty(a) and _is_empty(b)) and (a == "" or b == "")
    return not _eq(a, b)


def _order(op: str) -> Callable[[Value, Value], bool]:
    def cmp(a: Value, b: Value) -> bool:
        na, nb = _num(a), _num(b)
        if na is None or nb is None:
            return False
        if op == "<":
            return na < nb
        if op == "<=":
            return na <= nb
        if op == ">":
            return na > nb
        return na >= nb

    return cmp


def _arith(op: str) -> Callable[[Value, Value], Value]:
    def calc(a: Value, b: Value) -> Value:
        na, nb = _num(a), _num(b)
        if na is None or nb is None:
            return None
        if op == "+":
            return na + nb
        if op == "-":
            return na - nb
        if op == "*":
            return na * nb
        if nb == 0:
            return None
        if op == "div":
            return na / nb
        return math.fmod(na, nb)

    return calc


def _selected(v: Value, choice: Value) -> bool:
    if _is_empty(v):
        return False
    c = _as_str(choice)
    if isinstance(v, list):
        return c in v
    return c in _as_str(v).split()


def _count_selected(v: Value) -> int:
    if _is_empty(v):
        return 0
    if isinstance(v, list):
        return len(v)
    return len(_as_str(v).split())


# ---- parser / compiler --------------------------------------------------------------------------


@dataclass(slots=True)
class Expr:
    """A compiled expression: call it with the answers (and the current value for `.`)."""

    source: str
    fn: Fn
    refs: frozenset[str]
    uses_dot: bool
    literals: frozenset[Value] = field(default_factory=frozenset)

    def __call__(self, answers: Env, dot: Value = None) -> Value:
        """Evaluate against `answers`; `dot` is the value bound to `.`."""
        return self.fn(answers, dot)

    def test(self, answers: Env, dot: Value = None) -> bool:
        """Evaluate and convert to a boolean."""
        return truthy(self.fn(answers, dot))


class _Parser:
    def __init__(self, src: str) -> None:
        self.src = src
        self.toks = _tokenize(src)
        self.i = 0
        self.refs: set[str] = set()
        self.uses_dot = False
        self.literals: set[Value] = set()

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        t = self.toks[self.i]
        self.i += 1
        return t

    def expect_op(self, op: str) -> None:
        t = self.take()
        if t.kind != "op" or t.text != op:
            raise ExprError(f"expected {op!r} at position {t.pos}, found {t.text or 'end of expression'!r}")

    def parse(self) -> Fn:
        fn = self.or_()
        t = self.peek()
        if t.kind != "end":
            raise ExprError(f"unexpected {t.text!r} at position {t.pos}")
        return fn

    def _is_word(self, word: str) -> bool:
        t = self.peek()
        return t.kind == "name" and t.text == word

    def or_(self) -> Fn:
        left = self.and_()
        while self._is_word("or"):
            self.take()
            right = self.and_()
            left = (lambda a, b: lambda env, dot: truthy(a(env, dot)) or truthy(b(env, dot)))(left, right)
        return left

    def and_(self) -> Fn:
        left = self.cmp()
        while self._is_word("and"):
            self.take()
            right = self.cmp()
            left = (lambda a, b: lambda env, dot: truthy(a(env, dot)) and truthy(b(env, dot)))(left, right)
        return left

    def cmp(self) -> Fn:
        left = self.add()
        t = self.peek()
        if t.kind == "op" and t.text in ("=", "!=", "<", "<=", ">", ">="):
            self.take()
            right = self.add()
            op: Callable[[Value, Value], bool]
            if t.text == "=":
                op = _any_member(_eq)
            elif t.text == "!=":
                op = _any_member(_ne)
            else:
                op = _any_member(_order(t.text))
            nxt = self.peek()
            if nxt.kind == "op" and nxt.text in ("=", "!=", "<", "<=", ">", ">="):
                raise ExprError(f"chained comparison at position {nxt.pos}; use 'and'")
            return (lambda o, a, b: lambda env, dot: o(a(env, dot), b(env, dot)))(op, left, right)
        return left

    def add(self) -> Fn:
        left = self.mul()
        while True:
            t = self.peek()
            if t.kind == "op" and t.text in ("+", "-"):
                self.take()
                right = self.mul()
                left = (lambda o, a, b: lambda env, dot: o(a(env, dot), b(env, dot)))(
                    _arith(t.text), left, right
                )
            else:
                return left

    def mul(self) -> Fn:
        left = self.unary()
        while True:
            t = self.peek()
            if (t.kind == "op" and t.text == "*") or (t.kind == "name" and t.text in ("div", "mod")):
                self.take()
                right = self.unary()
                left = (lambda o, a, b: lambda env, dot: o(a(env, dot), b(env, dot)))(
                    _arith(t.text), left, right
                )
            else:
                return left

    def unary(self) -> Fn:
        t = self.peek()
        if t.kind == "op" and t.text == "-":
            self.take()
            inner = self.unary()
            neg = _arith("-")
            return lambda env, dot: neg(0, inner(env, dot))
        return self.primary()

    def primary(self) -> Fn:
        t = self.take()
        if t.kind == "num":
            num: float | int = float(t.text) if "." in t.text else int(t.text)
            self.literals.add(num)
            return lambda env, dot: num
        if t.kind == "str":
            s = t.text
            self.literals.add(s)
            return lambda env, dot: s
        if t.kind == "ref":
            name = t.text
            self.refs.add(name)
            return lambda env, dot: env.get(name)
        if t.kind == "dot":
            self.uses_dot = True
            return lambda env, dot: dot
        if t.kind == "op" and t.text == "(":
            inner = self.or_()
            self.expect_op(")")
            return inner
        if t.kind == "name":
            return self.call(t)
        raise ExprError(f"unexpected {t.text or 'end of expression'!r} at position {t.pos}")

    def call(self, t: _Tok) -> Fn:
        name = t.text
        if name not in _FUNCTIONS:
            nxt = self.peek()
            if nxt.kind == "op" and nxt.text == "(":
                raise ExprError(f"unsupported function {name}() at position {t.pos}")
            raise ExprError(f"unexpected name {name!r} at position {t.pos}; references are written ${{name}}")
        self.expect_op("(")
        args: list[Fn] = []
        arg_toks: list[_Tok] = []
        if not (self.peek().kind == "op" and self.peek().text == ")"):
            while True:
                arg_toks.append(self.peek())
                args.append(self.or_())
                if self.peek().kind == "op" and self.peek().text == ",":
                    self.take()
                    continue
                break
        self.expect_op(")")
        lo, hi = _FUNCTIONS[name]
        if not lo <= len(args) <= hi:
            raise ExprError(f"{name}() takes {lo} argument(s), got {len(args)} (position {t.pos})")
        if name == "true":
            return lambda env, dot: True
        if name == "false":
            return lambda env, dot: False
        a = args[0]
        if name == "not":
            return lambda env, dot: not truthy(a(env, dot))
        if name == "answered":
            return lambda env, dot: not _is_empty(a(env, dot))
        if name in ("count", "sum", "max", "min"):
            return lambda env, dot: _aggregate(name, a(env, dot))
        if name == "count-selected":
            return lambda env, dot: _count_selected(a(env, dot))
        if name == "string-length":
            return lambda env, dot: len(_as_str(a(env, dot)))
        b = args[1]
        if name == "selected":
            return lambda env, dot: _selected(a(env, dot), b(env, dot))
        # regex(): only a literal pattern, so it is compiled (and checked) once, here.
        pat_tok = arg_toks[1]
        if pat_tok.kind != "str":
            raise ExprError(f"regex() needs a literal pattern (position {pat_tok.pos})")
        try:
            pattern = re.compile(pat_tok.text)
        except re.error as err:
            raise ExprError(f"invalid regex pattern at position {pat_tok.pos}: {err}") from err
        return lambda env, dot: (
            False if _is_empty(v := a(env, dot)) else pattern.search(_as_str(v)) is not None
        )


_CACHE: dict[str, Expr] = {}


def compile_expr(source: str) -> Expr:
    """Parse and compile an expression (cached by source text); raises ExprError on a syntax error."""
    hit = _CACHE.get(source)
    if hit is not None:
        return hit
    if not source.strip():
        raise ExprError("empty expression")
    p = _Parser(source)
    fn = p.parse()
    expr = Expr(source, fn, frozenset(p.refs), p.uses_dot, frozenset(p.literals))
    _CACHE[source] = expr
    return expr


REF_IN_TEMPLATE: Final = re.compile(r"\$\{\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*\}")


def template_refs(template: str) -> set[str]:
    """Return the step ids referenced as `${id}` in a message template."""
    return set(REF_IN_TEMPLATE.findall(template))
