"""Hostile input to every importer: each format is its own target, fuzzed with at least
1,000 hypothesis examples on SQLite in CI (PostgreSQL runs ``PG_EXAMPLES`` of each, 1,000
under ``make stress``: every example there costs a dozen server round trips).

Text formats get truncation, inserted bytes, fields of the wrong type and hostile strings
(escaped lone surrogates, NUL, NaN) in their sample files; the SQLite-source formats get
fuzzed rows (see ``_sources``) and, sometimes, damaged file bytes on top. Every example
must end in a report whose errors are ``BadTranscript`` (or "format not recognized"),
never a traceback, and the store is checked after each one: every session the report
names is stored, complete and consistent (contiguous seqs, counters and usage equal to a
recount, tool calls pointing at their messages, exportable) and a refused file leaves no
session behind. The store is emptied between examples and reused, to keep CI fast.
"""

from __future__ import annotations

import functools
import math
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sessiondb import ImportReport, NotFound, Session, Store, connect
from sessiondb.importers import FORMATS, detect_format
from sessiondb.importers._writer import fingerprint
from tests.importers.test_fuzz import DATA, SAMPLES, _wrong_type

from ._hostile import HOSTILE_TEXT, PLAIN_VALUES
from ._sources import SOURCES
from .conftest import STRESS, backend, scale

SQLITE_EXAMPLES = scale(1000, 5000)
PG_EXAMPLES = scale(100, 1000)

TEXT_SAMPLES: dict[str, list[str | None]] = {}
for _fmt, _rel in SAMPLES:
    TEXT_SAMPLES.setdefault(_fmt, []).append(_rel)
SOURCE_FORMATS = sorted(SOURCES)
assert set(TEXT_SAMPLES) | set(SOURCES) == set(FORMATS), "an importer has no fuzz target"

HOSTILE_JSON = HOSTILE_TEXT | st.sampled_from([math.nan, math.inf]) | PLAIN_VALUES
MUTATIONS = ["truncate", "insert bytes", "wrong type", "hostile string", "all"]


def _examples(store: Store) -> int:
    return SQLITE_EXAMPLES if backend(store.url) == "sqlite" else PG_EXAMPLES


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


@functools.cache
def _sample(rel: str | None) -> tuple[bytes, str]:
    """A sample file's bytes and name; None is a sessiondb export, made once."""
    if rel is not None:
        return (DATA / rel).read_bytes(), Path(rel).name
    with tempfile.TemporaryDirectory() as tmp, connect(Path(tmp) / "origin.db") as origin:
        origin.import_path(DATA / "codex" / "agentlogs_real_codex-0.89.0_crud.jsonl")
        text = origin.export("codex:019bf4b5-e7b0-75a0-8bf2-05fbf1b13c9b")
    return text.encode(), "export.jsonl"


def _mutate(raw: bytes, data: st.DataObject, seen: Counter[str], target: str) -> bytes:
    kind = data.draw(st.sampled_from(MUTATIONS))
    seen[f"{target}: {kind}"] += 1
    if kind in ("wrong type", "all"):
        raw = _wrong_type(raw, data)
    if kind in ("hostile string", "all"):
        raw = _wrong_type(raw, data, HOSTILE_JSON)
    if kind in ("insert bytes", "all"):
        at = data.draw(st.integers(0, len(raw)))
        raw = raw[:at] + data.draw(st.binary(min_size=1, max_size=8)) + raw[at:]
    if kind in ("truncate", "all"):
        raw = raw[: data.draw(st.integers(0, len(raw)))]
    return raw


def _all_sessions(store: Store) -> list[Session]:
    sessions: list[Session] = []
    cursor = None
    while True:
        page = store.list_sessions(limit=200, cursor=cursor)
        sessions.extend(page.items)
        if page.next_cursor is None:
            return sessions
        cursor = page.next_cursor


# Formats whose files carry a session's own usage totals, and its own seqs.
OWN_TOTALS = frozenset({"goose", "goose_db", "openhuman", "sessiondb"})
OWN_SEQS = frozenset({"sessiondb"})


def _usage_totals(values: list[Any]) -> tuple[int, ...]:
    names = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
    return tuple(sum(getattr(u, n) or 0 for u in values if u is not None) for n in names)


def verify_and_clear(store: Store, report: ImportReport, path: Path, fmt: str | None) -> int:
    """Assert the import of ``path`` into the (until now empty) ``store`` left a clean
    report and only complete, consistent sessions; delete them; return messages checked."""
    for error in report.errors.values():
        assert error.startswith("BadTranscript:") or error == "format not recognized", error
    sessions = _all_sessions(store)
    if report.errors:
        assert sessions == [], "a refused file left a session behind"
    assert {s.id for s in sessions} == set(report.session_ids)
    assert report.sessions_created == len(sessions)
    assert report.sessions_updated == 0
    checked = 0
    name = fmt or detect_format(path)
    for session in sessions:
        messages = store.messages(session.id)
        seqs = [m.seq for m in messages]
        # Contiguous; from 1 unless a sessiondb export said its session had been truncated.
        first = seqs[0] if seqs else session.last_seq + 1
        if name not in OWN_SEQS:
            assert first == 1, f"{session.id}: seqs {seqs}"
        assert seqs == list(range(first, first + len(messages))), f"{session.id}: seqs {seqs}"
        assert session.message_count == len(messages)
        assert session.last_seq == (seqs[-1] if seqs else first - 1)
        assert len({m.id for m in messages}) == len(messages)
        got = _usage_totals([session.usage])
        recorded = _usage_totals([m.usage for m in messages])
        # Sources with session totals of their own keep them, never below what the
        # messages recorded; for the others the totals are exactly the messages' sum.
        if name in OWN_TOTALS:
            assert all(g >= r for g, r in zip(got, recorded, strict=True)), session.id
        else:
            assert got == recorded, session.id
        by_seq = {m.seq: m for m in messages}
        for call in store.tool_calls(session.id):
            request = by_seq[call.request_seq]
            assert call.call_id in {c.call_id for c in request.tool_calls}, call
            if call.result_seq is not None:
                assert by_seq[call.result_seq].tool_call_id == call.call_id, call
        if session.parent_id is not None:
            assert store.get_session(session.parent_id).id != session.id
        for kind in ("jsonl", "markdown", "openai"):
            store.export(session.id, kind)
        checked += len(messages)
    assert checked == report.messages_added
    if sessions and not report.errors and name is not None and FORMATS[name].tag_source:
        marks = [s.metadata.get("import") for s in sessions]
        done = [m for m in marks if isinstance(m, dict) and "fingerprint" in m]
        assert done, "no session records that the file was imported to its end"
        # Size and mtime of the file, then of its companions (-1, -1 when absent).
        assert done[0]["fingerprint"] == fingerprint(path, FORMATS[name])
    _clear(store, sessions)
    return checked


def _clear(store: Store, sessions: list[Session] | None = None) -> None:
    """Delete every session; run before each example too, so that one which failed half
    way (and is replayed while hypothesis shrinks it) never sees its own leftovers."""
    for session in _all_sessions(store) if sessions is None else sessions:
        try:
            store.delete_session(session.id, recursive=True)
        except NotFound:
            continue  # deleted with its parent
    assert store.list_sessions(limit=1).items == []


def _report(seen: Counter[str], target: str, report: ImportReport, checked: int) -> None:
    seen[f"{target}: examples"] += 1
    seen[f"{target}: messages checked"] += checked
    if report.errors:
        seen[f"{target}: refused with BadTranscript"] += 1
    else:
        seen[f"{target}: imported, sessions verified"] += 1


def _finish(seen: Counter[str], target: str, examples: int, store: Store) -> None:
    assert seen[f"{target}: examples"] >= examples, seen
    assert store.check() == []


@pytest.mark.parametrize("fmt", sorted(TEXT_SAMPLES))
def test_fuzzed_transcripts_import_or_report_cleanly(
    fmt: str, store: Store, tmp_path: Path, counts: Counter[str]
) -> None:
    target = f"hostile import {fmt} [{backend(store.url)}]"
    seen: Counter[str] = Counter()
    examples = _examples(store)

    @_settings(examples)
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        _clear(store)
        raw, name = _sample(data.draw(st.sampled_from(TEXT_SAMPLES[fmt])))
        path = tmp_path / name
        path.write_bytes(_mutate(raw, data, seen, target))
        given_fmt = data.draw(st.sampled_from([fmt, None]))
        report = store.import_path(path, format=given_fmt)
        _report(seen, target, report, verify_and_clear(store, report, path, given_fmt))

    check()
    _finish(seen, target, examples, store)
    assert seen[f"{target}: imported, sessions verified"] > 0
    counts.update(seen)


@pytest.mark.parametrize("fmt", SOURCE_FORMATS)
def test_fuzzed_source_databases_import_or_report_cleanly(
    fmt: str, store: Store, tmp_path: Path, counts: Counter[str]
) -> None:
    target = f"hostile import {fmt} [{backend(store.url)}]"
    seen: Counter[str] = Counter()
    examples = _examples(store)
    path = tmp_path / "source.db"

    @_settings(examples)
    @given(source=SOURCES[fmt](), damage=st.sampled_from(["none", "none", "truncate", "bytes"]))
    def check(source: Any, damage: str) -> None:
        _clear(store)
        source.write(path)
        if damage != "none":
            raw = path.read_bytes()
            cut = len(raw) * 3 // 4
            # A cut or overwrite past the header page hits the tables the rows live in.
            raw = raw[:cut] if damage == "truncate" else raw[:cut] + b"\xa5" * 64 + raw[cut + 64 :]
            path.write_bytes(raw)
            seen[f"{target}: file bytes damaged ({damage})"] += 1
        for kind in source.kinds:
            seen[f"{target}: rows with {kind}"] += 1
        report = store.import_path(path, format=fmt)
        _report(seen, target, report, verify_and_clear(store, report, path, fmt))

    check()
    _finish(seen, target, examples, store)
    assert seen[f"{target}: imported, sessions verified"] > 0
    assert seen[f"{target}: messages checked"] > 0
    counts.update(seen)


def test_every_importer_has_a_target_of_at_least_1000_examples_on_sqlite() -> None:
    targets = set(TEXT_SAMPLES) | set(SOURCE_FORMATS)
    assert targets == set(FORMATS)
    assert SQLITE_EXAMPLES >= 1000
    assert (1000 if STRESS else 100) <= PG_EXAMPLES
