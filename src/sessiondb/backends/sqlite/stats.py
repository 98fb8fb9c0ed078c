"""SQLite backend, insights: totals, groups and per-tool figures computed in SQL."""

from __future__ import annotations

from datetime import datetime

from ...insights import build_stats, check_group_by
from ...model import Stats, check_text, to_micros, to_utc
from ...store import GroupBy
from . import search_queries as sq
from .core import SQLiteCore


class SQLiteStats(SQLiteCore):
    """``stats`` on SQLite."""

    def stats(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        group_by: GroupBy | None = None,
        agent: str | None = None,
        source: str | None = None,
        user_id: str | None = None,
    ) -> Stats:
        key = check_group_by(group_by)
        since_dt, until_dt = to_utc("since", since), to_utc("until", until)
        params = {
            "since": None if since_dt is None else to_micros(since_dt),
            "until": None if until_dt is None else to_micros(until_dt),
            "agent": check_text("agent", agent),
            "source": check_text("source", source),
            "user_id": check_text("user_id", user_id),
        }
        with self._read("computing stats") as conn:
            total = conn.execute(sq.STATS_TOTALS, params).fetchone()
            groups = [] if key is None else conn.execute(sq.STATS_GROUPS[key], params).fetchall()
            tools = conn.execute(sq.STATS_TOOLS, params).fetchall()
        return build_stats(total, groups, tools)
