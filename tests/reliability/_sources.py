"""Hostile SQLite source databases for the importers that read one: the OpenAI Agents
SDK's ``SQLiteSession``, LangChain's ``message_store`` and goose's ``sessions.db``.

``SOURCES[format]`` is a strategy for a ``Source``: the tables' DDL and rows. The rows are
fuzzed where the importers read them: wrong types in any column (NULL, numbers, blobs),
JSON that is truncated, of the wrong shape, too deep, or holds NaN, escaped lone surrogates
or NUL; invalid UTF-8 stored as TEXT; ids and session ids of the wrong type; goose
sessions that are their own parent. ``Source.write`` builds the file, and the test may then
damage its bytes as well.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from ._hostile import HOSTILE_TEXT, PLAIN_VALUES, replace, slots, string_slots


class AsText(bytes):
    """Bytes stored with TEXT type: how a damaged file holds invalid UTF-8 in a text column."""


@dataclass
class Source:
    """A source database to build: DDL, then rows per table (column values in order)."""

    ddl: list[str]
    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    kinds: set[str] = field(default_factory=set)  # what was done to it, for the counts

    def write(self, path: Path) -> None:
        # Built in memory and written in one go: a file-backed build would fsync per
        # example and dominate the run.
        conn = sqlite3.connect(":memory:")
        try:
            for statement in self.ddl:
                conn.execute(statement)
            for table, rows in self.rows.items():
                for row in rows:
                    # A fixed vocabulary of placeholders (never data) makes the statement.
                    marks = ", ".join("CAST(? AS TEXT)" if type(v) is AsText else "?" for v in row)
                    values = [bytes(v) if type(v) is AsText else v for v in row]
                    conn.execute(f"INSERT OR IGNORE INTO {table} VALUES ({marks})", values)
            conn.commit()
            path.write_bytes(conn.serialize())
        finally:
            conn.close()


# -- cells -----------------------------------------------------------------------------

WRONG_CELL = st.one_of(
    st.none(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False),  # SQLite stores NaN as NULL
    st.text(max_size=8),
    st.binary(max_size=8),
    st.binary(min_size=1, max_size=8).map(AsText),
    st.just(AsText(b"\xed\xa0\x80")),  # a lone surrogate, UTF-8 encoded (CESU-style)
)


def damaged(
    draw: st.DrawFn, row: list[Any], kinds: set[str], table: str, fixed: int = 0
) -> tuple[Any, ...]:
    """``row``, or (one time in three) ``row`` with one column after the first ``fixed``
    (an INTEGER PRIMARY KEY takes nothing else) of the wrong type or encoding."""
    if draw(st.integers(0, 2)) == 0:
        row[draw(st.integers(fixed, len(row) - 1))] = draw(WRONG_CELL)
        kinds.add(f"a wrong-typed cell in {table}")
    return tuple(row)


WRONG_JSON = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)

JSON_DAMAGE = [
    *["valid"] * 6,
    "wrong type inside",
    "hostile string inside",
    "truncated JSON",
    "JSON of another shape",
    "JSON nested too deep",
    "NaN in JSON",
    "JSON as a blob",
    "invalid UTF-8 in JSON",
    "wrong cell",
]


@st.composite
def json_cell(draw: st.DrawFn, valid: st.SearchStrategy[Any], kinds: set[str]) -> Any:
    """A JSON column: ``valid`` serialized, or damaged in one of ``JSON_DAMAGE`` ways."""
    value = draw(valid)
    kind = draw(st.sampled_from(JSON_DAMAGE))
    if kind != "valid":
        kinds.add(kind)
    if kind == "wrong type inside" and slots(value):
        value = replace(value, draw(st.sampled_from(slots(value))), draw(WRONG_JSON))
    elif kind == "hostile string inside" and string_slots(value):
        slot = draw(st.sampled_from(string_slots(value)))
        text = draw(HOSTILE_TEXT)
        if any("\ud800" <= c <= "\udfff" for c in text):
            kinds.add("escaped lone surrogate")
        value = replace(value, slot, text)
    text = json.dumps(value)  # ensure_ascii: surrogates and NUL become \uXXXX escapes
    if kind == "truncated JSON":
        return text[: draw(st.integers(0, max(0, len(text) - 1)))]
    if kind == "JSON of another shape":
        return json.dumps(draw(PLAIN_VALUES))
    if kind == "JSON nested too deep":
        depth = draw(st.sampled_from([600, 5000, 100_000]))
        return "[" * depth + "]" * depth
    if kind == "NaN in JSON":
        return json.dumps(replace(value, draw(st.sampled_from([*slots(value), ()])), math.nan))
    if kind == "JSON as a blob":
        return text.encode()
    if kind == "invalid UTF-8 in JSON":
        raw = text.encode()
        at = draw(st.integers(0, len(raw)))
        return AsText(
            raw[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80"])) + raw[at:]
        )
    if kind == "wrong cell":
        return draw(WRONG_CELL)
    return text


TIMES = st.sampled_from(
    ["2026-01-01 00:00:00", "2026-01-01T00:00:00Z", "yesterday", "", "9999-99-99"]
) | st.integers(-(2**40), 2**40)

# -- OpenAI Agents SDK -----------------------------------------------------------------

AGENT_ITEMS = st.sampled_from(
    [
        {"role": "user", "content": "What's 2+2?"},
        {"type": "function_call", "call_id": "c1", "name": "calc", "arguments": '{"x": 2}'},
        {"type": "function_call_output", "call_id": "c1", "output": "4"},
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "It is 4.", "annotations": []}],
        },
        {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "add"}]},
        {"role": "system", "content": [{"type": "input_text", "text": "be brief"}]},
    ]
)
SESSION_IDS = st.sampled_from(["s1", "s2", "session-ä", "1"])


@st.composite
def agents_source(draw: st.DrawFn) -> Source:
    kinds: set[str] = set()
    typed = draw(st.booleans())
    columns = "created_at" if draw(st.integers(0, 9)) else "made_at"  # sometimes not the SDK's
    if columns != "created_at":
        kinds.add("unexpected columns")
    ddl = [
        "CREATE TABLE agent_sessions (session_id TEXT PRIMARY KEY,"
        " created_at TIMESTAMP, updated_at TIMESTAMP)"
        if typed
        else "CREATE TABLE agent_sessions (session_id, created_at, updated_at)",
        "CREATE TABLE agent_messages (id INTEGER PRIMARY KEY, session_id, message_data,"
        f" {columns})",
    ]
    sessions = draw(st.lists(SESSION_IDS, min_size=0, max_size=3, unique=True))
    session_rows = [
        damaged(draw, [sid, draw(TIMES), None], kinds, "agent_sessions") for sid in sessions
    ]
    ids = sessions or ["s1"]
    rows = [
        damaged(
            draw,
            [i + 1, draw(st.sampled_from(ids)), draw(json_cell(AGENT_ITEMS, kinds)), draw(TIMES)],
            kinds,
            "agent_messages",
            fixed=1,
        )
        for i in range(draw(st.integers(0, 8)))
    ]
    return Source(ddl, {"agent_sessions": session_rows, "agent_messages": rows}, kinds)


# -- LangChain ---------------------------------------------------------------------------

LANGCHAIN_MESSAGES = st.sampled_from(
    [
        {"type": "human", "data": {"content": "weather?", "type": "human"}},
        {
            "type": "ai",
            "data": {
                "content": "",
                "tool_calls": [{"name": "weather", "args": {"city": "Rome"}, "id": "t1"}],
                "usage_metadata": {
                    "input_tokens": 10,
                    "output_tokens": 3,
                    "total_tokens": 13,
                    "input_token_details": {"cache_read": 2},
                    "output_token_details": {"reasoning": 1},
                },
            },
        },
        {"type": "tool", "data": {"content": "sunny", "tool_call_id": "t1", "name": "weather"}},
        {"type": "system", "data": {"content": [{"type": "text", "text": "be brief"}]}},
        {"type": "ai", "data": {"content": "It is sunny.", "id": "run-1"}},
    ]
)


@st.composite
def langchain_source(draw: st.DrawFn) -> Source:
    kinds: set[str] = set()
    typed = draw(st.booleans())
    ddl = [
        "CREATE TABLE message_store (id INTEGER PRIMARY KEY, session_id TEXT, message TEXT)"
        if typed
        else "CREATE TABLE message_store (id INTEGER PRIMARY KEY, session_id, message)"
    ]
    rows = [
        damaged(
            draw,
            [i + 1, draw(SESSION_IDS), draw(json_cell(LANGCHAIN_MESSAGES, kinds))],
            kinds,
            "message_store",
            fixed=1,
        )
        for i in range(draw(st.integers(0, 8)))
    ]
    return Source(ddl, {"message_store": rows}, kinds)


# -- goose sessions.db ---------------------------------------------------------------------

GOOSE_SESSIONS = st.sampled_from(["20260101_1", "20260101_2", "20260101_3"])
GOOSE_CONTENT = st.sampled_from(
    [
        [{"type": "text", "text": "tell me the weather in Berlin"}],
        [
            {
                "type": "toolRequest",
                "id": "call_1",
                "toolCall": {
                    "status": "success",
                    "value": {"name": "weather__get", "arguments": {"location": "Berlin"}},
                },
            }
        ],
        [
            {
                "type": "toolResponse",
                "id": "call_1",
                "toolResult": {"status": "success", "value": [{"type": "text", "text": "9°C"}]},
            }
        ],
        [{"type": "thinking", "thinking": "hmm", "signature": "x"}, {"type": "text", "text": "ok"}],
    ]
)
GOOSE_META = st.sampled_from(
    [{"userVisible": True, "agentVisible": True}, {"userVisible": False, "agentVisible": True}]
)


@st.composite
def goose_source(draw: st.DrawFn) -> Source:
    kinds: set[str] = set()
    ddl = [
        "CREATE TABLE schema_version (version INTEGER PRIMARY KEY)",
        "CREATE TABLE sessions (id TEXT PRIMARY KEY, name TEXT, description TEXT,"
        " working_dir TEXT, created_at TIMESTAMP, parent_session_id TEXT,"
        " extension_data TEXT, total_tokens INTEGER, accumulated_input_tokens INTEGER)",
        "CREATE TABLE messages (id INTEGER PRIMARY KEY, message_id TEXT, session_id TEXT,"
        " role TEXT, content_json TEXT, created_timestamp INTEGER, metadata_json TEXT)",
    ]
    sessions = []
    for sid in draw(st.lists(GOOSE_SESSIONS, max_size=3, unique=True)):
        parent = draw(st.none() | GOOSE_SESSIONS)
        if parent == sid:
            kinds.add("a session that is its own parent")
        row = [
            sid,
            draw(st.sampled_from(["Berlin weather", " spaced\n title ", ""])),
            "a description",
            "/home/user/w",
            draw(TIMES),
            parent,
            draw(json_cell(st.just({"todo": {"items": []}}), kinds)),
            draw(st.integers(0, 10**6)),
            draw(st.integers(0, 10**6)),
        ]
        sessions.append(damaged(draw, row, kinds, "sessions"))
    ids = [s[0] for s in sessions if isinstance(s[0], str)] or ["20260101_1"]
    messages = [
        damaged(
            draw,
            [
                i + 1,
                draw(st.sampled_from([f"m{i}", "m0", "msg_x"])),
                draw(st.sampled_from(ids)),
                draw(st.sampled_from(["user", "assistant"])),
                draw(json_cell(GOOSE_CONTENT, kinds)),
                draw(st.sampled_from([1767225600, 1767225600000])),
                draw(st.none() | json_cell(GOOSE_META, kinds)),
            ],
            kinds,
            "messages",
            fixed=1,
        )
        for i in range(draw(st.integers(0, 8)))
    ]
    rows = {"schema_version": [(7,)], "sessions": sessions, "messages": messages}
    return Source(ddl, rows, kinds)


SOURCES: dict[str, Callable[[], st.SearchStrategy[Source]]] = {
    "openai_agents": agents_source,
    "langchain": langchain_source,
    "goose_db": goose_source,
}
