"""Helpers for importer tests: the fixture folder and copies to grow in tmp_path."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture
def data() -> Path:
    """The real (and constructed) sample files, with their PROVENANCE.md."""
    return DATA


def copy_of(src: Path, tmp_path: Path) -> Path:
    """A writable copy of a sample file (the samples themselves stay untouched)."""
    dest = tmp_path / "src" / src.name
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    return dest


@pytest.fixture
def copy(tmp_path: Path):  # type: ignore[no-untyped-def]
    """copy(src) -> a writable copy of a sample file under tmp_path."""
    return lambda src: copy_of(src, tmp_path)
