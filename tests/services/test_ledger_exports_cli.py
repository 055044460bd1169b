from __future__ import annotations

import pytest
from docx import Document
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlmodel import Session
from typer.testing import CliRunner

from models.db import make_engine
from models.migrate import upgrade
from services import findings_review
from tests.ledger_helpers import cast, finding


def test_ledger_export_notice_and_summary_commands(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from cli import common
    from cli.main import app

    eng = make_engine(f"sqlite:///{tmp_path}/cli.sqlite")
    upgrade(str(eng.url))
    with Session(eng, expire_on_commit=False) as s:
        c = cast(s, "LBC1")
        item = findings_review.confirm(s, c.sup, finding(s, c.sup, c.household).id)
        s.commit()
    monkeypatch.setattr(common, "engine", lambda: eng)
    runner = CliRunner()
    env = {"COLUMNS": "200"}
    out = tmp_path / "ledger.xlsx"
    done = runner.invoke(app, ["ledger", "export", "--state", "open", "-o", str(out)], env=env)
    assert done.exit_code == 0, done.output
    rows = list(load_workbook(out).active.iter_rows(values_only=True))
    assert rows[1][0] == item.number and "1 条" in done.output
    done = runner.invoke(app, ["ledger", "export", "--state", "closed", "-o", str(out)], env=env)
    assert done.exit_code == 0 and len(list(load_workbook(out).active.iter_rows())) == 1
    pdf, docx = tmp_path / "n.pdf", tmp_path / "n.docx"
    unit = item.responsible_region_code
    for path in (pdf, docx):
        done = runner.invoke(app, ["ledger", "notice", "--unit", unit, "-o", str(path)], env=env)
        assert done.exit_code == 0, done.output
    assert "整改通知书" in PdfReader(pdf).pages[0].extract_text()
    assert Document(str(docx)).paragraphs[0].text == "整改通知书"
    bad = runner.invoke(app, ["ledger", "notice", "--unit", unit, "-o", str(tmp_path / "n.txt")])
    assert bad.exit_code == 2
    missing = runner.invoke(app, ["ledger", "notice", "--unit", "999999999", "-o", str(pdf)])
    assert missing.exit_code == 1
    summary = runner.invoke(app, ["ledger", "summary"], env=env)
    assert summary.exit_code == 0, summary.output
    assert "not_eligible" in summary.output and "overdue" in summary.output
    eng.dispose()
