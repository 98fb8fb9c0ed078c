"""Reliability suite: bounded in CI; `make stress` (SESSIONDB_STRESS=1) runs it longer.

Each test records what it checked in ``COUNTS``; the totals are printed at the end of the
run, so a CI log shows how many rounds, examples and messages were really verified.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest

STRESS = os.environ.get("SESSIONDB_STRESS", "") not in ("", "0")
COUNTS: Counter[str] = Counter()


def scale(ci: int, stress: int) -> int:
    """The CI figure, or the stress figure under ``make stress``."""
    return stress if STRESS else ci


def backend(url: str) -> str:
    """ "sqlite" or "postgres": the label a count is filed under for a store's URL."""
    return "sqlite" if url.startswith("sqlite") or "://" not in url else "postgres"


@pytest.fixture
def counts() -> Counter[str]:
    """Add what a test verified: ``counts["crash rounds"] += 1``."""
    return COUNTS


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if COUNTS:
        terminalreporter.section("reliability: what was checked")
        for name, value in sorted(COUNTS.items()):
            terminalreporter.write_line(f"{name}: {value}")
