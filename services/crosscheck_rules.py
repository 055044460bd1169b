"""Rule files for other departments' registers: which columns, which threshold, which finding.

A register (vehicles, real estate, business registration, public payroll, pensions, ...) is described
by one YAML file, so a county adds a source without code. The files shipped in
`services/data/crosschecks/` are read first; a county's own directory (setting
`crosscheck_rules_dir`, env FEIJIAN_CROSSCHECK_RULES_DIR) adds sources or replaces shipped ones of
the same name.

    source: vehicles                     # the name used in the API and the CLI
    label: {zh-CN: 车辆登记, en: vehicle registrations}
    columns:                             # canonical field -> header spellings
      name: [所有人, 姓名]
      id_number: [所有人身份证号, 身份证号]
      value: [车辆价值, 评估价值]        # optional: the number the rule compares
      date: [登记日期]                   # optional
    rule: {aggregate: sum, op: ">", threshold: 50000}   # aggregate per person: sum | max | count
    finding: {category: not_eligible, severity: medium, kind: lead}
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from contracts.crosschecks import DEATHS
from contracts.ledger import FindingKind
from contracts.vocab import FindingCategory, Severity
from services.config import get_settings
from services.errors import NotFound, ValidationFailed

PACKAGED = Path(__file__).parent / "data" / "crosschecks"
OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
}
AGGREGATES = ("sum", "max", "count")
FIELDS = ("name", "id_number", "value", "date")
REQUIRED_FIELDS = ("name", "id_number")


@dataclass(frozen=True)
class Rule:
    """One register's columns, the comparison per person, and the finding it makes."""

    source: str
    label_zh: str
    label_en: str
    columns: dict[str, tuple[str, ...]]
    aggregate: str
    op: str
    threshold: Decimal
    category: FindingCategory
    severity: Severity
    kind: FindingKind
    path: str

    def label(self, lang: str | None = None) -> str:
        """The register's name in the language (zh-CN unless English is asked for)."""
        return self.label_en if (lang or "").startswith("en") else self.label_zh

    def trips(self, total: Decimal) -> bool:
        """Whether a person's aggregated figure breaks the rule."""
        return OPS[self.op](total, self.threshold)

    def describe(self) -> str:
        """The rule in one line, e.g. `sum(value) > 50000`."""
        what = "rows" if self.aggregate == "count" else "value"
        return f"{self.aggregate}({what}) {self.op} {self.threshold}"


def _bad(path: Path, detail: str) -> ValidationFailed:
    return ValidationFailed("xc_rule_file_invalid", file=path.name, detail=detail)


def parse_rule(path: Path) -> Rule:
    """Reads and checks one rule file; a mistake names the file and the key."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise _bad(path, type(exc).__name__) from exc
    if not isinstance(raw, dict):
        raise _bad(path, "not a mapping")
    source = str(raw.get("source") or path.stem).strip()
    if not source.replace("_", "").isalnum() or source == DEATHS or len(source) > 40:
        raise _bad(path, f"source {source!r}")
    label = raw.get("label") or {}
    if isinstance(label, str):
        label = {"zh-CN": label, "en": label}
    cols_raw = raw.get("columns")
    if not isinstance(cols_raw, dict):
        raise _bad(path, "columns")
    columns: dict[str, tuple[str, ...]] = {}
    for name, spellings in cols_raw.items():
        if name not in FIELDS:
            raise _bad(path, f"columns.{name}")
        if isinstance(spellings, str):
            spellings = [spellings]
        if not isinstance(spellings, list) or not spellings:
            raise _bad(path, f"columns.{name}")
        columns[name] = tuple(str(s) for s in spellings)
    missing = [f for f in REQUIRED_FIELDS if f not in columns]
    if missing:
        raise _bad(path, "columns." + ",".join(missing))
    rule = raw.get("rule") or {}
    aggregate = str(rule.get("aggregate", "count"))
    op = str(rule.get("op", ">="))
    if aggregate not in AGGREGATES:
        raise _bad(path, "rule.aggregate")
    if aggregate != "count" and "value" not in columns:
        raise _bad(path, "rule.aggregate needs columns.value")
    if op not in OPS:
        raise _bad(path, "rule.op")
    try:
        threshold = Decimal(str(rule.get("threshold", 1)))
    except InvalidOperation as exc:
        raise _bad(path, "rule.threshold") from exc
    finding = raw.get("finding") or {}
    try:
        category = FindingCategory(str(finding.get("category", "not_eligible")))
        severity = Severity(str(finding.get("severity", "medium")))
        kind = FindingKind(str(finding.get("kind", "lead")))
    except ValueError as exc:
        raise _bad(path, "finding") from exc
    return Rule(
        source=source,
        label_zh=str(label.get("zh-CN") or label.get("zh") or source),
        label_en=str(label.get("en") or source),
        columns=columns,
        aggregate=aggregate,
        op=op,
        threshold=threshold,
        category=category,
        severity=severity,
        kind=kind,
        path=str(path),
    )


def rule_dirs(extra: Path | None = None) -> list[Path]:
    """The directories read, shipped first (a later file of the same source replaces an earlier one)."""
    dirs = [PACKAGED]
    county = extra if extra is not None else get_settings().crosscheck_rules_dir
    if county is not None:
        dirs.append(Path(county))
    return dirs


def load_rules(extra: Path | None = None) -> dict[str, Rule]:
    """Every register rule by source name."""
    rules: dict[str, Rule] = {}
    for d in rule_dirs(extra):
        if not d.is_dir():
            continue
        for path in sorted([*d.glob("*.yaml"), *d.glob("*.yml")]):
            rule = parse_rule(path)
            rules[rule.source] = rule
    return rules


def get_rule(source: str, extra: Path | None = None) -> Rule:
    """The rule of one source; an unknown source is a 404."""
    rule = load_rules(extra).get(source)
    if rule is None:
        raise NotFound("xc_unknown_source", source=source[:40])
    return rule
