"""Shared fixtures for the media tests: where ../shared/testdata lives."""

from __future__ import annotations

from pathlib import Path

import pytest

TESTDATA = Path(__file__).resolve().parents[2].parent / "shared" / "testdata"
PHOTOS = TESTDATA / "photos"


@pytest.fixture(scope="session")
def photos_dir() -> Path:
    """The shared photos folder, or skip when the checkout has no ../shared/testdata."""
    if not PHOTOS.is_dir():
        pytest.skip(f"shared test photos not found at {PHOTOS} (expected next to the repository)")
    return PHOTOS


def photo(name: str) -> Path:
    """Path of one shared photo, skipping the test when it is absent."""
    path = PHOTOS / name
    if not path.is_file():
        pytest.skip(f"shared test photo {name} not found under {PHOTOS}")
    return path
