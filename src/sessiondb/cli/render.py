"""Everything the CLI prints: JSON documents, JSON lines and rich terminal output.

JSON output is for scripts and stays stable: dataclass fields in declaration order,
datetimes as ISO 8601 UTC strings, usage with every counter (null when unreported).
Terminal output goes through rich, which turns colour off when stdout is not a terminal
or ``NO_COLOR`` is set; it is for people and may change between versions.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import click
from rich import box
from rich.console import Console, Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from ..model import (
    ImportReport,
    Message,
    PruneReport,
    SearchHit,
    Session,
    SessionHit,
    Stats,
    ToolCall,
    Totals,
    TreeNode,
    Usage,
)

__all__ = [
    "HIGHLIGHT",
    "console",
    "emit_json",
    "emit_jsonl",
    "err_console",
    "jsonable",
]

ROLE_STYLES = {
    "user": "bold green",
    "assistant": "bold cyan",
    "system": "bold magenta",
    "developer": "bold magenta",
    "tool": "bold yellow",
}
STATUS_STYLES = {
    "active": "green",
    "completed": "blue",
    "failed": "red",
    "interrupted": "yellow",
    "archived": "dim",
    "ok": "green",
    "error": "red",
    "pending": "yellow",
}
# Private-use characters mark search matches: they cannot collide with transcript text
# the way "[" and "]" would, and are turned into highlighting before printing.
HIGHLIGHT = ("\ue000", "\ue001")
FOLD_CHARS = 120
PIPE_WIDTH = 160
# Below this width the list drops its agent, tokens and cost columns.
NARROW = 110
FOLD_LINES = 3


# ---------------------------------------------------------------------------- plumbing


def console() -> Console:
    """A console on the current stdout (looked up per call, so test runners capture it).

    Not on a terminal (a pipe, a file) rich would assume 80 columns and squeeze full ids
    into ellipses; there we lay out for PIPE_WIDTH columns unless $COLUMNS says otherwise.
    """
    width = None
    if not sys.stdout.isatty() and not os.environ.get("COLUMNS"):
        width = PIPE_WIDTH
    return Console(highlight=False, soft_wrap=False, emoji=False, width=width)


def err_console() -> Console:
    """A console on stderr, for progress bars and warnings."""
    return Console(stderr=True, highlight=False, emoji=False)


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


_FIELDS: dict[type, tuple[str, ...]] = {}
_PLAIN = (str, int, float, bool, type(None))


def _default(value: Any) -> Any:
    """json.dumps hook: one level of a dataclass or a datetime (json recurses itself)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {name: getattr(value, name) for name in _field_names(type(value))}
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON data: dataclasses to dicts (field order), datetimes to ISO."""
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {name: jsonable(getattr(value, name)) for name in _field_names(type(value))}
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def emit_json(document: Any) -> None:
    """Print one JSON document (indented, keys in a fixed order)."""
    click.echo(json.dumps(document, ensure_ascii=False, indent=2, default=_default))


def emit_jsonl(items: Iterable[Any]) -> None:
    """Print one compact JSON document per line; one write per call (callers pass pages)."""
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_default).encode
    lines = [encode(item) for item in items]
    if lines:
        click.echo("\n".join(lines))


def when(value: datetime | None) -> str:
    """A timestamp for tables: UTC, to the minute."""
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M")


def tokens(usage: Usage) -> str:
    return f"{usage.total_tokens:,}" if usage.total_tokens else ""


def cost(usage: Usage | Totals) -> str:
    value = usage.cost_usd
    return f"${value:,.4f}" if value else ""


def fold(text: str, *, full: bool = False) -> str:
    """The first few lines of ``text``, saying how much was left out (unless ``full``)."""
    if full:
        return text
    lines = text.splitlines()
    head = "\n".join(lines[:FOLD_LINES])
    if len(head) > FOLD_CHARS:
        head = head[:FOLD_CHARS].rstrip() + "…"
    hidden = len(lines) - FOLD_LINES
    return head + (f"\n… {hidden} more line{'s' * (hidden != 1)}" if hidden > 0 else "")


def one_line(text: str, limit: int = FOLD_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def status_text(status: str) -> Text:
    return Text(status, style=STATUS_STYLES.get(status, ""))


# ---------------------------------------------------------------------------- sessions


def session_table(sessions: Sequence[Session], *, header: bool = True, width: int = 200) -> Table:
    """The ``list`` table: one row per session, laid out for ``width`` columns.

    Ids are never shortened (they are what ``show ID`` takes) and the small columns keep
    their width; the title gets what is left. Narrow terminals lose agent, tokens, cost.
    """
    wide = width >= NARROW
    rows = []
    for s in sessions:
        cells = {
            "id": s.id,
            "agent": s.agent or "",
            "status": s.status,
            "msgs": str(s.message_count),
            "tokens": tokens(s.usage),
            "cost": cost(s.usage),
            "updated": when(s.updated_at) if wide else s.updated_at.strftime("%m-%d %H:%M"),
        }
        rows.append((s, cells))
    names = ["id", "agent", "status", "msgs", "tokens", "cost", "updated"]
    if not wide:
        names = ["id", "status", "msgs", "updated"]
    sizes = {n: max([len(n), *(len(c[n]) for _, c in rows)]) for n in names}
    sizes["agent"] = min(sizes.get("agent", 0), 14)
    gaps = 3 * len(names)  # padding and separator between each pair of columns
    title_width = min(60, width - sum(sizes[n] for n in names) - gaps)
    show_title = title_width >= 6  # else a very narrow terminal: ids matter more
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, show_header=header, pad_edge=False)
    for name in names:
        right = name in ("msgs", "tokens", "cost")
        table.add_column(
            name,
            justify="right" if right else "left",
            no_wrap=True,
            min_width=sizes[name],
            max_width=sizes[name] if name == "agent" else None,
            overflow="ellipsis",
        )
        if name == "id" and show_title:
            table.add_column("title", no_wrap=True, width=title_width, overflow="ellipsis")
    for s, cells in rows:
        title = Text(one_line(s.title or s.preview or "", 80))
        if s.parent_id:
            title = Text("↳ ", style="dim") + title
        values: list[Any] = []
        for name in names:
            values.append(status_text(s.status) if name == "status" else cells[name])
            if name == "id" and show_title:
                values.append(title)
        table.add_row(*values)
    return table


def session_header(s: Session) -> Table:
    """Key facts of one session, above its transcript."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim")
    grid.add_column()
    grid.add_row("session", Text(s.id, style="bold"))
    if s.title:
        grid.add_row("title", s.title)
    facts = [("agent", s.agent), ("model", s.model), ("source", s.source), ("user", s.user_id)]
    for name, value in facts:
        if value:
            grid.add_row(name, value)
    if s.parent_id:
        grid.add_row("parent", f"{s.parent_id} ({s.relation or 'child'})")
    grid.add_row("status", status_text(s.status))
    usage = usage_text(s.usage)
    grid.add_row(
        "messages",
        f"{s.message_count}" + (f" · {usage}" if usage else "") + f" · {when(s.updated_at)}",
    )
    if s.compaction_count:
        grid.add_row("compacted", f"{s.compaction_count}× (last {when(s.compacted_at)})")
    return grid


def usage_text(usage: Usage | None) -> str:
    """``in 1,200 · out 300 · cache 900 · $0.0123`` (only the counters that are set)."""
    if usage is None or usage.is_empty():
        return ""
    parts = []
    if usage.input_tokens:
        parts.append(f"in {usage.input_tokens:,}")
    if usage.output_tokens:
        parts.append(f"out {usage.output_tokens:,}")
    if usage.cache_read_tokens:
        parts.append(f"cache {usage.cache_read_tokens:,}")
    if usage.reasoning_tokens:
        parts.append(f"reasoning {usage.reasoning_tokens:,}")
    if usage.cost_usd:
        parts.append(f"${usage.cost_usd:,.4f}")
    return " · ".join(parts)


def marker(message: Message) -> str | None:
    """A label for messages that are not plain turns: compaction summaries and the like."""
    meta = message.metadata
    if meta.get("summary") is True:  # written by Store.compact
        through = meta.get("replaces_through")
        return "compaction summary" + (
            f" (stands for #1–#{through})" if isinstance(through, int) else ""
        )
    # Importers keep the source tool's own flag under the tool's name, e.g. {"codex": {...}}.
    for value in meta.values():
        if isinstance(value, dict) and (value.get("compacted") or value.get("isCompactSummary")):
            return "compaction summary"
    kind = message.item.get("type")
    if isinstance(kind, str) and "compact" in kind:
        return kind
    return None


def transcript(
    messages: Sequence[Message], *, full: bool = False, calls: Mapping[int, list[ToolCall]]
) -> Group:
    """The messages of ``show``, each with role, time, usage, tool calls and results.

    ``calls`` maps a result message's seq to the tool calls it answers (for names and
    statuses).
    """
    blocks: list[Any] = []
    previous_hidden = False
    for m in messages:
        hidden = not m.visible_to_model
        if previous_hidden and not hidden:
            blocks.append(
                Text(
                    "──── compacted: the model no longer sees the messages above ────\n",
                    style="magenta",
                )
            )
        previous_hidden = hidden
        head = Text()
        head.append(f"#{m.seq} ", style="dim")
        head.append(m.role, style=ROLE_STYLES.get(m.role, "bold"))
        label = marker(m)
        if label:
            head.append(f"  ── {label} ──", style="bold magenta")
        details = [when(m.created_at)]
        if m.model:
            details.append(m.model)
        usage = usage_text(m.usage)
        if usage:
            details.append(usage)
        head.append("  " + " · ".join(details), style="dim")
        if hidden:
            head.append("  (hidden from the model)", style="dim italic")
        body: list[Text] = [head]
        answered = calls.get(m.seq, [])
        if m.role == "tool" and answered:
            for call in answered:
                line = Text("  ◂ ", style="yellow")
                line.append(call.name, style="bold")
                line.append(" → ")
                line.append(call.status, style=STATUS_STYLES.get(call.status, ""))
                if call.duration_ms is not None:
                    line.append(f" ({call.duration_ms} ms)", style="dim")
                body.append(line)
        if m.text:
            body.append(Text(indent(fold(m.text, full=full or m.role != "tool"))))
        for call in m.tool_calls:
            line = Text("  ▸ ", style="cyan")
            line.append(call.name, style="bold")
            line.append(" " + (call.arguments if full else one_line(call.arguments)))
            line.append("  ")
            line.append(call.status, style=STATUS_STYLES.get(call.status, ""))
            body.append(line)
        if hidden:
            for part in body:
                part.stylize("dim")
        blocks.extend(body)
        blocks.append(Text(""))
    return Group(*blocks)


def indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


# ---------------------------------------------------------------------------- search


def marked(snippet: str) -> Text:
    """A snippet with the matches (between HIGHLIGHT marks) highlighted."""
    text = Text()
    start, end = HIGHLIGHT
    rest = " ".join(snippet.split())
    while start in rest:
        before, _, after = rest.partition(start)
        match, _, rest = after.partition(end)
        text.append(before)
        text.append(match, style="bold reverse")
    text.append(rest)
    return text


def unmark(snippet: str, highlight: tuple[str, str]) -> str:
    """A snippet with HIGHLIGHT marks replaced by ``highlight`` (for JSON output)."""
    return snippet.replace(HIGHLIGHT[0], highlight[0]).replace(HIGHLIGHT[1], highlight[1])


def hits_table(hits: Sequence[SearchHit]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("session", overflow="fold", no_wrap=True)
    table.add_column("#", justify="right")
    table.add_column("role")
    table.add_column("title", overflow="ellipsis", no_wrap=True, max_width=30)
    table.add_column("match", ratio=1)
    for hit in hits:
        table.add_row(
            hit.session_id,
            str(hit.seq),
            Text(hit.role, style=ROLE_STYLES.get(hit.role, "")),
            escape(hit.title or ""),
            marked(hit.snippet),
        )
    return table


def session_hits_table(hits: Sequence[SessionHit]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("session", overflow="fold", no_wrap=True)
    table.add_column("title", overflow="ellipsis", no_wrap=True, max_width=30)
    table.add_column("hits", justify="right")
    table.add_column("best match", ratio=1)
    for hit in hits:
        s = hit.session
        table.add_row(
            s.id,
            one_line(s.title or s.preview or "", 60),
            str(hit.hits),
            Text(f"#{hit.best_seq} ", style="dim") + marked(hit.snippet),
        )
    return table


def search_hit_json(hit: SearchHit, highlight: tuple[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = jsonable(hit)
    data["snippet"] = unmark(hit.snippet, highlight)
    return data


def session_hit_json(hit: SessionHit, highlight: tuple[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = jsonable(hit)
    data["snippet"] = unmark(hit.snippet, highlight)
    return data


# ---------------------------------------------------------------------------- lineage


def tree_json(node: TreeNode, usage: Mapping[str, Usage]) -> dict[str, Any]:
    """A tree node as JSON, with each subtree's usage (``usage``: tree_usage by id)."""
    return {
        "session": jsonable(node.session),
        "tree_usage": jsonable(usage[node.session.id]),
        "children": [tree_json(child, usage) for child in node.children],
    }


def lineage_tree(root: TreeNode, usage: Mapping[str, Usage]) -> Tree:
    """The lineage as a rich tree; ``usage`` holds each session's tree_usage by id."""

    def label(node: TreeNode) -> Text:
        s = node.session
        text = Text()
        text.append(s.id, style="bold")
        if s.relation:
            text.append(f" [{s.relation}]", style="magenta")
        text.append(" ")
        text.append(status_text(s.status))
        if s.title or s.agent:
            text.append(f"  {one_line(s.title or s.agent or '', 60)}")
        text.append(f"  {s.message_count} msgs", style="dim")
        total = usage[s.id]
        if total.cost_usd:
            text.append(f"  {cost(total)}", style="dim")
        if total.total_tokens:
            text.append(f"  {total.total_tokens:,} tok", style="dim")
        return text

    def grow(branch: Tree, node: TreeNode) -> None:
        for child in node.children:
            grow(branch.add(label(child)), child)

    tree = Tree(label(root))
    grow(tree, root)
    return tree


# ---------------------------------------------------------------------------- stats


def totals_table(totals: Totals) -> Table:
    table = Table(
        box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, title="totals", title_justify="left"
    )
    table.add_column("sessions", justify="right")
    table.add_column("messages", justify="right")
    table.add_column("tool calls", justify="right")
    table.add_column("input tok", justify="right")
    table.add_column("output tok", justify="right")
    table.add_column("cache read", justify="right")
    table.add_column("cost", justify="right")
    table.add_row(*_totals_cells(totals))
    return table


def _totals_cells(t: Totals) -> list[str]:
    return [
        f"{t.sessions:,}",
        f"{t.messages:,}",
        f"{t.tool_calls:,}",
        f"{t.input_tokens:,}",
        f"{t.output_tokens:,}",
        f"{t.cache_read_tokens:,}",
        f"${t.cost_usd:,.4f}",
    ]


def stats_renderables(stats: Stats, group_by: str | None) -> list[Any]:
    out: list[Any] = [totals_table(stats.totals)]
    if group_by and stats.groups:
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, title=f"by {group_by}")
        table.title_justify = "left"
        table.add_column(group_by)
        for name in ("sessions", "messages", "tool calls", "input tok", "output tok"):
            table.add_column(name, justify="right")
        table.add_column("cache read", justify="right")
        table.add_column("cost", justify="right")
        for key, totals in stats.groups:
            table.add_row(escape(str(key)), *_totals_cells(totals))
        out.append(table)
    if stats.tools:
        table = Table(
            box=box.SIMPLE_HEAD,
            show_edge=False,
            pad_edge=False,
            title="tools",
            title_justify="left",
        )
        table.add_column("tool")
        table.add_column("calls", justify="right")
        table.add_column("errors", justify="right")
        table.add_column("error rate", justify="right")
        table.add_column("median ms", justify="right")
        for tool in stats.tools:
            rate = "" if tool.error_rate is None else f"{tool.error_rate:.1%}"
            median = "" if tool.median_duration_ms is None else f"{tool.median_duration_ms:,.0f}"
            table.add_row(escape(tool.name), f"{tool.calls:,}", f"{tool.errors:,}", rate, median)
        out.append(table)
    return out


def stats_json(stats: Stats) -> dict[str, Any]:
    return {
        "totals": jsonable(stats.totals),
        "groups": [{"key": key, **jsonable(totals)} for key, totals in stats.groups],
        "tools": jsonable(stats.tools),
    }


# ---------------------------------------------------------------------------- import/prune


def import_summary(reports: Sequence[tuple[str, ImportReport]]) -> Table:
    table = Table(
        box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, title="import", title_justify="left"
    )
    table.add_column("path", overflow="fold")
    for name in ("files", "created", "updated", "messages", "corrected", "skipped", "errors"):
        table.add_column(name, justify="right")
    for path, r in reports:
        table.add_row(
            escape(path),
            str(r.files),
            str(r.sessions_created),
            str(r.sessions_updated),
            str(r.messages_added),
            str(r.messages_updated),
            str(len(r.skipped)),
            Text(str(len(r.errors)), style="red" if r.errors else ""),
        )
    return table


def prune_summary(report: PruneReport) -> str:
    verb = "would delete" if report.dry_run else "deleted"
    text = f"{verb} {len(report.session_ids)} session(s), {report.messages} message(s)"
    if report.archived_to and report.session_ids:
        text += f"; {'would archive' if report.dry_run else 'archived'} to {report.archived_to}"
    if report.kept:
        text += f"; kept {len(report.kept)} written to meanwhile: {', '.join(report.kept)}"
    return text
