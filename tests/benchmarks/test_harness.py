"""The benchmark harness runs: a few iterations against SQLite only, no peers.

Only the shape of the report is checked, never a speed: CI machines are shared and
timings there mean nothing. The real runs are ``make bench`` / ``make bench-quick``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture
def harness(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    from sdbbench.workloads import Context

    yield Context(workdir=tmp_path, quick=True, tiny=True, echo=False)
    for name in [m for m in sys.modules if m == "sdbbench" or m.startswith("sdbbench.")]:
        del sys.modules[name]


def _table_rows(lines: list[str], first_cell: str) -> list[list[str]]:
    rows = []
    for line in "\n".join(lines).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0] == first_cell:
            rows.append(cells)
    return rows


def test_append_workload_reports_sessiondb_and_raw_at_both_durabilities(harness):
    from sdbbench.workloads import w1_append_latency

    w1_append_latency(harness)

    for durability in ("normal", "full"):
        ours = _table_rows(harness.lines, f"sessiondb ({durability})")
        raw = _table_rows(harness.lines, f"raw sqlite3 + sessions + FTS5 ({durability})")
        assert len(ours) == 1
        assert len(raw) == 1
        assert raw[0][5] == "1.00×"  # the lower bound is its own reference
        assert ours[0][5].endswith("×")
        assert harness.headline[f"append_{durability}_ratio"] > 0


def test_list_workload_reports_a_median_for_sessiondb(harness):
    from sdbbench.workloads import w4_list_sessions

    w4_list_sessions(harness)

    (row,) = _table_rows(harness.lines, "sessiondb (normal)")
    assert row[1].endswith("µs") or row[1].endswith("ms")
    assert harness.headline["list20_us"] > 0


def test_concurrent_writers_lose_nothing_on_sessiondb(harness):
    from sdbbench.subjects import SessionDB
    from sdbbench.workloads import Factory, run_writers

    result = run_writers(harness, Factory(SessionDB, "normal"), "w5", 2, 6, True)

    assert (result["stored"], result["lost"], result["duplicated"]) == (12, 0, 0)
    assert result["errors"] == 0
    assert result["gaps"] == "0"
