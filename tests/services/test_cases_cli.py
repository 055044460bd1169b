"""`feijian cases import` and `feijian cases replies` on a migrated SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlmodel import Session, select
from typer.testing import CliRunner

from models.application import Case
from models.db import make_engine
from models.migrate import upgrade
from services import case_flow
from services.context import Actor
from tests.services.test_cases_handling import _households

DATA = Path(__file__).resolve().parents[1] / "data" / "hotline"


def test_import_twice_then_export_the_replies(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from cli import common
    from cli.main import app

    eng = make_engine(f"sqlite:///{tmp_path}/cli.sqlite")
    upgrade(str(eng.url))
    with Session(eng, expire_on_commit=False) as s:
        _households(s)
        s.commit()
    monkeypatch.setattr(common, "engine", lambda: eng)
    runner = CliRunner()
    first = runner.invoke(app, ["cases", "import", str(DATA / "orders_gbk.csv")], env={"COLUMNS": "200"})
    assert first.exit_code == 0, first.output
    assert "受理坐席" in first.output
    again = runner.invoke(app, ["cases", "import", str(DATA / "orders_bad.csv")], env={"COLUMNS": "200"})
    assert again.exit_code == 0 and "工单编号 GD20261120000001 在文件中重复" in again.output, again.output
    with Session(eng, expire_on_commit=False) as s:
        case = s.exec(select(Case).where(Case.external_number == "GD20261102000101")).one()
        case_flow.answer(s, Actor.system("t"), case.id, "已补发。")
        s.commit()
    out = tmp_path / "replies.xlsx"
    done = runner.invoke(app, ["cases", "replies", str(out), "--hotline"])
    assert done.exit_code == 0, done.output
    rows = list(load_workbook(out).active.iter_rows(values_only=True))
    assert rows[1][0] == "GD20261102000101" and rows[1][5] == "已补发。"
    eng.dispose()
