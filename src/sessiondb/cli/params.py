"""Parameter types the commands share: durations, points in time, JSON objects.

Each turns what a person types into the value the Store API takes, or fails as a click
usage error (exit 2) that names the option.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import click

__all__ = ["DURATION", "JSON_OBJECT", "WHEN", "parse_duration"]

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_DURATION = re.compile(r"(\d+)([smhdw])")


def parse_duration(text: str) -> timedelta:
    """``90d``, ``1h30m``, ``2w`` -> timedelta; raises ValueError for anything else."""
    compact = text.strip().lower().replace(" ", "")
    if not compact or _DURATION.sub("", compact):
        raise ValueError(f"{text!r} is not a duration (e.g. 90d, 12h, 1h30m, 2w)")
    total = timedelta()
    for amount, unit in _DURATION.findall(compact):
        total += timedelta(**{_UNITS[unit]: int(amount)})
    return total


class Duration(click.ParamType):  # type: ignore[type-arg]
    """A span of time: ``30s``, ``15m``, ``12h``, ``90d``, ``2w`` or combinations."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, timedelta):
            return value
        try:
            return parse_duration(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class When(click.ParamType):  # type: ignore[type-arg]
    """A point in time: an ISO date or datetime (naive means UTC), or ``7d`` for 7 days ago."""

    name = "when"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        try:
            return datetime.now(UTC) - parse_duration(text)
        except ValueError:
            pass
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            self.fail(
                f"{text!r} is neither a date/time (2025-01-31, 2025-01-31T12:00) "
                "nor an age (7d, 12h)",
                param,
                ctx,
            )
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class JSONObject(click.ParamType):  # type: ignore[type-arg]
    """A JSON object given on the command line, e.g. ``'{"team": "infra"}'``."""

    name = "json"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, dict):
            return value
        try:
            parsed = json.loads(value)
        except ValueError as exc:
            self.fail(f"not JSON ({exc})", param, ctx)
        if not isinstance(parsed, dict):
            self.fail(f"expected a JSON object, got {type(parsed).__name__}", param, ctx)
        return parsed


DURATION = Duration()
WHEN = When()
JSON_OBJECT = JSONObject()
