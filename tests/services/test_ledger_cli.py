from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from models.db import make_engine
from models.migrate import upgrade
from services import findings_review
from services.rounds import local_today
from tests.ledger_helpers import cast, finding


def test_ledger_list_and_show(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from cli import common
    from cli.main import app

    eng = make_engine(f"sqlite:///{tmp_path}/cli.sqlite")
    upgrade(str(eng.url))
    with Session(eng, expire_on_commit=False) as s:
        c = cast(s, "LB900")
        item = findings_review.confirm(s, c.sup, finding(s, c.sup, c.household).id)
        item.deadline = local_today() - timedelta(days=2)
        s.add(item)
        s.commit()
    monkeypatch.setattr(common, "engine", lambda: eng)
    runner = CliRunner()
    listed = runner.invoke(app, ["ledger", "list", "--overdue"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0, listed.output
    assert "LB900" in listed.output and str(item.id) in listed.output
    empty = runner.invoke(app, ["ledger", "list", "--state", "closed"], env={"COLUMNS": "200"})
    assert "LB900" not in empty.output
    shown = runner.invoke(app, ["ledger", "show", str(item.number)], env={"COLUMNS": "200"})
    assert shown.exit_code == 0 and "overdue" in shown.output and "open" in shown.output, shown.output
    missing = runner.invoke(app, ["ledger", "show", "999999"])
    assert missing.exit_code == 1
    eng.dispose()
