"""One enum per meaning: no StrEnum name defined twice, no two StrEnums (or Literals) with one value set."""

from __future__ import annotations

import importlib
import pkgutil
from collections import defaultdict
from enum import StrEnum
from types import ModuleType
from typing import Literal, get_args, get_origin

import pytest

# Every package of the product; the migrations are scripts Alembic runs, not modules to import.
PACKAGES = (
    "contracts",
    "models",
    "services",
    "media",
    "checklists",
    "api",
    "cli",
    "bot",
    "sandbox",
    "locales",
)
SKIP = ("models.migrations",)


def _modules() -> list[ModuleType]:
    """Every module of the product's packages, imported."""
    out: list[ModuleType] = []
    for name in PACKAGES:
        pkg = importlib.import_module(name)
        out.append(pkg)
        for info in pkgutil.walk_packages(pkg.__path__, prefix=f"{name}."):
            if info.name.startswith(SKIP) or info.name.endswith("__main__"):
                continue
            out.append(importlib.import_module(info.name))
    return out


@pytest.fixture(scope="module")
def modules() -> list[ModuleType]:
    """The product's modules, imported once for every test here."""
    return _modules()


def _str_enums(modules: list[ModuleType]) -> dict[str, list[type[StrEnum]]]:
    """StrEnum classes by name, each counted in the module that defines it (not where it is re-exported)."""
    found: dict[str, list[type[StrEnum]]] = defaultdict(list)
    seen: set[type[StrEnum]] = set()
    for mod in modules:
        for obj in vars(mod).values():
            if (
                isinstance(obj, type)
                and issubclass(obj, StrEnum)
                and obj is not StrEnum
                and obj.__module__ == mod.__name__
                and obj not in seen
            ):
                seen.add(obj)
                found[obj.__name__].append(obj)
    return found


def test_scan_sees_the_shared_enums(modules: list[ModuleType]) -> None:
    """The scan finds the shared vocabulary (so the checks below are not vacuous)."""
    names = set(_str_enums(modules))
    assert {"Severity", "Datum", "EvidenceSource", "SiteStatus", "Outcome", "NoticeKind", "JobKind"} <= names


def test_no_str_enum_name_defined_twice(modules: list[ModuleType]) -> None:
    """A StrEnum name means one thing: it is defined in one module and imported everywhere else."""
    twice = {
        name: sorted(f"{c.__module__}.{c.__qualname__}" for c in classes)
        for name, classes in _str_enums(modules).items()
        if len(classes) > 1
    }
    assert twice == {}, twice


def test_no_two_str_enums_with_the_same_values(modules: list[ModuleType]) -> None:
    """Two StrEnums holding the same values are one meaning spelled twice."""
    by_values: dict[frozenset[str], list[str]] = defaultdict(list)
    for classes in _str_enums(modules).values():
        for c in classes:
            by_values[frozenset(m.value for m in c)].append(f"{c.__module__}.{c.__qualname__}")
    twice = {tuple(sorted(v)): sorted(names) for v, names in by_values.items() if len(names) > 1}
    assert twice == {}, twice


def test_no_literal_type_repeats_a_str_enum(modules: list[ModuleType]) -> None:
    """A module-level Literal type with an enum's exact values is that enum spelled a second time."""
    enums = {
        frozenset(m.value for m in c): f"{c.__module__}.{c.__qualname__}"
        for classes in _str_enums(modules).values()
        for c in classes
    }
    repeats: list[str] = []
    for mod in modules:
        for attr, obj in vars(mod).items():
            if get_origin(obj) is Literal:
                values = frozenset(str(a) for a in get_args(obj))
                if values in enums:
                    repeats.append(f"{mod.__name__}.{attr} repeats {enums[values]}")
    assert repeats == [], repeats
