"""The bot stays small: no module in bot/ over 400 lines, no handler function over 60 lines."""

from __future__ import annotations

import ast
from pathlib import Path

BOT = Path(__file__).resolve().parents[2] / "bot"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def test_modules_and_functions_stay_small() -> None:
    too_long: list[str] = []
    for path in sorted(BOT.rglob("*.py")):
        source = path.read_text()
        lines = len(source.splitlines())
        if lines > MAX_MODULE_LINES:
            too_long.append(f"{path.relative_to(BOT)}: {lines} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{path.relative_to(BOT)}:{node.lineno} {node.name}: {length} lines")
    assert too_long == []


def test_no_store_path_outside_the_endpoint_table() -> None:
    allowed = {"store_endpoints.py"}
    found = [
        str(p.relative_to(BOT))
        for p in BOT.rglob("*.py")
        if p.name not in allowed and any(s in p.read_text() for s in ('"/visits', '"/telegram/', '"/me/'))
    ]
    assert found == []
