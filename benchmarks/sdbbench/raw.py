"""Raw lower bounds: the least a store must do, written directly against the drivers.

SQLite variants (all WAL, one transaction per append, ``synchronous`` per durability):
  min       messages(session_id, seq, role, item, text, created_at), one INSERT;
  sessions  + a sessions row updated in the same transaction (counters, usage, seq);
  fts       + an FTS5 external-content index on the text (the equivalent of sessiondb,
            indexing the same words: text, and a tool call's name and arguments);
  batch     the same as fts, many messages per transaction with executemany.
PostgreSQL: sessions + messages + a GIN-indexed tsvector, one transaction per append.
Reads decode each item's JSON, as any caller must.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .data import Msg
from .subject import Subject

SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY, updated_at INTEGER NOT NULL, message_count INTEGER NOT NULL DEFAULT 0,
    last_seq INTEGER NOT NULL DEFAULT 0, input_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0, cost_usd REAL NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS sessions_updated ON sessions (updated_at DESC, id DESC);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY, session_id TEXT NOT NULL, seq INTEGER NOT NULL,
    role TEXT NOT NULL, item TEXT NOT NULL, text TEXT NOT NULL, created_at INTEGER NOT NULL,
    UNIQUE (session_id, seq));
CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5 (
    text, content = 'messages', content_rowid = 'id');
"""

BUMP_SESSION = """
UPDATE sessions SET last_seq = last_seq + :n, message_count = message_count + :n,
    updated_at = :now, input_tokens = input_tokens + :inp,
    output_tokens = output_tokens + :out, cost_usd = cost_usd + :cost
WHERE id = :sid RETURNING last_seq"""
INSERT_MESSAGE = (
    "INSERT INTO messages (session_id, seq, role, item, text, created_at) VALUES (?, ?, ?, ?, ?, ?)"
)
INDEX_TEXT = "INSERT INTO messages_fts (rowid, text) VALUES (?, ?)"
SELECT_LAST = "SELECT seq, role, item FROM messages WHERE session_id = ? ORDER BY seq DESC LIMIT ?"
SELECT_ALL = "SELECT text FROM messages WHERE session_id = ? ORDER BY seq"
LIST_NEWEST = (
    "SELECT id, updated_at, message_count, last_seq, input_tokens, output_tokens, cost_usd "
    "FROM sessions ORDER BY updated_at DESC, id DESC LIMIT ?"
)


def _document(m: Msg) -> str:
    """The searchable text, as sessiondb indexes it: the text, then the tool name and its
    arguments (an equivalent schema indexes the same words)."""
    if m.tool_name is not None and m.arguments is not None and m.role == "assistant":
        return f"{m.text}\n{m.tool_name} {m.arguments}"
    return m.text


def _usage(m: Msg) -> tuple[int, int, float]:
    u = m.usage or {}
    return u.get("input_tokens", 0), u.get("output_tokens", 0), u.get("cost_usd", 0.0)


class RawSQLite(Subject):
    """sqlite3 with the minimal equivalent schema; ``variant`` in min, sessions, fts."""

    def __init__(self, variant: str = "fts", durability: str = "normal") -> None:
        self.variant = variant
        self.level = durability
        self.equivalent = durability
        self.durability = f"WAL, synchronous={durability.upper()}"
        label = {"min": "messages", "sessions": "+ sessions", "fts": "+ sessions + FTS5"}
        self.name = f"raw sqlite3 {label[variant]} ({durability})"
        self.seq: dict[str, int] = {}

    def open(self, workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(workdir / "raw.db", isolation_level=None, timeout=30)
        self.conn.execute("PRAGMA busy_timeout = 30000")
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute(f"PRAGMA synchronous = {self.level.upper()}")
        with self._txn():
            for statement in SQLITE_SCHEMA.split(";"):
                if statement.strip():
                    self.conn.execute(statement)

    def close(self) -> None:
        self.conn.close()

    def _txn(self) -> Any:
        conn = self.conn

        class Txn:
            def __enter__(self) -> None:
                conn.execute("BEGIN IMMEDIATE")

            def __exit__(self, kind: Any, *rest: Any) -> None:
                conn.execute("ROLLBACK" if kind else "COMMIT")

        return Txn()

    def create_session(self, sid: str) -> None:
        self.conn.execute(
            "INSERT OR IGNORE INTO sessions (id, updated_at) VALUES (?, ?)", (sid, time.time_ns())
        )
        self.seq[sid] = 0

    def append(self, sid: str, msg: Msg) -> None:
        conn = self.conn
        now = time.time_ns() // 1000
        item = json.dumps(msg.item)
        if self.variant == "min":
            seq = self.seq[sid] = self.seq.get(sid, 0) + 1
            conn.execute(INSERT_MESSAGE, (sid, seq, msg.role, item, msg.text, now))
            return
        inp, out, cost = _usage(msg)
        conn.execute("BEGIN IMMEDIATE")
        try:
            seq = conn.execute(
                BUMP_SESSION, {"n": 1, "now": now, "inp": inp, "out": out, "cost": cost, "sid": sid}
            ).fetchone()[0]
            cur = conn.execute(INSERT_MESSAGE, (sid, seq, msg.role, item, _document(msg), now))
            if self.variant == "fts":
                conn.execute(INDEX_TEXT, (cur.lastrowid, _document(msg)))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def append_batch(self, sid: str, msgs: Sequence[Msg]) -> None:
        conn = self.conn
        now = time.time_ns() // 1000
        inp = sum(_usage(m)[0] for m in msgs)
        out = sum(_usage(m)[1] for m in msgs)
        cost = sum(_usage(m)[2] for m in msgs)
        conn.execute("BEGIN IMMEDIATE")
        try:
            last = conn.execute(
                BUMP_SESSION,
                {"n": len(msgs), "now": now, "inp": inp, "out": out, "cost": cost, "sid": sid},
            ).fetchone()[0]
            first = last - len(msgs) + 1
            rows = [
                (sid, first + i, m.role, json.dumps(m.item), _document(m), now)
                for i, m in enumerate(msgs)
            ]
            conn.executemany(INSERT_MESSAGE, rows)
            if self.variant == "fts":
                conn.execute(
                    "INSERT INTO messages_fts (rowid, text) SELECT id, text FROM messages "
                    "WHERE session_id = ? AND seq >= ?",
                    (sid, first),
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def last(self, sid: str, k: int) -> list[object]:
        rows = self.conn.execute(SELECT_LAST, (sid, k)).fetchall()
        rows.reverse()
        return [(seq, role, json.loads(item)) for seq, role, item in rows]

    def read_texts(self, sid: str) -> list[str]:
        return [r[0] for r in self.conn.execute(SELECT_ALL, (sid,))]

    def list_newest(self, n: int) -> list[object]:
        return self.conn.execute(LIST_NEWEST, (n,)).fetchall()

    def search(self, query: str, limit: int) -> list[object]:
        """FTS5 MATCH with bm25 order and a snippet, joined back to the message."""
        return self.conn.execute(
            "SELECT m.session_id, m.seq, snippet(messages_fts, 0, '[', ']', '…', 12) "
            "FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid "
            "WHERE messages_fts MATCH ? ORDER BY bm25(messages_fts) LIMIT ?",
            (query, limit),
        ).fetchall()


PG_SCHEMA = """
CREATE TABLE sessions (
    id TEXT PRIMARY KEY, updated_at BIGINT NOT NULL, message_count INTEGER NOT NULL DEFAULT 0,
    last_seq INTEGER NOT NULL DEFAULT 0, input_tokens BIGINT NOT NULL DEFAULT 0,
    output_tokens BIGINT NOT NULL DEFAULT 0, cost_usd DOUBLE PRECISION NOT NULL DEFAULT 0);
CREATE INDEX sessions_updated ON sessions (updated_at DESC, id DESC);
CREATE TABLE messages (
    session_id TEXT NOT NULL, seq INTEGER NOT NULL, role TEXT NOT NULL, item JSONB NOT NULL,
    text TEXT NOT NULL, created_at BIGINT NOT NULL,
    tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', text)) STORED,
    PRIMARY KEY (session_id, seq));
CREATE INDEX messages_tsv ON messages USING gin (tsv);
"""

PG_BUMP = """
UPDATE sessions SET last_seq = last_seq + %(n)s, message_count = message_count + %(n)s,
    updated_at = %(now)s, input_tokens = input_tokens + %(inp)s,
    output_tokens = output_tokens + %(out)s, cost_usd = cost_usd + %(cost)s
WHERE id = %(sid)s RETURNING last_seq"""
PG_INSERT = (
    "INSERT INTO messages (session_id, seq, role, item, text, created_at) "
    "VALUES (%s, %s, %s, %s, %s, %s)"
)


class RawPostgres(Subject):
    """psycopg 3 with the minimal equivalent schema in its own PostgreSQL schema."""

    durability = "synchronous_commit=on (server default)"
    equivalent = "full"

    def __init__(self, url: str, schema: str) -> None:
        self.url = url
        self.schema = schema
        self.name = "raw psycopg sessions + messages + GIN tsvector"

    def open(self, workdir: Path) -> None:
        import psycopg

        self.conn = psycopg.connect(self.url, autocommit=True)
        self.conn.execute(f'SET search_path TO "{self.schema}"')

    def install(self) -> None:
        """Create the schema's tables (once, from the parent process)."""
        with self.conn.transaction():
            for statement in PG_SCHEMA.split(";"):
                if statement.strip():
                    self.conn.execute(statement)

    def close(self) -> None:
        self.conn.close()

    def create_session(self, sid: str) -> None:
        self.conn.execute(
            "INSERT INTO sessions (id, updated_at) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            (sid, time.time_ns() // 1000),
        )

    def append(self, sid: str, msg: Msg) -> None:
        from psycopg.types.json import Jsonb

        now = time.time_ns() // 1000
        inp, out, cost = _usage(msg)
        with self.conn.transaction():
            seq = self.conn.execute(
                PG_BUMP, {"n": 1, "now": now, "inp": inp, "out": out, "cost": cost, "sid": sid}
            ).fetchone()[0]  # type: ignore[index]
            self.conn.execute(PG_INSERT, (sid, seq, msg.role, Jsonb(msg.item), _document(msg), now))

    def append_batch(self, sid: str, msgs: Sequence[Msg]) -> None:
        from psycopg.types.json import Jsonb

        now = time.time_ns() // 1000
        totals = [sum(_usage(m)[i] for m in msgs) for i in range(3)]
        with self.conn.transaction():
            last = self.conn.execute(
                PG_BUMP,
                {
                    "n": len(msgs),
                    "now": now,
                    "inp": totals[0],
                    "out": totals[1],
                    "cost": totals[2],
                    "sid": sid,
                },
            ).fetchone()[0]  # type: ignore[index]
            first = last - len(msgs) + 1
            with self.conn.cursor() as cur:
                cur.executemany(
                    PG_INSERT,
                    [
                        (sid, first + i, m.role, Jsonb(m.item), _document(m), now)
                        for i, m in enumerate(msgs)
                    ],
                )

    def last(self, sid: str, k: int) -> list[object]:
        rows = self.conn.execute(
            "SELECT seq, role, item FROM messages WHERE session_id = %s ORDER BY seq DESC LIMIT %s",
            (sid, k),
        ).fetchall()
        rows.reverse()
        return rows

    def read_texts(self, sid: str) -> list[str]:
        rows = self.conn.execute(
            "SELECT text FROM messages WHERE session_id = %s ORDER BY seq", (sid,)
        ).fetchall()
        return [r[0] for r in rows]
