"""sessiondb itself, on SQLite and on PostgreSQL, through its public API only."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sessiondb

from .data import Msg
from .subject import Subject


def _usage(msg: Msg) -> sessiondb.Usage | None:
    return None if msg.usage is None else sessiondb.Usage(**msg.usage)


class SessionDB(Subject):
    """``sessiondb.connect(path, durability=...)``, or a PostgreSQL URL + schema."""

    def __init__(
        self, durability: str = "normal", url: str | None = None, schema: str | None = None
    ) -> None:
        self.level = durability
        self.url = url
        self.schema = schema
        if url is None:
            self.name = f"sessiondb ({durability})"
            self.durability = f"WAL, synchronous={durability.upper()}"
            self.equivalent = durability
        else:
            self.name = "sessiondb (PostgreSQL)"
            self.durability = "synchronous_commit=on (server default)"
            self.equivalent = "full"

    def open(self, workdir: Path) -> None:
        options: dict[str, Any] = {}
        if self.url is None:
            workdir.mkdir(parents=True, exist_ok=True)
            target: str | Path = workdir / "sessions.db"
            options["durability"] = self.level
        else:
            target = self.url
            if self.schema is not None:
                options["schema"] = self.schema
        self.db = sessiondb.connect(target, **options)

    def close(self) -> None:
        self.db.close()

    def create_session(self, sid: str) -> None:
        self.db.ensure_session(sid, agent="bench")

    def append(self, sid: str, msg: Msg) -> None:
        self.db.append(sid, msg.item, usage=_usage(msg))

    def append_batch(self, sid: str, msgs: Sequence[Msg]) -> None:
        # Usage travels on each item's NewMessage so a batch keeps per-message usage.
        batch = [sessiondb.NewMessage(m.item, usage=_usage(m)) for m in msgs]
        self.db.append(sid, batch)

    def last(self, sid: str, k: int) -> list[object]:
        return list(self.db.messages(sid, last=k))

    def read_texts(self, sid: str) -> list[str]:
        return [m.text for m in self.db.messages(sid)]

    def seqs(self, sid: str) -> list[int]:
        return [m.seq for m in self.db.messages(sid)]

    def list_newest(self, n: int) -> list[object]:
        return list(self.db.list_sessions(limit=n).items)

    def search(self, query: str, limit: int) -> list[object]:
        return list(self.db.search(query, limit=limit).items)
