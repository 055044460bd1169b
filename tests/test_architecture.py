"""Structure rules that a reader of the code relies on (the import rules themselves run in `make lint`)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = (
    "api",
    "bot",
    "cli",
    "contracts",
    "services",
    "models",
    "checklists",
    "media",
    "sandbox",
    "locales",
)
# The one bot module allowed to spell store paths (the endpoint table of the typed store client).
STORE_PATH_MODULES = {"bot/store_endpoints.py"}


def _sources(*packages: str) -> list[Path]:
    return sorted(p for pkg in packages for p in (ROOT / pkg).rglob("*.py") if "migrations" not in p.parts)


def _store_roots() -> set[str]:
    """The first segment of every store path, as the API publishes them."""
    from api.app import create_app
    from services.config import Settings

    roots: set[str] = set()
    for path in create_app(Settings(env="test")).openapi()["paths"]:
        parts = [p for p in path.removeprefix("/api/v1").split("/") if p]
        if parts and not parts[0].startswith("{"):
            roots.add(parts[0])
    return roots


def test_no_store_path_in_the_bot_outside_the_store_client() -> None:
    roots = _store_roots()
    assert {"visits", "telegram", "me", "rounds"} <= roots
    pattern = re.compile(r"^/(?:api/v1/)?(" + "|".join(sorted(map(re.escape, roots))) + r")(/|$)")
    found = []
    for path in _sources("bot"):
        rel = str(path.relative_to(ROOT))
        if rel in STORE_PATH_MODULES:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and pattern.match(node.value):
                found.append(f"{rel}:{node.lineno} {node.value!r}")
            if isinstance(node, ast.JoinedStr) and node.values:
                head = node.values[0]
                text = head.value if isinstance(head, ast.Constant) else None
                if isinstance(text, str) and pattern.match(text):
                    found.append(f"{rel}:{node.lineno} f{text!r}…")
    assert found == []


def test_the_bot_has_one_outbox_table() -> None:
    from bot import tables

    outboxes = [name for name in tables.metadata.tables if "outbox" in name or "pending" in name]
    assert outboxes == ["outbox"]


def test_one_definition_per_vocabulary_enum() -> None:
    definitions: dict[str, list[str]] = {}
    for path in _sources(*PACKAGES):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and node.name in ("Severity", "Datum", "FindingSeverity"):
                definitions.setdefault(node.name, []).append(str(path.relative_to(ROOT)))
    assert definitions == {"Severity": ["contracts/vocab.py"], "Datum": ["contracts/vocab.py"]}
