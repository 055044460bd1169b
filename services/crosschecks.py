"""Cross-checks (数据比对): death and funeral records and other departments' registers.

A file (CSV in UTF-8/BOM/GB18030, or XLSX) is read row by row; each row is checked (name, ID number
with its checksum, dates) and a bad row is reported with its number while the others go on. The
ID numbers are hashed with the register's keyed hash (under every configured key while a rotation
runs) and looked up in bulk — batches of thousands against the member index, never one query per
row and never by decrypting the register.

Deaths (003: 殡葬死亡数据比对, every month): a matched member of a household still paid is
- the beneficiary (the head, or the one member) → `paid_after_death`: a finding with the months paid
  after death and the amount, confirmed at once and put on the ledger (money to recover);
- another member of a larger household → `household_size_changed`: a finding for review (the
  allowance must be recalculated; the per-capita share paid since is given as an estimate).
Other registers follow a rule file (services/crosscheck_rules.py) and make leads for review.

Matches are unique per source, month and member, so a re-import of a month adds nothing; a death
already matched in an earlier month is not matched again.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import partial
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from contracts.crosschecks import (
    DEATHS,
    CrosscheckMatchOut,
    CrosscheckRunOut,
    CrosscheckSourceOut,
    MatchOutcome,
)
from contracts.ledger import FindingKind, FindingReview, FindingSource
from contracts.vocab import FindingCategory, Severity
from models.crosscheck import CrosscheckMatch, CrosscheckRun
from models.db import is_postgres
from models.household import Household, HouseholdMember, HouseholdStatus
from models.job import Job, JobKind
from models.types import utcnow
from models.user import Role
from models.visit import Finding
from services import audit, jobs, ledger, pii
from services.cipher import get_cipher
from services.context import Actor
from services.crosscheck_rules import Rule, get_rule, load_rules
from services.errors import NotFound, TooLarge, ValidationFailed
from services.household_parse import blank
from services.household_reader import read_table
from services.household_validate import RowError
from services.messages import translate
from services.rounds import local_today

MAX_IMPORT_BYTES = 64 * 1024 * 1024
EARLIEST_YEAR = 1999  # no dibao payment, so nothing to cross-check, before the 1999 regulations
MAX_ROWS = 500_000
MAX_REPORTED_ERRORS = 1000
MAX_PAGE = 500
Progress = Callable[[int, int], None]
_HEAD_RELATIONS = frozenset({"户主", "本人", "申请人"})
_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日", "%Y-%m-%d %H:%M:%S")

DEATH_COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "死者姓名", "逝者姓名", "死亡人姓名", "name"),
    "id_number": ("身份证号", "身份证号码", "公民身份号码", "证件号码", "死者身份证号", "id_number", "id"),
    "death_date": ("死亡日期", "死亡时间", "火化日期", "殡葬日期", "date_of_death", "death_date"),
    "source": ("数据来源", "来源", "殡仪馆", "火化单位", "source"),
}
DEATH_REQUIRED = ("name", "id_number", "death_date")
FIELD_LABELS = {
    "name": "姓名",
    "id_number": "身份证号",
    "death_date": "死亡日期",
    "value": "数值",
    "date": "日期",
}


@dataclass
class Record:
    """One checked row of an imported file (the ID number in clear only while the import runs)."""

    row: int
    name: str
    id_number: str
    event_date: date | None = None
    value: Decimal | None = None


@dataclass
class Hit:
    """A household member whose keyed hash equals an imported ID number's."""

    member_id: uuid.UUID
    id_hash: str
    relation: str
    household_id: uuid.UUID
    village_code: str
    status: HouseholdStatus
    size: int
    monthly_amount: Decimal
    start_date: date | None
    head_id_hash: str | None


@dataclass
class CrosscheckReport:
    """What one import found and did."""

    run_id: uuid.UUID | None = None
    source: str = DEATHS
    period: str = ""
    rows: int = 0
    valid_rows: int = 0
    matched: int = 0
    new_matches: int = 0
    findings: int = 0
    ledger_items: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)

    def as_dict(self, lang: str = "zh-CN") -> dict[str, Any]:
        """JSON-friendly form (errors capped)."""
        return {
            "run_id": str(self.run_id) if self.run_id else None,
            "source": self.source,
            "period": self.period,
            "rows": self.rows,
            "valid_rows": self.valid_rows,
            "matched": self.matched,
            "new_matches": self.new_matches,
            "findings": self.findings,
            "ledger_items": self.ledger_items,
            "outcomes": self.outcomes,
            "error_count": len(self.errors),
            "errors": [e.as_dict(lang) for e in self.errors[:MAX_REPORTED_ERRORS]],
        }


# ---- reading ------------------------------------------------------------------------------------


def check_month(month: str, today: date | None = None) -> str:
    """A YYYY-MM month that has begun; anything else is a 422."""
    m = _MONTH_RE.match(month.strip())
    if m is None or not 1 <= int(m.group(2)) <= 12 or int(m.group(1)) < EARLIEST_YEAR:
        raise ValidationFailed("xc_bad_month", month=month[:20])
    now = today or local_today()
    if (int(m.group(1)), int(m.group(2))) > (now.year, now.month):
        raise ValidationFailed("xc_bad_month", month=month[:20])
    return month.strip()


def _norm(h: object) -> str:
    text = str(h or "").replace("\ufeff", "").strip()
    return re.sub(r"\s+", "", text).lower().replace("（", "(").replace("）", ")")


def map_columns(
    header: list[object], columns: dict[str, tuple[str, ...]], required: Sequence[str]
) -> tuple[dict[str, int], list[str]]:
    """Canonical field → column position, and the headers no field claims (reported, then ignored)."""
    index = {_norm(a): name for name, spellings in columns.items() for a in spellings}
    mapping: dict[str, int] = {}
    unknown: list[str] = []
    for i, h in enumerate(header):
        name = index.get(_norm(h))
        if name and name not in mapping:
            mapping[name] = i
        elif _norm(h):
            unknown.append(str(h)[:40])
    missing = [FIELD_LABELS.get(f, f) for f in required if f not in mapping]
    if missing:
        raise ValidationFailed("import_missing_columns", columns="、".join(missing))
    return mapping, unknown


def _cell(row: list[object], i: int | None) -> str:
    if i is None or i >= len(row):
        return ""
    v = row[i]
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, datetime):
        return v.date().isoformat()
    return str(v).strip()


def parse_date(value: str) -> date | None:
    """A date in the spellings registers use, or None."""
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None


class _Checker:
    """Turns rows into records; every problem is a row-numbered error, the other rows go on."""

    def __init__(self, mapping: dict[str, int], deaths: bool, today: date) -> None:
        self.m = mapping
        self.deaths = deaths
        self.today = today
        self.errors: list[RowError] = []
        self.seen: dict[tuple[object, ...], int] = {}

    def err(self, row: int, fld: str, code: str, **params: Any) -> None:
        self.errors.append(RowError(row, fld, code, params))

    def check(self, rownum: int, row: list[object]) -> Record | None:
        """The row's record, or None when the row has errors (they are noted)."""
        before = len(self.errors)
        name = _cell(row, self.m.get("name"))
        if not name:
            self.err(rownum, "name", "row_required", field=FIELD_LABELS["name"])
        elif len(name) > 60:
            self.err(rownum, "name", "row_too_long", field=FIELD_LABELS["name"], max=60)
        idn = pii.normalize_id(_cell(row, self.m.get("id_number")))
        if not idn:
            self.err(rownum, "id_number", "row_required", field=FIELD_LABELS["id_number"])
        else:
            problem = pii.id_number_problem(idn)
            if problem:
                self.err(rownum, "id_number", "row_" + problem)
        rec = Record(rownum, name, idn)
        if self.deaths:
            self._death_date(rownum, row, rec)
        else:
            self._register_values(rownum, row, rec)
        if len(self.errors) > before:
            return None
        key: tuple[object, ...] = (idn,) if self.deaths else (idn, rec.value, rec.event_date)
        first = self.seen.setdefault(key, rownum)
        if first != rownum:
            self.err(rownum, "id_number", "xc_row_duplicate", id=pii.mask_id(idn), first_row=first)
            return None
        return rec

    def _death_date(self, rownum: int, row: list[object], rec: Record) -> None:
        raw = _cell(row, self.m.get("death_date"))
        label = FIELD_LABELS["death_date"]
        if not raw:
            self.err(rownum, "death_date", "row_required", field=label)
            return
        died = parse_date(raw)
        if died is None:
            self.err(rownum, "death_date", "row_bad_date", field=label, value=raw[:40])
            return
        if died > self.today:
            self.err(rownum, "death_date", "xc_death_future", date=died.isoformat())
            return
        born = pii.id_birth_date(rec.id_number) if len(rec.id_number) == 18 else None
        if born is not None and died < born:
            self.err(
                rownum, "death_date", "xc_death_before_birth", date=died.isoformat(), born=born.isoformat()
            )
            return
        rec.event_date = died

    def _register_values(self, rownum: int, row: list[object], rec: Record) -> None:
        raw = _cell(row, self.m.get("value")).replace(",", "").replace("，", "")
        if raw:
            try:
                rec.value = Decimal(raw)
                if not rec.value.is_finite():
                    raise InvalidOperation
            except InvalidOperation:
                self.err(rownum, "value", "row_bad_number", field=FIELD_LABELS["value"], value=raw[:40])
        raw_date = _cell(row, self.m.get("date"))
        if raw_date:
            rec.event_date = parse_date(raw_date)
            if rec.event_date is None:
                self.err(rownum, "date", "row_bad_date", field=FIELD_LABELS["date"], value=raw_date[:40])


def read_records(
    data: bytes,
    filename: str,
    columns: dict[str, tuple[str, ...]],
    required: Sequence[str],
    deaths: bool,
    today: date,
    progress: Progress | None = None,
) -> tuple[list[Record], list[RowError], int]:
    """The valid records of a file, the row errors, and the number of non-blank rows."""
    if len(data) > MAX_IMPORT_BYTES:
        raise TooLarge(limit=f"{MAX_IMPORT_BYTES // (1024 * 1024)} MB")
    rows: Iterator[list[object]] = read_table(data, filename)
    try:
        header = next(rows)
    except StopIteration as exc:
        raise ValidationFailed("import_empty") from exc
    mapping, unknown = map_columns(header, columns, required)
    checker = _Checker(mapping, deaths, today)
    for name in unknown:
        checker.err(1, name, "xc_unknown_column", column=name)
    records: list[Record] = []
    count = 0
    for rownum, row in enumerate(rows, start=2):
        if blank(row):
            continue
        count += 1
        if count > MAX_ROWS:
            raise TooLarge(limit=f"{MAX_ROWS} rows")
        rec = checker.check(rownum, row)
        if rec is not None:
            records.append(rec)
        if progress and count % 5000 == 0:
            progress(count, 0)
    return records, checker.errors, count


# ---- matching in bulk ---------------------------------------------------------------------------


def hash_ids(ids: Sequence[str]) -> dict[str, str]:
    """Keyed hash → ID number, under every configured key (a rotation may be half done).

    The ID numbers are already normalised (`pii.normalize_id`), so this is `lookup_hash` without
    its per-value strip and upper-case: one HMAC per value through `map`, no Python loop body.
    """
    out: dict[str, str] = {}
    encoded = list(map(str.encode, ids))
    for cipher in get_cipher().ciphers:
        mac = partial(hmac.digest, cipher.mac_key, digest="sha256")
        out.update(zip(map(bytes.hex, map(mac, encoded)), ids, strict=True))
    return out


def _scope_of(actor: Actor) -> str | None:
    return None if actor.role == Role.admin else actor.scope_code


_SQLITE_FIND = (
    "SELECT m.id, m.id_hash, m.relation, h.id, h.village_code, h.status, h.size, h.monthly_amount,"
    " h.start_date, h.head_id_hash FROM household_member m JOIN household h ON h.id = m.household_id"
    " WHERE m.id_hash IN ({marks})"
)


PG_BATCH = 2000
_PG_FIND = (
    "SELECT m.id, m.id_hash, m.relation, h.id, h.village_code, h.status, h.size, h.monthly_amount,"
    " h.start_date, h.head_id_hash FROM unnest(%(hs)s::varchar[]) AS u(digest)"
    " JOIN household_member m ON m.id_hash = u.digest JOIN household h ON h.id = m.household_id"
)


def find_members(session: Session, hashes: Sequence[str], scope: str | None = None) -> list[Hit]:
    """Members whose keyed hash is among `hashes` (with their household), in batches of thousands.

    PostgreSQL: one array parameter per batch of 20,000, joined as `unnest(...)` so the planner
    probes the member index for each (`= ANY(array)` of that size made it scan the whole table).
    SQLite: `IN (?, ...)` batches of 5,000. Both go straight to the driver, as building a statement
    of thousands of values costs more than running it; the few hits are converted by hand.
    """
    if not is_postgres(session):
        return _find_sqlite(session, hashes, scope)
    conn = session.connection()
    sql = _PG_FIND + (" WHERE h.village_code LIKE %(scope)s" if scope else "")
    hits: list[Hit] = []
    for start in range(0, len(hashes), PG_BATCH):
        params = {"hs": list(hashes[start : start + PG_BATCH]), "scope": f"{scope}%"}
        for mid, digest, rel, hid, village, status, size, amount, start_day, head in conn.exec_driver_sql(
            sql, params
        ):
            hits.append(
                Hit(mid, digest, rel, hid, village, HouseholdStatus(status), size, amount, start_day, head)
            )
    return hits


def _find_sqlite(session: Session, hashes: Sequence[str], scope: str | None) -> list[Hit]:
    conn = session.connection()
    hits: list[Hit] = []
    for start in range(0, len(hashes), 5000):
        part: list[str] = list(hashes[start : start + 5000])
        sql = _SQLITE_FIND.format(marks=", ".join("?" * len(part)))
        params: tuple[str, ...] = tuple(part)
        if scope:
            sql += " AND h.village_code LIKE ?"
            params += (scope + "%",)
        for mid, digest, rel, hid, village, status, size, amount, start_day, head in conn.exec_driver_sql(
            sql, params
        ):
            hits.append(
                Hit(
                    uuid.UUID(mid),
                    digest,
                    rel,
                    uuid.UUID(hid),
                    village,
                    HouseholdStatus(status),
                    int(size),
                    Decimal(str(amount)),
                    date.fromisoformat(start_day) if start_day else None,
                    head,
                )
            )
    return hits


def find_members_one_by_one(session: Session, hashes: Sequence[str]) -> int:
    """The per-record baseline the benchmark compares with: for each ID number one ORM query for the
    member and its household (what `find_members` returns in bulk), as services read rows elsewhere."""
    m, h = HouseholdMember, Household
    found = 0
    for digest in hashes:
        query = select(m, h).join(h, col(h.id) == col(m.household_id)).where(m.id_hash == digest)
        found += len(session.exec(query).all())
    return found


def match(session: Session, records: Sequence[Record], scope: str | None = None) -> list[tuple[Record, Hit]]:
    """Each record paired with every member it matches (hash each ID number once, join in bulk)."""
    by_hash = hash_ids(list(dict.fromkeys(r.id_number for r in records)))
    hits = find_members(session, list(by_hash), scope)
    if not hits:
        return []
    found = {by_hash[hit.id_hash] for hit in hits}
    rows: dict[str, list[Record]] = {}
    for r in records:
        if r.id_number in found:
            rows.setdefault(r.id_number, []).append(r)
    return [(r, hit) for hit in hits for r in rows[by_hash[hit.id_hash]]]


# ---- deaths -------------------------------------------------------------------------------------


def months_paid_after(died: date, period: str, start: date | None) -> int:
    """Months paid after the month of death up to the file's month (not before the household's start)."""
    y, mo = (int(x) for x in period.split("-"))
    first = died.year * 12 + died.month  # the month of death itself was due
    if start is not None:
        first = max(first, start.year * 12 + start.month - 1)
    return max(0, y * 12 + mo - first)


def _yuan(x: Decimal) -> Decimal:
    return x.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _is_beneficiary(hit: Hit) -> bool:
    return hit.size <= 1 or hit.relation in _HEAD_RELATIONS or hit.id_hash == hit.head_id_hash


def _finding(
    actor: Actor,
    hit: Hit,
    rule_id: str,
    category: FindingCategory,
    severity: Severity,
    kind: FindingKind,
    code: str,
    **params: Any,
) -> Finding:
    return Finding(
        visit_id=None,
        household_id=hit.household_id,
        rule_id=rule_id[:80],
        category=category,
        severity=severity,
        message_zh=translate(code, "zh-CN", **params)[:1000],
        message_en=translate(code, "en", **params)[:1000],
        kind=kind,
        source=FindingSource.crosscheck,
        created_by=actor.label,
    )


class _Run:
    """The writes of one import: the run row, its matches, findings and ledger items."""

    def __init__(
        self, session: Session, actor: Actor, source: str, period: str, report: CrosscheckReport
    ) -> None:
        self.session = session
        self.actor = actor
        self.source = source
        self.period = period
        self.report = report
        self.run: CrosscheckRun | None = None

    def start(self, filename: str, data: bytes) -> CrosscheckRun:
        self.run = CrosscheckRun(
            source=self.source,
            period=self.period,
            filename=filename[:200],
            file_sha256=hashlib.sha256(data).hexdigest(),
            scope_code=_scope_of(self.actor),
            created_by=self.actor.label,
        )
        self.session.add(self.run)
        self.session.flush()
        self.report.run_id = self.run.id
        return self.run

    def already(self, member_ids: list[uuid.UUID], any_period: bool) -> set[uuid.UUID]:
        """Members matched before: this month (or any month, for deaths)."""
        found: set[uuid.UUID] = set()
        for start in range(0, len(member_ids), 5000):
            q = select(CrosscheckMatch.member_id).where(
                CrosscheckMatch.source == self.source,
                col(CrosscheckMatch.member_id).in_(member_ids[start : start + 5000]),
            )
            if not any_period:
                q = q.where(CrosscheckMatch.period == self.period)
            found.update(self.session.exec(q).all())
        return found

    def add_match(self, rec: Record, hit: Hit, outcome: MatchOutcome, **kw: Any) -> CrosscheckMatch:
        assert self.run is not None
        mt = CrosscheckMatch(
            run_id=self.run.id,
            source=self.source,
            period=self.period,
            member_id=hit.member_id,
            household_id=hit.household_id,
            village_code=hit.village_code,
            row=rec.row,
            name_masked=pii.mask_name(rec.name) or "",
            id_masked=pii.mask_id(rec.id_number) or "",
            event_date=rec.event_date,
            outcome=outcome,
            **kw,
        )
        self.session.add(mt)
        self.report.new_matches += 1
        self.report.outcomes[outcome.value] = self.report.outcomes.get(outcome.value, 0) + 1
        return mt

    def add_finding(self, f: Finding, confirmed: bool) -> Finding:
        if confirmed:
            f.review = FindingReview.confirmed
            f.reviewed_by = self.actor.id
            f.reviewed_at = utcnow()
            f.review_reason = f"crosscheck:{self.source}:{self.period}"
        self.session.add(f)
        self.session.flush()
        audit.record(
            self.session,
            self.actor,
            "finding.add",
            "finding",
            f.id,
            household=str(f.household_id),
            source=f"crosscheck:{self.source}",
            period=self.period,
        )
        self.report.findings += 1
        return f

    def finish(self, errors: list[RowError]) -> CrosscheckRun:
        run, r = self.run, self.report
        assert run is not None
        run.rows, run.valid_rows, run.matched = r.rows, r.valid_rows, r.matched
        run.new_matches, run.findings, run.ledger_items = r.new_matches, r.findings, r.ledger_items
        run.error_count = len(errors)
        run.errors = [e.as_dict("zh-CN") for e in errors[:MAX_REPORTED_ERRORS]]
        self.session.add(run)
        self.session.flush()
        audit.record(
            self.session,
            self.actor,
            "crosscheck.import",
            "crosscheck_run",
            run.id,
            source=self.source,
            period=self.period,
            file=run.filename[:100],
            rows=r.rows,
            matched=r.matched,
            new_matches=r.new_matches,
            findings=r.findings,
            errors=run.error_count,
        )
        return run


def _death(w: _Run, rec: Record, hit: Hit, today: date | None) -> None:
    """One new death match: its outcome, finding and (for a beneficiary) ledger item."""
    assert rec.event_date is not None
    if hit.status is not HouseholdStatus.active:
        w.add_match(rec, hit, MatchOutcome.already_stopped)
        return
    months = months_paid_after(rec.event_date, w.period, hit.start_date)
    share = hit.monthly_amount if hit.size <= 1 else hit.monthly_amount / hit.size
    amount = _yuan(share * months)
    params = {"date": rec.event_date.isoformat(), "months": months, "amount": f"{amount}", "size": hit.size}
    if _is_beneficiary(hit):
        f = w.add_finding(
            _finding(
                w.actor,
                hit,
                "crosscheck:deaths",
                FindingCategory.PAID_AFTER_DEATH,
                Severity.high,
                FindingKind.finding,
                "xc_finding_paid_after_death",
                **params,
            ),
            confirmed=True,
        )
        item = ledger.file_findings(w.session, w.actor, [f], today)
        item.months = (item.months or 0) + months
        item.money_to_recover = ledger.fen(item.money_to_recover + amount)
        w.session.add(item)
        w.report.ledger_items += 1
        w.add_match(
            rec,
            hit,
            MatchOutcome.paid_after_death,
            months=months,
            amount=amount,
            finding_id=f.id,
            ledger_item_id=item.id,
        )
        return
    f = w.add_finding(
        _finding(
            w.actor,
            hit,
            "crosscheck:deaths",
            FindingCategory.HOUSEHOLD_SIZE_CHANGED,
            Severity.medium,
            FindingKind.finding,
            "xc_finding_size_changed",
            **params,
        ),
        confirmed=False,
    )
    w.add_match(rec, hit, MatchOutcome.household_size_changed, months=months, amount=amount, finding_id=f.id)


def import_deaths(
    session: Session,
    actor: Actor,
    data: bytes,
    filename: str,
    month: str,
    *,
    today: date | None = None,
    progress: Progress | None = None,
) -> CrosscheckReport:
    """Matches a month's death and funeral records against every household member in scope."""
    actor.require(Role.supervisor)
    now = today or local_today()
    period = check_month(month, now)
    records, errors, count = read_records(data, filename, DEATH_COLUMNS, DEATH_REQUIRED, True, now, progress)
    report = CrosscheckReport(source=DEATHS, period=period, rows=count, valid_rows=len(records))
    w = _Run(session, actor, DEATHS, period, report)
    w.start(filename, data)
    pairs = match(session, records, _scope_of(actor))
    report.matched = len(pairs)
    if progress:
        progress(count, count)
    known = w.already([hit.member_id for _, hit in pairs], any_period=True)
    for rec, hit in sorted(pairs, key=lambda p: p[0].row):
        if hit.member_id in known:
            continue
        known.add(hit.member_id)
        _death(w, rec, hit, today)
    session.flush()
    w.finish(errors)
    report.errors = errors
    return report


# ---- other registers ----------------------------------------------------------------------------


def _aggregate(rule: Rule, recs: list[Record]) -> Decimal:
    if rule.aggregate == "count":
        return Decimal(len(recs))
    values = [r.value for r in recs if r.value is not None]
    if not values:
        return Decimal(0)
    return sum(values, Decimal(0)) if rule.aggregate == "sum" else max(values)


def import_register(
    session: Session,
    actor: Actor,
    source: str,
    data: bytes,
    filename: str,
    month: str,
    *,
    rules_dir: Path | None = None,
    today: date | None = None,
    progress: Progress | None = None,
) -> CrosscheckReport:
    """Matches another department's list by its rule file; a person over the threshold is a lead."""
    actor.require(Role.supervisor)
    rule = get_rule(source, rules_dir)
    now = today or local_today()
    period = check_month(month, now)
    records, errors, count = read_records(
        data, filename, rule.columns, ("name", "id_number"), False, now, progress
    )
    report = CrosscheckReport(source=rule.source, period=period, rows=count, valid_rows=len(records))
    w = _Run(session, actor, rule.source, period, report)
    w.start(filename, data)
    pairs = match(session, records, _scope_of(actor))
    report.matched = len(pairs)
    by_member: dict[uuid.UUID, tuple[Hit, list[Record]]] = {}
    for rec, hit in pairs:
        by_member.setdefault(hit.member_id, (hit, []))[1].append(rec)
    known = w.already(list(by_member), any_period=False)
    for member_id, (hit, recs) in by_member.items():
        total = _aggregate(rule, recs)
        if member_id in known or not rule.trips(total):
            continue
        recs.sort(key=lambda r: r.row)
        f = _finding(
            actor,
            hit,
            f"crosscheck:{rule.source}",
            rule.category,
            rule.severity,
            rule.kind,
            "xc_finding_register",
            source=rule.label_zh,
            rule=rule.describe(),
            total=f"{total}",
        )
        # the register's name comes from its rule file, one spelling per language
        f.message_en = translate(
            "xc_finding_register", "en", source=rule.label_en, rule=rule.describe(), total=total
        )
        w.add_finding(f, confirmed=False)
        w.add_match(recs[0], hit, MatchOutcome.flagged, value=total, finding_id=f.id)
    if progress:
        progress(count, count)
    session.flush()
    w.finish(errors)
    report.errors = errors
    return report


def import_any(
    session: Session, actor: Actor, source: str, data: bytes, filename: str, month: str, **kw: Any
) -> CrosscheckReport:
    """Deaths or a register by its source name."""
    if source == DEATHS:
        kw.pop("rules_dir", None)
        return import_deaths(session, actor, data, filename, month, **kw)
    return import_register(session, actor, source, data, filename, month, **kw)


def import_file(
    session: Session, actor: Actor, source: str, path: Path, month: str, **kw: Any
) -> CrosscheckReport:
    """Imports a file from disk."""
    if path.stat().st_size > MAX_IMPORT_BYTES:
        raise TooLarge(limit=f"{MAX_IMPORT_BYTES // (1024 * 1024)} MB")
    return import_any(session, actor, source, path.read_bytes(), path.name, month, **kw)


def run_job(
    factory: jobs.SessionFactory,
    job_id: uuid.UUID,
    actor: Actor,
    source: str,
    data: bytes,
    filename: str,
    month: str,
) -> None:
    """Runs an import as a background job with progress; the result is the report."""

    def work(session: Session) -> dict[str, Any]:
        report = import_any(
            session, actor, source, data, filename, month, progress=lambda d, t: jobs.progress(job_id, d, t)
        )
        return report.as_dict(actor.lang)

    jobs.run(factory, job_id, work)


def start_job(session: Session, actor: Actor, source: str, month: str, data: bytes) -> Job:
    """Checks an upload (role, source, month, not empty) and records its queued job."""
    actor.require(Role.supervisor)
    if source != DEATHS:
        get_rule(source)
    check_month(month)
    if not data.strip():
        raise ValidationFailed("import_empty")
    return jobs.create(session, actor, JobKind.crosscheck)


# ---- listing ------------------------------------------------------------------------------------


def sources(lang: str = "zh-CN") -> list[CrosscheckSourceOut]:
    """Deaths and every register with a rule file."""
    out = [
        CrosscheckSourceOut(
            source=DEATHS,
            label=translate("xc_source_deaths", lang),
            columns=list(DEATH_COLUMNS),
            rule="",
        )
    ]
    for rule in load_rules().values():
        out.append(
            CrosscheckSourceOut(
                source=rule.source, label=rule.label(lang), columns=list(rule.columns), rule=rule.describe()
            )
        )
    return out


def _may_list(actor: Actor) -> None:
    actor.require(Role.supervisor, Role.officer)


def _run_visible(actor: Actor, run: CrosscheckRun) -> bool:
    scope = _scope_of(actor)
    return scope is None or run.scope_code is None or run.scope_code.startswith(scope)


def list_runs(
    session: Session, actor: Actor, source: str | None = None, period: str | None = None, limit: int = 100
) -> list[CrosscheckRunOut]:
    """Recent runs, newest first (a scoped user sees runs of their region and unscoped ones)."""
    _may_list(actor)
    q = select(CrosscheckRun).order_by(col(CrosscheckRun.created_at).desc())
    if source:
        q = q.where(CrosscheckRun.source == source)
    if period:
        q = q.where(CrosscheckRun.period == period)
    runs = [r for r in session.exec(q.limit(min(max(limit, 1), MAX_PAGE))).all() if _run_visible(actor, r)]
    return [CrosscheckRunOut.model_validate(r) for r in runs]


def get_run(session: Session, actor: Actor, run_id: uuid.UUID) -> CrosscheckRunOut:
    """One run with its row errors."""
    _may_list(actor)
    run = session.get(CrosscheckRun, run_id)
    if run is None or not _run_visible(actor, run):
        raise NotFound(entity="crosscheck_run")
    return CrosscheckRunOut.model_validate(run)


def list_matches(
    session: Session,
    actor: Actor,
    *,
    run_id: uuid.UUID | None = None,
    source: str | None = None,
    period: str | None = None,
    outcome: MatchOutcome | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[CrosscheckMatchOut]:
    """Matches in the actor's region (identifiers masked); the read is audited."""
    _may_list(actor)
    q = (
        select(CrosscheckMatch, Household.register_no)
        .join(Household, col(Household.id) == col(CrosscheckMatch.household_id))
        .order_by(col(CrosscheckMatch.created_at).desc(), col(CrosscheckMatch.row))
    )
    scope = _scope_of(actor)
    if scope:
        q = q.where(col(CrosscheckMatch.village_code).startswith(scope))
    if run_id is not None:
        q = q.where(CrosscheckMatch.run_id == run_id)
    if source:
        q = q.where(CrosscheckMatch.source == source)
    if period:
        q = q.where(CrosscheckMatch.period == period)
    if outcome is not None:
        q = q.where(CrosscheckMatch.outcome == outcome)
    rows = session.exec(q.offset(max(offset, 0)).limit(min(max(limit, 1), MAX_PAGE))).all()
    out = [CrosscheckMatchOut.model_validate({**mt.model_dump(), "register_no": reg}) for mt, reg in rows]
    audit.record(
        session,
        actor,
        "crosscheck.read",
        "crosscheck_match",
        None,
        run=str(run_id) if run_id else None,
        source=source,
        period=period,
        count=len(out),
    )
    return out
