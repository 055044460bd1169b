"""Region code files as people have them: sniffing the shape, decoding, and normalising codes.

Shapes are recognised from the content, never from the file name:

- ``tree``: nested JSON ``[{code, name, [level], [pcode], children: [...]}]`` with short official codes
  (``44``, ``4401``, ``440106``, ...) or 12-digit codes at every level (``440106000000``);
- ``list``: a flat JSON list of ``{code, name, [level], [pcode]}``;
- ``code_csv``: CSV with at least the columns ``code,name`` (official per-level tables, any extra columns);
- ``areacity_csv``: the flat CSV ``id,pid,deep,name,...,ext_id,ext_name`` (``deep`` 0-3, ``ext_name`` the
  official name, ``ext_id`` the 12-digit official code).

Every record is normalised to the official 2/4/6/9/12-digit scheme; what is not a region of the
mainland register (abroad, Hong Kong, Macao, Taiwan, pseudo-provinces) is marked for skipping.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from models.region import LENGTH_BY_LEVEL, RegionLevel
from services.errors import ValidationFailed

LEVELS: tuple[RegionLevel, ...] = (
    RegionLevel.province,
    RegionLevel.city,
    RegionLevel.county,
    RegionLevel.township,
    RegionLevel.village,
)
LENGTHS: tuple[int, ...] = tuple(LENGTH_BY_LEVEL[level] for level in LEVELS)
LEVEL_NAMES: dict[str, int] = {level.value: i for i, level in enumerate(LEVELS)} | {
    "street": 3,
    "town": 3,
    "area": 2,
    "district": 2,
}
# Hong Kong, Macao and Taiwan carry official-looking prefixes but are not in the mainland register.
HMT_PREFIXES = ("71", "81", "82")
HMT_NAMES = ("香港", "澳门", "台湾", "港澳台")
# The province-level codes of the mainland register (GB/T 2260); anything else in the first two digits
# is no region of it (a country root such as 86 or 100000 中国, a typo).
PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65".split()
)
MAX_FIELD = 10_000
MAX_NAME = 100
SHAPES_EXPECTED = (
    "JSON tree [{code, name, children}], JSON list [{code, name}], "
    "CSV code,name[,...], CSV id,pid,deep,name,...,ext_id,ext_name"
)


@dataclass
class Raw:
    """One record as the file gives it, before normalisation."""

    code: str
    name: str
    where: str
    level: int | None = None  # 0 province ... 4 village, when the file says so
    key: str = ""  # the file's own id of this record (for parent links)
    parent_key: str | None = None  # the file's own id of the parent, when it links one
    declared_parents: list[str] = field(default_factory=list)  # the parent's code as the file writes it
    alias: str = ""  # another code the file uses for this record (areacity `id`)
    label: str = ""  # another name the file gives (areacity's short `name`)
    written_level: str = ""  # the level as the file writes it (a number from 0 or 1, or a name)
    declared_ancestors: list[str] = field(default_factory=list)  # provinceCode, cityCode, ... columns


@dataclass
class Source:
    """What a file held: its shape, notes about reading it, and its raw records."""

    shape: str
    records: list[Raw]
    notes: list[str] = field(default_factory=list)


def decode(data: bytes) -> tuple[str, list[str]]:
    """Text of a file: UTF-8 with or without BOM, UTF-16 with BOM, else GB18030 (with a note)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), ["region_note_utf16"]
        except UnicodeDecodeError as exc:
            raise ValidationFailed("region_file_encoding") from exc
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), ["region_note_gb18030"]
    except UnicodeDecodeError as exc:
        raise ValidationFailed("region_file_encoding") from exc


def sniff(data: bytes) -> Source:
    """Reads a region file of any known shape, or refuses it saying what was expected."""
    text, notes = decode(data)
    body = text.strip()
    if not body:
        raise ValidationFailed("region_file_empty", expected=SHAPES_EXPECTED)
    if body[0] in "[{":
        source = _from_json(body)
    else:
        source = _from_csv(text)
    source.notes[:0] = notes
    return source


def _from_json(body: str) -> Source:
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise ValidationFailed("region_file_json", error=exc.msg, line=exc.lineno) from exc
    except (RecursionError, ValueError) as exc:  # nesting too deep, an integer too long to convert
        raise ValidationFailed("region_file_format", expected=SHAPES_EXPECTED) from exc
    nodes = data if isinstance(data, list) else [data]
    if not nodes or not all(_is_node(n) for n in nodes):
        raise ValidationFailed("region_file_format", expected=SHAPES_EXPECTED)
    if any(isinstance(n.get("children"), list) for n in nodes):
        return Source("tree", _settle_levels(list(_walk_tree(nodes))))
    return Source("list", _settle_levels([_json_record(n, f"#{i + 1}") for i, n in enumerate(nodes)]))


_CODE_KEYS = ("code", "value", "id", "adcode")
_NAME_KEYS = ("name", "label", "text")
_PARENT_KEYS = ("pcode", "parent_code", "parentCode", "pid", "parent")


def _is_node(node: Any) -> bool:
    return isinstance(node, dict) and _has(node, _CODE_KEYS) and _has(node, _NAME_KEYS)


def _has(node: dict[str, Any], keys: tuple[str, ...]) -> bool:
    return any(k in node for k in keys)


def _pick(node: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for k in keys:
        if k in node:
            return node[k]
    return None


def _text(value: Any) -> str:
    if value is None or isinstance(value, (dict, list, bool)):
        return ""
    return str(value).strip()


def _json_record(node: dict[str, Any], where: str) -> Raw:
    code = _text(_pick(node, _CODE_KEYS))
    parent = _text(_pick(node, _PARENT_KEYS))
    return Raw(
        code=code,
        name=_text(_pick(node, _NAME_KEYS)),
        where=where,
        written_level=_text(node.get("level")),
        key=code,
        parent_key=parent or None,
        declared_parents=[parent] if parent and parent.strip("0") else [],
    )


def _walk_tree(nodes: list[Any]) -> Iterator[Raw]:
    """Depth-first over a nested tree; a node's enclosing node is a declared parent too."""
    stack: list[tuple[Any, str | None, str, int]] = [
        (n, None, f"#{i + 1}", 0) for i, n in reversed(list(enumerate(nodes)))
    ]
    while stack:
        node, parent, where, depth = stack.pop()
        if not isinstance(node, dict) or depth > len(LEVELS):
            yield Raw(code="", name="", where=where)  # not a node, or deeper than villages under a root
            continue
        raw = _json_record(node, where)
        raw.parent_key = None  # a tree cannot loop
        if parent is not None and parent not in raw.declared_parents:
            raw.declared_parents.append(parent)
        yield raw
        kids = node.get("children") or []
        if isinstance(kids, list):
            stack.extend(
                (kid, raw.code, f"{where}.{j + 1}", depth + 1) for j, kid in reversed(list(enumerate(kids)))
            )


def _settle_levels(records: list[Raw]) -> list[Raw]:
    """Levels as the file writes them: names, or numbers from 0 or from 1 (told by comparing with codes)."""
    offsets = Counter(
        int(r.written_level) - found[1]
        for r in records
        if is_digits(r.written_level) and isinstance(found := normalise(r.code, None), tuple)
    )
    base = 0 if offsets[0] > offsets[1] else 1
    for r in records:
        text = r.written_level.lower()
        if text in LEVEL_NAMES:
            r.level = LEVEL_NAMES[text]
        elif is_digits(text) and 0 <= int(text) - base < len(LEVELS):
            r.level = int(text) - base
    return records


def _from_csv(text: str) -> Source:
    first = text.lstrip().split("\n", 1)[0]
    delimiter = max((",", "\t", ";"), key=first.count)
    csv.field_size_limit(MAX_FIELD)
    reader = csv.reader(io.StringIO(text.lstrip()), delimiter=delimiter)
    try:
        header = [h.strip().lower() for h in next(reader)]
        rows = list(_rows(reader))
    except csv.Error as exc:
        raise ValidationFailed("region_file_line", line=reader.line_num, error=str(exc)) from exc
    columns = set(header)
    if {"id", "pid", "deep", "ext_id", "ext_name"} <= columns:
        return Source("areacity_csv", _areacity(header, rows))
    if {"code", "name"} <= columns:
        return Source("code_csv", _settle_levels(_code_csv(header, rows)))
    raise ValidationFailed("region_file_format", expected=SHAPES_EXPECTED)


def _rows(reader: Any) -> Iterator[tuple[int, list[str]]]:
    for row in reader:
        if any(cell.strip() for cell in row):
            yield reader.line_num, row


def _cell(header: list[str], row: list[str], name: str) -> str:
    i = header.index(name)
    return row[i].strip() if i < len(row) else ""


_ANCESTOR_COLUMNS = ("provincecode", "citycode", "areacode", "streetcode")


def _code_csv(header: list[str], rows: list[tuple[int, list[str]]]) -> list[Raw]:
    """Official per-level tables: `code,name`, maybe `level`, a parent column, ancestor columns."""
    parent_col = next((c for c in ("pcode", "parent_code", "parentcode") if c in header), None)
    ancestor_cols = [c for c in _ANCESTOR_COLUMNS if c in header]
    out = []
    for line, row in rows:
        parent = _cell(header, row, parent_col) if parent_col else ""
        code = _cell(header, row, "code")
        ancestors = [a for a in (_cell(header, row, c) for c in ancestor_cols) if a.strip("0")]
        out.append(
            Raw(
                code=code,
                name=_cell(header, row, "name"),
                where=f"line {line}",
                written_level=_cell(header, row, "level") if "level" in header else "",
                declared_ancestors=ancestors,
                key=code,
                parent_key=parent or None,
                declared_parents=[parent] if parent.strip("0") else [],
            )
        )
    return out


def _areacity(header: list[str], rows: list[tuple[int, list[str]]]) -> list[Raw]:
    """The scraped flat list: the official code and name are ext_id and ext_name; pid links ids."""
    out = []
    for line, row in rows:
        deep = _cell(header, row, "deep")
        out.append(
            Raw(
                code=_cell(header, row, "ext_id"),
                name=_cell(header, row, "ext_name"),
                where=f"line {line}",
                level=int(deep) if is_digits(deep) and int(deep) < len(LEVELS) else None,
                key=_cell(header, row, "id"),
                parent_key=_cell(header, row, "pid") or None,
                alias=_cell(header, row, "id"),
                label=_cell(header, row, "name"),
            )
        )
    by_key = {r.key: r.code for r in out}
    for r in out:
        if r.parent_key and r.parent_key.strip("0"):
            r.declared_parents = [by_key.get(r.parent_key, r.parent_key)]
        else:
            r.parent_key = None
    return out


def is_digits(text: str) -> bool:
    """ASCII digits only (str.isdigit also takes ² and other digits int() refuses)."""
    return text.isascii() and text.isdigit()


def not_mainland(raw: Raw) -> str | None:
    """Why a record is not a region of the mainland register, or None when it may be one.

    Hong Kong 81, Macao 82 and Taiwan 71 by code; abroad (国外, 海外) and pseudo-provinces by code 0 or
    a leading 9, told apart from a pseudo 港澳台 entry by its name.
    """
    codes = [c for c in (raw.code, raw.alias) if is_digits(c)]
    if any(c.startswith(HMT_PREFIXES) for c in codes):
        return "region_skip_hmt"
    if any(c.startswith("9") or int(c) == 0 for c in codes):
        names = raw.name + raw.label
        return "region_skip_hmt" if any(w in names for w in HMT_NAMES) else "region_skip_abroad"
    return None


def normalise(code: str, level: int | None, any_province: bool = False) -> tuple[str, int] | str:
    """The official code and level index of a written code, or the reason it has none.

    Padded codes (``440106000000``, ``440100``) lose their trailing zero segments. A zero county
    segment above a township is kept: cities without counties (东莞 4419, 中山 4420) hold their
    townships under ``441900``. When the file gives the level, the code must fit it: no digits beyond
    it, and a zero segment at it only one level below the last non-zero one (that placeholder again).
    The first two digits must be a mainland province unless `any_province` (for telling a level only).
    """
    if not is_digits(code) or len(code) not in LENGTHS:
        return "region_skip_bad_code"
    padded = code.ljust(12, "0")
    segments = [int(padded[(LENGTHS[i - 1] if i else 0) : LENGTHS[i]]) for i in range(len(LENGTHS))]
    if padded[:2] not in PROVINCES and not (any_province and segments[0]):
        return "region_skip_bad_code"
    cut = max(i for i, seg in enumerate(segments) if seg)
    if any(segments[i] == 0 and i != 2 for i in range(cut)):
        return "region_skip_bad_code"  # a zero segment above a non-zero one: no such code
    if level is not None and level not in (cut, cut + 1):
        return "region_skip_level_mismatch"
    index = cut if level is None else level
    return padded[: LENGTHS[index]], index


def placeholder(code: str, index: int) -> tuple[str, int]:
    """The code one level down with a zero segment: the stand-in for a level a region does not have."""
    return code.ljust(LENGTHS[index + 1], "0"), index + 1
