"""Loading checklist definitions: the YAML files shipped in `definitions/` and any file given by path."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict

from checklists.messages import ChecklistError
from checklists.schema import Checklist

DEFINITIONS_DIR = Path(__file__).resolve().parent / "definitions"


class ChecklistInfo(BaseModel):
    """A catalog entry: id, version and title of a shipped checklist."""

    model_config = ConfigDict(frozen=True)

    id: str
    version: int
    title_zh: str
    title_en: str


def parse_checklist(data: Any) -> Checklist:
    """Validate a parsed YAML/JSON mapping as a Checklist (raises pydantic.ValidationError)."""
    return Checklist.model_validate(data)


def load_checklist_file(path: str | Path) -> Checklist:
    """Read and validate one YAML definition file."""
    with Path(path).open(encoding="utf-8") as fh:
        return parse_checklist(yaml.safe_load(fh))


def dump_checklist_yaml(checklist: Checklist) -> str:
    """Serialize a checklist as YAML in the same shape the definitions use."""
    data = checklist.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=110)


@lru_cache(maxsize=1)
def _shipped() -> dict[tuple[str, int], Checklist]:
    out: dict[tuple[str, int], Checklist] = {}
    for path in sorted(DEFINITIONS_DIR.glob("*.yaml")):
        cl = load_checklist_file(path)
        out[(cl.id, cl.version)] = cl
    return out


def load_checklist(checklist_id: str, version: int | None = None) -> Checklist:
    """Return a shipped checklist; the latest version unless one is pinned. Raises ChecklistError."""
    shipped = _shipped()
    if version is not None:
        cl = shipped.get((checklist_id, version))
    else:
        versions = [v for (cid, v) in shipped if cid == checklist_id]
        cl = shipped[(checklist_id, max(versions))] if versions else None
    if cl is None:
        raise ChecklistError("unknown_checklist", id=checklist_id, version="" if version is None else version)
    return cl


def list_checklists(all_versions: bool = False) -> list[ChecklistInfo]:
    """List shipped checklists (latest version of each unless `all_versions`), sorted by id."""
    latest: dict[str, Checklist] = {}
    rows: list[Checklist] = []
    for (cid, _v), cl in sorted(_shipped().items()):
        rows.append(cl)
        latest[cid] = cl
    chosen = rows if all_versions else list(latest.values())
    return [
        ChecklistInfo(id=c.id, version=c.version, title_zh=c.title.zh_CN, title_en=c.title.en) for c in chosen
    ]
