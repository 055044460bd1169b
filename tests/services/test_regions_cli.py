"""`feijian regions load`: a table per level for every file, a clear line and exit 1 for a refused one."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from models.db import make_engine
from models.migrate import upgrade
from models.region import Region

DATA = Path(__file__).resolve().parent.parent / "data" / "regions"


@pytest.fixture
def cli_engine(monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """A fresh SQLite store of its own (the CLI commits for real); the service tests cover PostgreSQL."""
    from cli import common

    eng = make_engine(f"sqlite:///{tempfile.mkdtemp(prefix='feijian-regions-cli-')}/store.sqlite")
    upgrade(str(eng.url))
    monkeypatch.setattr(common, "engine", lambda: eng)
    monkeypatch.setenv("FEIJIAN_DEFAULT_LANGUAGE", "en")
    from services.config import get_settings

    get_settings.cache_clear()
    yield eng
    get_settings.cache_clear()
    eng.dispose()


def _run(*args: str) -> tuple[int, str]:
    from cli.main import app

    result = CliRunner().invoke(app, ["regions", "load", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_the_report_is_a_table_per_level_with_reasons(cli_engine: Engine) -> None:
    code, out = _run(str(DATA / "areacity_2019_ok_data_level3_excerpt.csv"), "--edition", "2019")
    assert code == 0, out
    assert "Region load: CSV (id,pid,deep,name" in out
    for word in ("level", "added", "renamed", "unchanged", "skipped", "province", "city", "county"):
        assert word in out
    assert "why skipped" in out and "×3" in out
    flat = " ".join(out.split())
    assert "line 15 9001 香港 Hong Kong, Macao and Taiwan are not in the mainland register" in flat
    assert "line 22 910101 海外 abroad or a pseudo-province" in flat
    assert "11 codes: 11 added, 0 renamed, 0 unchanged, 10 skipped" in out
    with Session(cli_engine) as s:
        assert s.exec(select(func.count()).select_from(Region)).one() == 11
    code, again = _run(str(DATA / "areacity_2019_ok_data_level3_excerpt.csv"))
    assert code == 0 and "11 codes: 0 added, 0 renamed, 11 unchanged, 10 skipped" in again


def test_the_12_digit_tree_notes_the_county_stand_in(cli_engine: Engine) -> None:
    code, out = _run(str(DATA / "tree_12digit_excerpt.json"))
    assert code == 0, out
    assert "Region load: JSON nested tree" in out and "441900" in out


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"", "The region file is empty. Accepted shapes"),
        (b"province;town\nx;y\n", "Unrecognised region file. Accepted shapes"),
        (b"{oops", "The region file is not valid JSON"),
        (b"code,name\n15," + b"x" * 20_000 + b"\n", "Cannot read line 2 of the region file"),
        (b"\x80\x80\xff\xfe\x81", "Cannot decode the region file"),
    ],
)
def test_a_refused_file_gives_one_clear_line_and_no_traceback(
    cli_engine: Engine, tmp_path: Path, body: bytes, expected: str
) -> None:
    path = tmp_path / "regions.json"
    path.write_bytes(body)
    code, out = _run(str(path))
    assert code == 1
    assert expected in " ".join(out.split()) and "Traceback" not in out


def test_a_missing_or_unreadable_path_is_a_clear_line(cli_engine: Engine, tmp_path: Path) -> None:
    code, out = _run(str(tmp_path / "nowhere.csv"))
    assert code == 1 and "nowhere.csv not found" in " ".join(out.split()) and "Traceback" not in out
    empty = tmp_path / "folder"
    empty.mkdir()
    code, out = _run(str(empty))
    assert code == 1 and "No provinces/cities/areas/streets/villages CSV" in " ".join(out.split())
