"""The region tree: loading official code lists of any known shape (see region_sources) and querying it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from models.region import Region, RegionLevel, parent_of
from models.types import utcnow
from services import audit
from services.bulk import table_of, upsert
from services.context import Actor
from services.errors import NotFound, ValidationFailed
from services.region_sources import LEVELS, MAX_NAME, Raw, Source, normalise, not_mainland, placeholder, sniff

PACKAGED = Path(__file__).parent / "data" / "regions"
_LEVEL_FILES = ("provinces", "cities", "areas", "streets", "villages")


MAX_SKIP_DETAILS = 200
UNKNOWN_LEVEL = "unknown"


@dataclass
class Skip:
    """One record left out, where the file has it and why (a message code of the services catalog)."""

    level: str
    code: str
    name: str
    where: str
    reason: str
    params: dict[str, str] = field(default_factory=dict)


@dataclass
class LevelCounts:
    """What a load did at one level."""

    added: int = 0
    renamed: int = 0
    unchanged: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> count


@dataclass
class LoadReport:
    """What a load did: the shape it read, and per level what was added, renamed, unchanged, skipped."""

    shape: str = ""
    notes: list[str] = field(default_factory=list)
    levels: dict[str, LevelCounts] = field(default_factory=dict)
    skips: list[Skip] = field(default_factory=list)  # the first MAX_SKIP_DETAILS
    placeholders: list[str] = field(default_factory=list)

    def level(self, name: str) -> LevelCounts:
        return self.levels.setdefault(name, LevelCounts())

    def skip(self, level: str, raw: Raw, reason: str, **params: str) -> None:
        counts = self.level(level).skipped
        counts[reason] = counts.get(reason, 0) + 1
        if len(self.skips) < MAX_SKIP_DETAILS:
            code = raw.code if raw.code.strip("0") or not raw.alias else raw.alias
            self.skips.append(Skip(level, code, raw.name or raw.label, raw.where, reason, params))

    @property
    def added(self) -> int:
        return sum(c.added for c in self.levels.values())

    @property
    def renamed(self) -> int:
        return sum(c.renamed for c in self.levels.values())

    @property
    def unchanged(self) -> int:
        return sum(c.unchanged for c in self.levels.values())

    @property
    def skipped(self) -> int:
        return sum(sum(c.skipped.values()) for c in self.levels.values())

    @property
    def by_level(self) -> dict[str, int]:
        """Codes the file holds per level (added, renamed or unchanged)."""
        return {
            name: n
            for name in (lv.value for lv in LEVELS)
            if name in self.levels and (n := self._kept(self.levels[name]))
        }

    @property
    def total(self) -> int:
        return sum(self.by_level.values())

    @staticmethod
    def _kept(c: LevelCounts) -> int:
        return c.added + c.renamed + c.unchanged


@dataclass
class _Candidate:
    name: str
    level: int
    raw: Raw


def read_source(path: Path) -> Source:
    """Reads a region file of any known shape, or a directory of level CSVs, into raw records."""
    try:
        return _read_source(path)
    except OSError as exc:
        raise ValidationFailed(
            "region_file_unreadable", name=path.name, error=exc.strerror or str(exc)
        ) from exc


def _read_source(path: Path) -> Source:
    if path.is_dir():
        files = [c for stem in _LEVEL_FILES for c in sorted(path.glob(f"*{stem}.csv"))]
        if not files:
            raise ValidationFailed("region_folder_empty", folder=path.name)
        folder = Source("folder", [])
        for file in files:
            part = sniff(file.read_bytes())
            for raw in part.records:
                raw.where = f"{file.name} {raw.where}"
            folder.records.extend(part.records)
            folder.notes.extend(n for n in part.notes if n not in folder.notes)
        return folder
    if not path.is_file():
        raise NotFound(entity=str(path))
    return sniff(path.read_bytes())


def _level_name(raw: Raw) -> str:
    if raw.level is not None:
        return LEVELS[raw.level].value
    found = normalise(raw.code, None, any_province=True)
    return LEVELS[found[1]].value if isinstance(found, tuple) else UNKNOWN_LEVEL


def _cycles(records: list[Raw]) -> set[str]:
    """Keys of records whose parent links (the file's own ids) run in a circle; linear in the records."""
    parent = {r.key: r.parent_key for r in records if r.key and r.parent_key}
    looped: set[str] = set()
    done: set[str] = set()
    for start in parent:
        path: list[str] = []
        on_path: set[str] = set()
        node: str | None = start
        while node is not None and node in parent and node not in done and node not in on_path:
            path.append(node)
            on_path.add(node)
            node = parent[node]
        if node is not None and node in on_path:
            looped.update(path[path.index(node) :])
        done.update(path)
    return looped


def _parent_ok(code: str, declared: str) -> bool:
    """Whether a parent as the file writes it is the parent the code implies."""
    implied = parent_of(code)
    if implied is None:
        return True  # a province under a country root (86, 100000 中国): nothing to check
    found = normalise(declared, None)
    if not isinstance(found, tuple):
        return False
    # Cities without counties (东莞 4419, 中山 4420, ...): townships sit directly under the city.
    return found[0] == implied or (len(code) == 9 and implied.endswith("00") and found[0] == implied[:4])


def _ancestor_ok(code: str, declared: str) -> bool:
    """Whether a region the file names as an ancestor (provinceCode, cityCode, ...) is above the code."""
    found = normalise(declared, None)
    return isinstance(found, tuple) and len(found[0]) < len(code) and code.startswith(found[0])


def _bad_name(name: str) -> str | None:
    if not name:
        return "region_skip_no_name"
    if len(name) > MAX_NAME:
        return "region_skip_long_name"
    if any(ch < " " or ch == "\x7f" for ch in name):
        return "region_skip_bad_name"
    return None


def _candidates(source: Source, report: LoadReport) -> dict[str, _Candidate]:
    """The records that are regions of the mainland register with a sound code, name and parent."""
    looped = _cycles(source.records)
    out: dict[str, _Candidate] = {}
    for raw in source.records:
        level = _level_name(raw)
        reason = not_mainland(raw) or ("region_skip_cycle" if raw.key in looped else None)
        found = normalise(raw.code, raw.level)
        if reason or isinstance(found, str):
            report.skip(level, raw, reason or str(found))
            continue
        code, index = found
        if index < len(LEVELS) - 1 and any(normalise(p, None) == (code, index) for p in raw.declared_parents):
            code, index = placeholder(code, index)  # 东莞市 441900 under 东莞市 4419, as the file nests it
        level = LEVELS[index].value
        wrong_parent = any(not _parent_ok(code, p) for p in raw.declared_parents) or any(
            not _ancestor_ok(code, a) for a in raw.declared_ancestors
        )
        bad = _bad_name(raw.name) or ("region_skip_parent_mismatch" if wrong_parent else None)
        if bad:
            written = ", ".join(raw.declared_parents + raw.declared_ancestors)
            report.skip(level, raw, bad, parent=written, expected=parent_of(code) or "")
        elif code in out and out[code].name != raw.name:
            report.skip(level, raw, "region_skip_conflict", kept=out[code].name, at=out[code].raw.where)
        elif code in out:
            report.skip(level, raw, "region_skip_duplicate", at=out[code].raw.where)
        else:
            out[code] = _Candidate(raw.name, index, raw)
    return out


def _with_parents(
    found: dict[str, _Candidate], existing: dict[str, str], report: LoadReport
) -> dict[str, _Candidate]:
    """Keeps, level by level, the codes whose parent is in the file or already in the store."""
    kept: dict[str, _Candidate] = {}
    for code in sorted(found, key=lambda c: (len(c), c)):
        cand = found[code]
        parent = parent_of(code)
        if parent is None or parent in kept or parent in existing:
            kept[code] = cand
            continue
        city = parent[:4]
        if cand.level == 3 and parent.endswith("00") and (city in kept or city in existing):
            name = kept[city].name if city in kept else existing[city]
            kept[parent] = _Candidate(name, 2, Raw(parent, name, cand.raw.where))
            report.placeholders.append(parent)
            kept[code] = cand
            continue
        report.skip(LEVELS[cand.level].value, cand.raw, "region_skip_orphan", parent=parent)
    return kept


def load(
    session: Session,
    actor: Actor,
    path: Path,
    edition: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> LoadReport:
    """Upserts the codes of a file or folder; never deletes, so households keep their (possibly old) codes."""
    return load_source(session, actor, read_source(path), path.name, edition, progress)


def load_bytes(
    session: Session, actor: Actor, data: bytes, filename: str, edition: str | None = None
) -> LoadReport:
    """Loads an uploaded region file (any known shape, sniffed from the content)."""
    return load_source(session, actor, sniff(data), filename, edition)


def load_source(
    session: Session,
    actor: Actor,
    source: Source,
    name: str,
    edition: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> LoadReport:
    """Checks the records against the official scheme and the store, then adds and renames codes."""
    report = LoadReport(shape=source.shape, notes=list(source.notes))
    existing: dict[str, str] = {c: n for c, n in session.exec(select(Region.code, Region.name)).all()}
    kept = _with_parents(_candidates(source, report), existing, report)
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for code, cand in kept.items():
        counts = report.level(LEVELS[cand.level].value)
        if code not in existing:
            counts.added += 1
        elif existing[code] != cand.name:
            counts.renamed += 1
        else:
            counts.unchanged += 1
        rows.append(
            {
                "code": code,
                "name": cand.name,
                "level": LEVELS[cand.level].value,
                "parent_code": parent_of(code),
                "edition": edition,
                "retired": False,
                "updated_at": now,
            }
        )
    update = ["name", "level", "parent_code", "retired", "updated_at"] + (["edition"] if edition else [])
    step = 5000
    for start in range(0, len(rows), step):
        upsert(session, table_of(Region), rows[start : start + step], ["code"], update)
        if progress:
            progress(min(start + step, len(rows)), len(rows))
    audit.record(
        session,
        actor,
        "region.load",
        "region",
        None,
        source=name,
        shape=source.shape,
        edition=edition,
        total=report.total,
        added=report.added,
        renamed=report.renamed,
        skipped=report.skipped,
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
