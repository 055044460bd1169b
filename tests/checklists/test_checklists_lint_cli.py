"""Lint on shipped and broken definitions, and the `feijian checklists` commands."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from checklists import dump_checklist_yaml, lint_paths, load_checklist
from checklists.registry import DEFINITIONS_DIR
from cli.checklists import app

BROKEN = """
id: broken
version: 1
title: {zh-CN: "坏的", en: ""}
steps:
  - id: a
    kind: yes_no
    label: {zh-CN: "甲", en: "A"}
  - id: b
    kind: choice
    when: "${a} = 'yes' and ${a} = 'no'"
    label: {zh-CN: "乙", en: "B"}
    choices:
      - {id: x, label: {zh-CN: "X", en: "X"}}
      - {id: x, label: {zh-CN: "X2", en: "X2"}}
  - id: c
    kind: text
    when: "${d} = 'x' or ${ghost} = 'y'"
    label: {zh-CN: "丙", en: "C"}
  - id: d
    kind: number
    label: {zh-CN: "丁", en: "D"}
    validation: {min: 0, max: 10}
findings:
  - id: never
    when: "${d} > 100"
    category: procedure
    severity: low
    message: {zh-CN: "不会", en: "Never ${nobody}"}
  - id: never
    when: "${b} = 'x'"
    category: procedure
    severity: low
    message: {zh-CN: "乙", en: "B"}
"""


def test_shipped_definitions_are_clean() -> None:
    loaded, problems = lint_paths([DEFINITIONS_DIR])
    assert problems == []
    assert {c.id for c in loaded} == {
        "home_visit",
        "notice_board",
        "village_panel",
        "township_files",
        "township_review",
    }


def test_broken_definition_names_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN, encoding="utf-8")
    _loaded, problems = lint_paths([path])
    got = {(p.code, p.where) for p in problems}
    assert ("missing_translation", "title") in got
    assert ("unreachable_step", "steps.b") in got
    assert ("duplicate_id", "steps.b.choices") in got
    assert ("forward_reference", "steps.c.when") in got
    assert ("unknown_reference", "steps.c.when") in got
    assert ("finding_never_fires", "findings.never") in got
    assert ("unknown_reference", "findings.never.message") in got
    assert ("duplicate_id", "findings.never") in got
    # b can never be asked, so a rule on b can never fire either.
    assert sum(1 for p in problems if p.code == "finding_never_fires") == 2


def test_schema_errors_and_duplicates_are_named(tmp_path: Path) -> None:
    (tmp_path / "dup_steps.yaml").write_text(
        "id: x\nversion: 1\ntitle: {zh-CN: a, en: a}\nsteps:\n"
        "  - {id: s, kind: note, label: {zh-CN: a, en: a}}\n"
        "  - {id: s, kind: bogus, label: {zh-CN: a, en: a}}\n",
        encoding="utf-8",
    )
    (tmp_path / "bad_expr.yaml").write_text(
        "id: y\nversion: 1\ntitle: {zh-CN: a, en: a}\nsteps:\n"
        "  - {id: s, kind: note, when: \"eval('1')\", label: {zh-CN: a, en: a}}\n",
        encoding="utf-8",
    )
    (tmp_path / "copy.yaml").write_text(dump_checklist_yaml(load_checklist("notice_board")), encoding="utf-8")
    (tmp_path / "copy2.yaml").write_text(
        dump_checklist_yaml(load_checklist("notice_board")), encoding="utf-8"
    )
    (tmp_path / "not_yaml.yaml").write_text("id: [unclosed", encoding="utf-8")
    _loaded, problems = lint_paths([tmp_path])
    text = "\n".join(map(str, problems))
    assert "steps.1.kind" in text  # unknown step kind
    assert "unsupported function eval()" in text
    assert "duplicate_checklist" in text
    assert "unreadable" in text


def test_cli_check_passes_on_shipped_and_fails_on_broken(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["check"])
    assert ok.exit_code == 0, ok.output
    assert "home_visit@1" in ok.output
    bad = tmp_path / "broken.yaml"
    bad.write_text(BROKEN, encoding="utf-8")
    res = runner.invoke(app, ["check", str(bad)])
    assert res.exit_code == 1
    assert "unreachable_step" in res.output and "finding_never_fires" in res.output


def test_cli_import_writes_loadable_yaml_and_refuses_with_rows(tmp_path: Path) -> None:
    from test_checklists_xlsform import make_form

    runner = CliRunner()
    form = make_form(tmp_path / "f.xlsx")
    out = tmp_path / "f.yaml"
    res = runner.invoke(app, ["import", str(form), "--out", str(out)])
    assert res.exit_code == 0, res.output
    data = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert data["id"] == "household_check"
    assert runner.invoke(app, ["check", str(out)]).exit_code == 0
    bad = make_form(tmp_path / "bad.xlsx", [["audio", "a", "录音", "Audio"]])
    res = runner.invoke(app, ["import", str(bad)])
    assert res.exit_code == 1
    assert "audio" in res.output and "2" in res.output
    assert runner.invoke(app, ["list"]).exit_code == 0
