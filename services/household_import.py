"""Household register import: CSV (UTF-8, BOM, GB18030) or XLSX with the headers people use.

Every row is validated first (row number and reason); a file with invalid rows writes nothing unless
skip_invalid. Writing is a bulk upsert by register number in chunks (no round trip per row).
The parts: `household_reader` (formats and headers), `household_validate` (rows to checked records),
`household_writer` (the bulk writers); this module streams one through the other.
"""

from __future__ import annotations

import gc
import uuid
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import Session, func, select

from models.household import Household
from models.user import Role
from services import audit, household_parse, jobs
from services.cipher import get_cipher
from services.context import Actor
from services.errors import TooLarge, ValidationFailed
from services.household_parse import blank, parsed_batches
from services.household_reader import map_headers, read_again, read_table
from services.household_validate import Parsed, RowError, Validator, known_villages
from services.household_writer import DEFERRABLE_INDEXES, HouseholdState, Pending, Writer, existing_ids

MAX_IMPORT_BYTES = 64 * 1024 * 1024
MAX_ROWS = 500_000
MAX_REPORTED_ERRORS = 1000
Progress = Callable[[int, int], None]


@dataclass
class ImportReport:
    """What an import found and did."""

    rows: int = 0
    valid_rows: int = 0
    households: int = 0
    created: int = 0
    updated: int = 0
    members: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    written: bool = False
    dry_run: bool = False

    def as_dict(self, lang: str = "zh-CN") -> dict[str, Any]:
        """JSON-friendly form (errors capped)."""
        return {
            "rows": self.rows,
            "valid_rows": self.valid_rows,
            "households": self.households,
            "created": self.created,
            "updated": self.updated,
            "members": self.members,
            "error_count": self.error_count,
            "written": self.written,
            "dry_run": self.dry_run,
            "errors": [e.as_dict(lang) for e in self.errors[:MAX_REPORTED_ERRORS]],
        }


CHUNK_HOUSEHOLDS = 5000  # households written per batch; the file is parsed and written in step
BULK_MIN_ROWS = 20_000  # from this many rows (estimated from the size) a load may defer indexes
BYTES_PER_ROW = 100  # a register row in CSV is about this long


def _load_plan(session: Session, nbytes: int) -> tuple[bool, tuple[str, ...]]:
    """Whether the household table is empty, and the secondary indexes cheaper to build after this
    load than to maintain during it.

    Into an empty table, all of them; into a table much smaller than the file, those a load with
    updates does not read (members of replaced households are found by household_id, so that one
    stays); otherwise none.
    """
    fresh = session.exec(select(Household.id).limit(1)).first() is None
    estimate = nbytes // BYTES_PER_ROW
    if estimate < BULK_MIN_ROWS:
        return fresh, ()
    if fresh:
        return fresh, DEFERRABLE_INDEXES
    existing = session.exec(select(func.count()).select_from(Household)).one()
    if existing * 2 < estimate:
        return fresh, tuple(n for n in DEFERRABLE_INDEXES if n != "ix_household_member_household_id")
    return fresh, ()


class _Scan:
    """One streaming pass over the rows: validation, grouping by register number, and (when a writer
    is given) writing in chunks while parsing. Households are kept only as compact state."""

    def __init__(
        self,
        validator: Validator,
        actor: Actor,
        writer: Writer | None,
        skip_invalid: bool,
        exclude: frozenset[str] = frozenset(),
    ) -> None:
        self.validator = validator
        self.actor = actor
        self.writer = writer
        self.skip_invalid = skip_invalid
        self.exclude = exclude
        self.seen: dict[str, HouseholdState] = {}
        self.pending: dict[str, Pending] = {}
        self.late: list[tuple[HouseholdState, int, dict[str, Any]]] = []
        self.tainted = False  # a household already written turned out invalid (skip_invalid only)

    def writing(self) -> bool:
        """Whether rows are still written (not once the file is known to be refused)."""
        if self.writer is None:
            return False
        if not self.skip_invalid and self.validator.errors:
            # nothing of this file will be kept: stop writing, keep validating
            self.writer = None
            self.pending.clear()
            self.late.clear()
            return False
        return True

    def add(self, p: Parsed) -> None:
        """Takes one valid row: a new household, a member row of the last one, or a duplicate."""
        reg: str = p.data["register_no"]
        if reg in self.exclude:
            return
        st = self.seen.get(reg)
        if st is None:
            st = HouseholdState(p.row, p.data["head_id"], p.data["size"])
            self.seen[reg] = st
            if self.actor.role != Role.admin and not self.actor.sees(p.data["village_code"]):
                self.validator.err(p.row, "village", "out_of_scope", entity="村(居)")
                st.bad = True
            members = [p.member] if p.member else []
            st.members = len(members)
            if not st.bad and self.writing():
                self.pending[reg] = Pending(st, p.data, members)
                if len(self.pending) > CHUNK_HOUSEHOLDS:
                    self.flush(keep_last=True)
            return
        if self.validator.has_members and p.member and st.head_id == p.data["head_id"]:
            st.nrows += 1
            st.members += 1
            pending = self.pending.get(reg)
            if pending is not None:
                pending.members.append(p.member)
            elif st.hid is not None and self.writing():
                self.late.append((st, st.members, p.member))
            return
        self.validator.err(p.row, "register_no", "row_duplicate", register_no=reg, first_row=st.row)
        st.nrows += 1
        if not st.bad:
            st.bad = True
            self.pending.pop(reg, None)
            if st.hid is not None:
                self.tainted = True
        self.writing()

    def flush(self, keep_last: bool = False) -> None:
        """Writes the pending households (but the last one, whose member rows may follow)."""
        if self.writer is None:
            return
        last = self.pending.popitem() if keep_last and self.pending else None
        self.writer.write(self.pending, self.late)
        self.pending = {}
        self.late = []
        if last is not None:
            self.pending[last[0]] = last[1]

    def valid(self) -> list[str]:
        """The register numbers of the households without errors."""
        return [reg for reg, st in self.seen.items() if not st.bad]


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a file is imported.

    The import allocates a few objects per row and keeps one per household, none of them in
    cycles; every collection would walk all of them again (a third of the importer's CPU on a
    100,000-row file). Reference counting still frees everything. Collection comes back after,
    unless it was already off (another import in this process turns it back on when it ends).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def import_households(
    session: Session,
    actor: Actor,
    data: bytes,
    filename: str = "",
    *,
    dry_run: bool = False,
    skip_invalid: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Validates a register file and, unless dry_run, upserts its households in bulk (see _import)."""
    with gc_paused():
        return _import(session, actor, data, filename, dry_run, skip_invalid, progress)


def _import(
    session: Session,
    actor: Actor,
    data: bytes,
    filename: str,
    dry_run: bool,
    skip_invalid: bool,
    progress: Progress | None,
) -> ImportReport:
    """Validates a register file and, unless dry_run, upserts its households in bulk.

    The file is parsed and written in chunks inside a SAVEPOINT, so memory stays flat; the savepoint
    is rolled back when the file turns out to have invalid rows (and skip_invalid is false).
    """
    actor.require(Role.admin, Role.supervisor)
    if len(data) > MAX_IMPORT_BYTES:
        raise TooLarge(limit=f"{MAX_IMPORT_BYTES // (1024 * 1024)} MB")
    rows = read_table(data, filename)
    try:
        header = next(rows)
    except StopIteration as exc:
        raise ValidationFailed("import_empty") from exc
    mapping = map_headers(header)
    villages = known_villages(session)
    validator = Validator(villages, has_members="member_name" in mapping)
    report = ImportReport(dry_run=dry_run)
    savepoint = None if dry_run else session.begin_nested()
    writers: list[Writer] = []
    try:
        fresh, deferred = _load_plan(session, len(data)) if savepoint is not None else (False, ())
        if savepoint is not None:
            writers.append(Writer(session, fresh))
            writers[-1].defer_indexes(deferred)
        scan = _Scan(validator, actor, writers[0] if writers else None, skip_invalid)
        if len(data) >= household_parse.PARALLEL_MIN_BYTES:
            batches = parsed_batches(
                data, filename, mapping, villages, validator.has_members, MAX_ROWS, get_cipher().current
            )
            _run_batches(scan, batches, report, progress)
        else:
            _run_scan(scan, rows, mapping, report, progress)
        report.errors = sorted(validator.errors, key=lambda e: (e.row, e.column))
        report.error_count = len(report.errors)
        valid = scan.valid()
        report.valid_rows = sum(scan.seen[reg].nrows for reg in valid)
        report.households = len(valid)
        if savepoint is not None and scan.tainted:
            # a duplicate further down spoilt a household already written: write again without it
            savepoint.rollback()
            savepoint = session.begin_nested()
            bad = frozenset(reg for reg, st in scan.seen.items() if st.bad)
            again = read_again(data, filename)
            writers.append(Writer(session, fresh))
            writers[-1].defer_indexes(deferred)
            scan = _Scan(Validator(villages, validator.has_members), actor, writers[-1], True, bad)
            _run_scan(scan, again, mapping, ImportReport(), None)
        if savepoint is None or (report.errors and not skip_invalid):
            if savepoint is not None:
                savepoint.rollback()
                savepoint = None
            existing = existing_ids(session, valid)
            report.updated = len(existing)
            report.created = len(valid) - report.updated
            audit.record(
                session,
                actor,
                "household.import_checked",
                "household",
                None,
                file=filename[:100],
                rows=report.rows,
                errors=report.error_count,
                dry_run=dry_run,
            )
            return report
        assert scan.writer is not None
        written = [st for st in scan.seen.values() if st.hid is not None]
        report.created = sum(1 for st in written if st.created)
        report.updated = len(written) - report.created
        report.members = scan.writer.members
        scan.writer.restore_indexes()
        savepoint.commit()
        savepoint = None
    finally:
        if savepoint is not None and savepoint.is_active:
            savepoint.rollback()
        for w in writers:
            w.close()
    if progress:
        progress(len(written), len(written))
    report.written = True
    audit.record(
        session,
        actor,
        "household.import",
        "household",
        None,
        file=filename[:100],
        rows=report.rows,
        created=report.created,
        updated=report.updated,
        errors=report.error_count,
    )
    return report


def _run_scan(
    scan: _Scan,
    rows: Iterator[list[object]],
    mapping: dict[str, int],
    report: ImportReport,
    progress: Progress | None,
) -> None:
    parse, add = scan.validator.parse, scan.add
    count = 0
    for rownum, row in enumerate(rows, start=2):
        if blank(row):
            continue
        count += 1
        if count > MAX_ROWS:
            raise TooLarge(limit=f"{MAX_ROWS} rows")
        p = parse(rownum, row, mapping)
        if p is not None:
            add(p)
        if progress and count % 5000 == 0:
            progress(count, 0)
    report.rows = count
    scan.flush()


def _run_batches(
    scan: _Scan,
    batches: Generator[household_parse.Batch, None, None],
    report: ImportReport,
    progress: Progress | None,
) -> None:
    """The scan over rows checked in the parser process (a batch's errors count before its rows)."""
    add, errors = scan.add, scan.validator.errors
    count = 0
    try:
        for count, parsed, found in batches:
            errors.extend(found)
            for p in parsed:
                add(p)
            if progress:
                progress(count, 0)
    finally:
        batches.close()  # on an error here too: the parser process ends now, not when collected
    report.rows = count
    scan.flush()


def run_import_job(
    factory: jobs.SessionFactory,
    job_id: uuid.UUID,
    actor: Actor,
    data: bytes,
    filename: str,
    dry_run: bool,
    skip_invalid: bool,
) -> None:
    """Runs an import as a background job; invalid files end the job as failed with the report."""

    def work(session: Session) -> dict[str, Any]:
        report = import_households(
            session,
            actor,
            data,
            filename,
            dry_run=dry_run,
            skip_invalid=skip_invalid,
            progress=lambda done, total: jobs.progress(job_id, done, total),
        )
        if report.errors and not skip_invalid and not dry_run:
            raise ValidationFailed("import_invalid_rows", count=report.error_count, report=report.as_dict())
        return report.as_dict()

    jobs.run(factory, job_id, work)


def import_file(session: Session, actor: Actor, path: Path, **kw: Any) -> ImportReport:
    """Imports a register file from disk."""
    if path.stat().st_size > MAX_IMPORT_BYTES:
        raise TooLarge(limit=f"{MAX_IMPORT_BYTES // (1024 * 1024)} MB")
    return import_households(session, actor, path.read_bytes(), path.name, **kw)
