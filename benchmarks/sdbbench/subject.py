"""The interface every benchmarked store implements (sessiondb, raw SQL, peers).

A subject owns its files under the work directory it is given, so subjects never share a
database. Operations a store has no API for raise ``Unsupported`` with the reason, which the
report prints instead of a number.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from .data import Msg


class Unsupported(Exception):
    """This store cannot do that operation (the message says why)."""


class Subject:
    name = "?"
    # What the store does at commit, as printed in the tables.
    durability = "?"
    # Which raw lower bound has the same durability: "normal" or "full".
    equivalent = "normal"
    # Per-workload caps for slow stores (message counts); None = the workload's own size.
    max_appends: int | None = None
    max_fill: int | None = None

    def open(self, workdir: Path) -> None:
        """Open (creating if needed) the store kept under ``workdir``."""
        raise NotImplementedError

    def close(self) -> None:
        """Release connections and threads."""

    def create_session(self, sid: str) -> None:
        raise NotImplementedError

    def append(self, sid: str, msg: Msg) -> None:
        """Store one message in its own transaction / save."""
        raise NotImplementedError

    def append_timed(self, sid: str, msgs: Sequence[Msg]) -> list[int]:
        """Append each message alone; return each append's time in nanoseconds."""
        clock = time.perf_counter_ns
        out = []
        for m in msgs:
            t0 = clock()
            self.append(sid, m)
            out.append(clock() - t0)
        return out

    def append_batch(self, sid: str, msgs: Sequence[Msg]) -> None:
        """Store many messages with the store's batch API (one transaction if it has one)."""
        raise Unsupported("no batch append API")

    def fill(self, sid: str, msgs: Sequence[Msg]) -> None:
        """Pre-load messages as fast as the store allows (not timed)."""
        try:
            for start in range(0, len(msgs), 500):
                self.append_batch(sid, msgs[start : start + 500])
        except Unsupported:
            for m in msgs:
                self.append(sid, m)

    def last(self, sid: str, k: int) -> list[object]:
        """The newest ``k`` messages, oldest first, decoded."""
        raise NotImplementedError

    def read_texts(self, sid: str) -> list[str]:
        """Every stored message of the session as text (markers are found in it)."""
        raise NotImplementedError

    def list_newest(self, n: int) -> list[object]:
        """The ``n`` most recently updated sessions."""
        raise Unsupported("no API to list sessions")
