"""The fault campaign's summary: one line of counts per database, shown at the end of `pytest -q`."""

from __future__ import annotations

from typing import Any

REPORT: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Prints the campaign's counts (faults by kind, updates, duplicates, lost) after the run."""
    if REPORT:
        terminalreporter.section("fault campaign")
        for line in REPORT:
            terminalreporter.write_line(line)
