"""The large-file import: rows parsed in a second process, secondary indexes built after the load."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import inspect
from sqlmodel import Session, func, select

from models.household import Household, HouseholdMember
from services import household_import as imp
from services import household_parse
from services.errors import TooLarge
from services.household_writer import DEFERRABLE_INDEXES
from services.households import HouseholdFilter, list_households
from tests.services.test_household_import_chunks import ACTOR, FULL, V2, _full, _ids, _snapshot


@pytest.fixture
def villages(session: Session) -> None:
    from tests.factories import ensure_regions

    ensure_regions(session, "150422100200")
    ensure_regions(session, V2)


@pytest.fixture
def bulk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file takes the large-file path: a parser process, small batches, deferred indexes."""
    monkeypatch.setattr(household_parse, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(household_parse, "BATCH_ROWS", 3)
    monkeypatch.setattr(imp, "BULK_MIN_ROWS", 0)
    monkeypatch.setattr(imp, "CHUNK_HOUSEHOLDS", 2)


def _indexes(session: Session) -> set[str]:
    conn = session.connection()
    found = inspect(conn).get_indexes("household") + inspect(conn).get_indexes("household_member")
    return {str(ix["name"]) for ix in found}


def _register(n: int, bad_row: int | None = None, duplicate: bool = False) -> bytes:
    ids = _ids(n + 1, seed=5)
    lines = [FULL]
    for i in range(n):
        member = ("王小", "子女", ids[n], "", "") if i % 3 == 0 else ("", "", "", "", "")
        lines.append(_full(f"BK{i:04d}", ids[i], village=V2 if i % 2 else "150422100200"))
        if member[0]:
            lines.append(_full(f"BK{i:04d}", ids[i], member))
        if i == bad_row:
            lines.append(_full(f"BX{i:04d}", "110101199003071230"))  # checksum error
    if duplicate:
        lines.append(_full("BK0001", ids[0]))  # the register number again with another head
    return "".join(lines).encode()


def _in_rollback(session: Session, data: bytes, **kw: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The report and the stored households of one import, undone afterwards."""
    outer = session.begin_nested()
    try:
        report = imp.import_households(session, ACTOR, data, "r.csv", **kw).as_dict()
        stored = [_snapshot(session, f"BK{i:04d}") for i in range(12) if _has(session, f"BK{i:04d}")]
    finally:
        outer.rollback()
    return report, stored


def _has(session: Session, reg: str) -> bool:
    return session.exec(select(Household.id).where(Household.register_no == reg)).first() is not None


def test_parser_process_gives_the_serial_result(
    session: Session, villages: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _register(12, bad_row=4, duplicate=True)
    serial = _in_rollback(session, data, skip_invalid=True)
    refused = _in_rollback(session, data)
    calls: list[str] = []
    real = imp.parsed_batches

    def spy(*args: Any) -> Iterator[household_parse.Batch]:
        calls.append(args[1])
        return real(*args)

    with monkeypatch.context() as m:
        m.setattr(household_parse, "PARALLEL_MIN_BYTES", 0)
        m.setattr(household_parse, "BATCH_ROWS", 2)
        m.setattr(imp, "BULK_MIN_ROWS", 0)
        m.setattr(imp, "parsed_batches", spy)
        assert _in_rollback(session, data, skip_invalid=True) == serial
        assert _in_rollback(session, data) == refused
    assert calls == ["r.csv", "r.csv"]  # the parser process did take both files
    assert serial[0]["written"] and serial[0]["error_count"] == 2 and len(serial[1]) == 11
    assert not refused[0]["written"] and refused[1] == []


def test_invalid_row_far_down_writes_nothing_and_keeps_indexes(
    session: Session, villages: None, bulk: None
) -> None:
    before = _indexes(session)
    assert set(DEFERRABLE_INDEXES) <= before
    report = imp.import_households(session, ACTOR, _register(10, bad_row=9), "r.csv")
    assert not report.written and [e.row for e in report.errors] == [16]
    assert session.exec(select(func.count()).select_from(Household)).one() == 0
    assert _indexes(session) == before  # the rollback brought the dropped indexes back


def test_large_load_builds_the_deferred_indexes_again(session: Session, villages: None, bulk: None) -> None:
    before = _indexes(session)
    during: list[set[str]] = []
    report = imp.import_households(
        session, ACTOR, _register(10), "r.csv", progress=lambda done, total: during.append(_indexes(session))
    )
    assert report.written and report.created == 10 and report.members == 14
    assert during and not set(DEFERRABLE_INDEXES) & during[0]  # maintained by nobody during the load
    assert _indexes(session) == before
    ids = _ids(11, seed=5)
    page, _ = list_households(session, ACTOR, HouseholdFilter(id_number=ids[7]))
    assert [p.register_no for p in page] == ["BK0007"]
    # a second load over the stored rows updates them (the table is no longer empty)
    again = imp.import_households(session, ACTOR, _register(10), "r.csv")
    assert again.updated == 10 and again.created == 0
    assert session.exec(select(func.count()).select_from(HouseholdMember)).one() == 14
    assert _indexes(session) == before


def test_parser_refusal_is_raised_in_the_importer(
    session: Session, villages: None, bulk: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imp, "MAX_ROWS", 5)
    with pytest.raises(TooLarge):
        imp.import_households(session, ACTOR, _register(10), "r.csv")
    assert session.exec(select(func.count()).select_from(Household)).one() == 0
    assert set(DEFERRABLE_INDEXES) <= _indexes(session)


@pytest.fixture
def no_leftover_children() -> Iterator[None]:
    import multiprocessing as mp

    yield
    assert not [p for p in mp.active_children() if p.name == "feijian-register-parser"]


def test_parser_process_ends_with_the_import(
    session: Session, villages: None, bulk: None, no_leftover_children: None
) -> None:
    assert imp.import_households(session, ACTOR, _register(6), "r.csv").written


def test_garbage_collection_is_paused_only_while_importing(session: Session, villages: None) -> None:
    import gc

    seen: list[bool] = []
    assert gc.isenabled()
    report = imp.import_households(
        session, ACTOR, _register(4), "r.csv", progress=lambda done, total: seen.append(gc.isenabled())
    )
    assert report.written and seen and not any(seen)
    assert gc.isenabled()
    gc.disable()
    try:  # an import inside a caller that has collection off leaves it off
        imp.import_households(session, ACTOR, _register(4), "r.csv")
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_an_error_in_the_importer_ends_the_parser_process(
    session: Session, villages: None, bulk: None
) -> None:
    import multiprocessing as mp

    def fail(done: int, total: int) -> None:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full") as caught:
        imp.import_households(session, ACTOR, _register(40), "r.csv", progress=fail)
    # the error (and its frames, holding the parser's batches) is still referenced here
    assert caught.tb is not None
    assert not [p for p in mp.active_children() if p.name == "feijian-register-parser"]
    assert session.exec(select(func.count()).select_from(Household)).one() == 0
