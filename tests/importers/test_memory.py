"""Streaming: a line reader's memory is bounded by its longest line, not by the file.

Each test writes a few MB of generated transcript and runs the format's reader alone
(records consumed and dropped, as the writer does batch by batch) under tracemalloc.
A reader that held its messages back until the end of the file (Codex did in the bare
era, waiting for a token_count that never came) peaks at several times the file size.

pi is the exception by design: its entries form a tree whose branches are only known
at the end, so the reader keeps the file's entries (pi files are small; see pi.py).
"""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from sessiondb import connect
from sessiondb.importers import FORMATS
from sessiondb.importers._common import Context

LINES = 4000
TEXT = "lorem ipsum dolor sit amet " * 24  # ~650 bytes a line


def _codex_bare(n: int) -> dict[str, object]:
    role = "user" if n % 2 == 0 else "assistant"
    kind = "input_text" if role == "user" else "output_text"
    return {"type": "message", "role": role, "content": [{"type": kind, "text": f"{n} {TEXT}"}]}


def _codex_wrapped(n: int) -> dict[str, object]:
    if n % 3 == 2:
        usage = {"input_tokens": n * 10, "output_tokens": n, "cached_input_tokens": n}
        payload: dict[str, object] = {"type": "token_count", "info": {"total_token_usage": usage}}
        return {"timestamp": "2026-01-01T00:00:00Z", "type": "event_msg", "payload": payload}
    return {"timestamp": "2026-01-01T00:00:00Z", "type": "response_item", "payload": _codex_bare(n)}


def _claude(n: int) -> dict[str, object]:
    kind = "user" if n % 2 == 0 else "assistant"
    message: dict[str, object] = {"role": kind, "content": [{"type": "text", "text": TEXT}]}
    if kind == "assistant":
        message.update(id=f"msg_{n // 4}", usage={"input_tokens": n, "output_tokens": n % 7})
    return {
        "type": kind,
        "uuid": f"uuid-{n}",
        "parentUuid": f"uuid-{n - 1}",
        "sessionId": "memory",
        "timestamp": "2026-01-01T00:00:00Z",
        "message": message,
    }


def _chat(n: int) -> dict[str, object]:
    return {"role": "user" if n % 2 == 0 else "assistant", "content": f"{n} {TEXT}"}


def _openhuman(n: int) -> dict[str, object]:
    return {"id": f"m{n}", **_chat(n), "ts": "2026-01-01T00:00:00Z"}


def _goose(n: int) -> dict[str, object]:
    return {
        "id": f"msg_{n}",
        "role": "user" if n % 2 == 0 else "assistant",
        "created": 1767225600 + n,
        "content": [{"type": "text", "text": TEXT}],
    }


def _export(n: int) -> dict[str, object]:
    return {"id": f"m{n}", "item": _chat(n), "created_at": "2026-01-01T00:00:00+00:00"}


# (format, file name, header line or None, line maker)
CASES: list[tuple[str, str, dict[str, object] | None, Callable[[int], dict[str, object]]]] = [
    (
        "codex",
        "rollout-bare.jsonl",
        {"id": "bare", "timestamp": "2025-04-18T10:00:00Z", "instructions": "x"},
        _codex_bare,
    ),
    (
        "codex",
        "rollout-wrapped.jsonl",
        {"timestamp": "2026-01-01T00:00:00Z", "type": "session_meta", "payload": {"id": "w"}},
        _codex_wrapped,
    ),
    ("claude_code", "memory.jsonl", None, _claude),
    ("nanobot", "cli_memory.jsonl", {"_type": "metadata", "key": "cli:memory"}, _chat),
    ("openhuman", "1_memory.jsonl", {"_meta": {"agent": "a", "model": "m"}}, _openhuman),
    ("picoclaw", "memory.jsonl", None, _chat),
    ("goose", "20260101_000000.jsonl", {"working_dir": "/w", "description": "d"}, _goose),
    ("openai_chat", "memory.jsonl", None, _chat),
    ("sessiondb", "export.jsonl", {"sessiondb_export": 1, "session": {"id": "e"}}, _export),
]


def _write(
    path: Path,
    header: dict[str, object] | None,
    line: Callable[[int], object],
    lines: int = LINES,
) -> None:
    with path.open("w", encoding="utf-8") as out:
        if header is not None:
            out.write(json.dumps(header) + "\n")
        for n in range(lines):
            out.write(json.dumps(line(n)) + "\n")


def _peak_reading(fmt: str, path: Path) -> tuple[int, int]:
    """(records, peak bytes allocated) while the reader of ``fmt`` reads ``path``."""
    tracemalloc.start()
    try:
        records = sum(1 for _ in FORMATS[fmt].read(Context(path)))
        return records, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(
    ("fmt", "name", "header", "line"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES]
)
def test_reader_memory_is_bounded_by_a_line_not_the_file(
    tmp_path: Path,
    fmt: str,
    name: str,
    header: dict[str, object] | None,
    line: Callable[[int], dict[str, object]],
) -> None:
    path = tmp_path / name
    _write(path, header, line)
    if fmt == "picoclaw":
        (tmp_path / "memory.meta.json").write_text('{"key": "memory", "skip": 0}')
    size = path.stat().st_size
    assert size > 2_000_000
    records, peak = _peak_reading(fmt, path)
    assert records >= LINES * 2 // 3
    # The largest line is ~1 KB; per-id bookkeeping (Claude Code's uuids) is far less
    # than the messages themselves. Holding the messages would peak above the file size.
    assert peak < size // 4, f"{peak} bytes at peak for a {size}-byte file"


def _peak_importing(path: Path, db: Path) -> int:
    with connect(db) as store:
        tracemalloc.start()
        try:
            report = store.import_path(path)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert report.errors == {}
        assert report.messages_added == store.get_session("codex:bare").message_count
    return peak


def test_a_bare_era_codex_import_holds_one_batch_at_a_time(tmp_path: Path) -> None:
    small, large = tmp_path / "small.jsonl", tmp_path / "large.jsonl"
    _write(small, CASES[0][2], _codex_bare, lines=2000)
    _write(large, CASES[0][2], _codex_bare, lines=8000)
    small_peak = _peak_importing(small, tmp_path / "small.db")
    large_peak = _peak_importing(large, tmp_path / "large.db")
    # One batch (BATCH_SIZE messages) at a time: four times the file, the same peak.
    assert large_peak < small_peak * 1.3, (small_peak, large_peak)
    assert large_peak < large.stat().st_size
