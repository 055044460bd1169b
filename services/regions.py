"""The region tree: loading official code lists (CSV per level or nested JSON) and querying it."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from models.region import LEVEL_BY_LENGTH, Region, RegionLevel, parent_of
from models.types import utcnow
from services import audit
from services.bulk import table_of, upsert
from services.context import Actor
from services.errors import NotFound, ValidationFailed

PACKAGED = Path(__file__).parent / "data" / "regions"
_LEVEL_FILES = ("provinces", "cities", "areas", "streets", "villages")


@dataclass
class LoadReport:
    """What a load did: counts per level, new codes, renamed codes."""

    total: int = 0
    added: int = 0
    renamed: int = 0
    by_level: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


def _rows_from_csv(text: str) -> Iterator[tuple[str, str]]:
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or "code" not in reader.fieldnames or "name" not in reader.fieldnames:
        raise ValidationFailed(detail="region CSV needs the columns code,name")
    for row in reader:
        yield (row.get("code") or "").strip(), (row.get("name") or "").strip()


def _rows_from_tree(nodes: Iterable[Any]) -> Iterator[tuple[str, str]]:
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if not isinstance(node, dict):
            raise ValidationFailed(detail="region JSON must be a tree of {code, name, children}")
        yield str(node.get("code", "")).strip(), str(node.get("name", "")).strip()
        stack.extend(node.get("children") or [])


def read_source(path: Path) -> list[tuple[str, str]]:
    """Reads (code, name) pairs from a directory of level CSVs, one CSV, or a nested JSON tree."""
    if path.is_dir():
        rows: list[tuple[str, str]] = []
        found = False
        for stem in _LEVEL_FILES:
            for candidate in sorted(path.glob(f"*{stem}.csv")):
                found = True
                rows.extend(_rows_from_csv(candidate.read_text(encoding="utf-8-sig")))
        if not found:
            raise ValidationFailed(detail=f"no provinces/cities/areas/streets/villages CSV in {path.name}")
        return rows
    if not path.exists():
        raise NotFound(entity=str(path))
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationFailed(detail=f"invalid JSON: {exc.msg} (line {exc.lineno})") from exc
        return list(_rows_from_tree(data if isinstance(data, list) else [data]))
    return list(_rows_from_csv(text))


def load(
    session: Session,
    actor: Actor,
    path: Path,
    edition: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> LoadReport:
    """Upserts the codes of a source; never deletes, so households keep their (possibly old) codes."""
    pairs = read_source(path)
    report = LoadReport()
    existing = {r.code: r.name for r in session.exec(select(Region)).all()}
    now = utcnow()
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for code, name in pairs:
        level = LEVEL_BY_LENGTH.get(len(code))
        if not code.isdigit() or level is None or not name:
            report.skipped.append(code or "(empty)")
            continue
        if code in seen:
            continue
        seen.add(code)
        rows.append(
            {
                "code": code,
                "name": name[:100],
                "level": level.value,
                "parent_code": parent_of(code),
                "edition": edition,
                "retired": False,
                "updated_at": now,
            }
        )
        report.by_level[level.value] = report.by_level.get(level.value, 0) + 1
        if code not in existing:
            report.added += 1
        elif existing[code] != name:
            report.renamed += 1
    rows.sort(key=lambda r: len(r["code"]))
    step = 5000
    for start in range(0, len(rows), step):
        upsert(
            session,
            table_of(Region),
            rows[start : start + step],
            ["code"],
            ["name", "level", "parent_code", "edition", "retired", "updated_at"],
        )
        if progress:
            progress(min(start + step, len(rows)), len(rows))
    report.total = len(rows)
    audit.record(
        session,
        actor,
        "region.load",
        "region",
        None,
        source=path.name,
        edition=edition,
        total=report.total,
        added=report.added,
        renamed=report.renamed,
    )
    session.flush()
    return report


def load_packaged(session: Session, actor: Actor, name: str = "neimenggu_2018") -> LoadReport:
    """Loads a region list that ships with Feijian."""
    return load(session, actor, PACKAGED / name, edition=name.rsplit("_", 1)[-1])


def children(session: Session, parent: str | None, level: RegionLevel | None = None) -> list[Region]:
    """Direct children of a code (the provinces when parent is None)."""
    q = select(Region).order_by(col(Region.code))
    q = q.where(Region.parent_code == parent) if parent else q.where(col(Region.parent_code).is_(None))
    if level:
        q = q.where(Region.level == level)
    return list(session.exec(q).all())


def get(session: Session, code: str) -> Region:
    """One region by code."""
    region = session.get(Region, code)
    if region is None:
        raise NotFound("unknown_region", code=code)
    return region


def subtree(session: Session, code: str, level: RegionLevel | None = None) -> list[Region]:
    """Every region under (and including) a code, optionally of one level."""
    q = select(Region).where(col(Region.code).startswith(code)).order_by(col(Region.code))
    if level:
        q = q.where(Region.level == level)
    return list(session.exec(q).all())
