"""Rows of an uploaded table (CSV or XLSX, sniffed as the household import does) by named columns."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime

from services.errors import ValidationFailed
from services.household_reader import read_table

_DAY_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d", "%Y年%m月%d日")


def norm(header: object) -> str:
    """A header as compared: no spaces, lower case, full-width brackets made plain."""
    return (
        "".join(str(header or "").replace("\ufeff", "").split()).lower().replace("（", "(").replace("）", ")")
    )


def header_map(
    header: Sequence[object], aliases: Mapping[str, Sequence[str]], required: Sequence[str]
) -> dict[str, int]:
    """Canonical field → column; raises naming the missing required columns (by their first spelling)."""
    found: dict[str, int] = {}
    spelled = [norm(h) for h in header]
    for key, names in aliases.items():
        wanted = {norm(n) for n in names}
        for i, h in enumerate(spelled):
            if h in wanted and key not in found:
                found[key] = i
    missing = [aliases[k][0] for k in required if k not in found]
    if missing:
        raise ValidationFailed("import_missing_columns", columns="、".join(missing))
    return found


def rows_of(
    data: bytes, filename: str, aliases: Mapping[str, Sequence[str]], required: Sequence[str]
) -> tuple[dict[str, int], Iterator[tuple[int, list[object]]]]:
    """The column map and the non-blank rows with their line numbers (the header is line 1)."""
    rows = read_table(data, filename)
    header = next(rows, None)
    if header is None:
        raise ValidationFailed("import_empty")
    cols = header_map(header, aliases, required)

    def body() -> Iterator[tuple[int, list[object]]]:
        for line, row in enumerate(rows, start=2):
            if any(str(c or "").strip() for c in row):
                yield line, row

    return cols, body()


def cell(row: Sequence[object], cols: Mapping[str, int], key: str) -> str:
    """A cell as text ('' when the column is absent or empty; a date as ISO)."""
    i = cols.get(key)
    if i is None or i >= len(row) or row[i] is None:
        return ""
    value = row[i]
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def parse_day(text: str) -> date:
    """A date as people write it (2026-03-01, 2026/3/1, 20260301, 2026年3月1日); ValueError otherwise."""
    for fmt in _DAY_FORMATS:
        try:
            return datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    raise ValueError(text)
