"""Import and export: import, export."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from ..files import write_new_file
from ..importers import FORMATS, plan
from ..importers import discover as find_default_locations
from ..model import ImportReport
from . import App, fail, pass_app
from . import render as r
from .sessions import STREAM_PAGE, json_option, jsonl_lines

EXPORT_FORMATS = ("jsonl", "markdown", "openai")
EXTENSIONS = {"jsonl": ".jsonl", "markdown": ".md", "openai": ".json"}


def _transcripts(path: Path, fmt: str | None, own: Path | None) -> list[dict[str, Any]]:
    """What importing ``path`` would do with each file: the importer's own walk and
    detection (``importers.plan``), so the listing is exactly what an import reads.

    Each entry has ``path``, ``format`` (None when skipped), ``bytes`` and ``reason``.
    """
    found = []
    for planned in plan(path, fmt, exclude=own):
        try:
            size: int | None = planned.path.stat().st_size
        except OSError:
            size = None
        found.append(
            {
                "path": str(planned.path),
                "format": planned.format,
                "bytes": size,
                "reason": planned.reason,
            }
        )
    return found


def _own_database(url: str) -> Path | None:
    """The local SQLite file of the database in use (never listed, never imported)."""
    if url.startswith("sqlite:///"):
        return Path(url[len("sqlite:///") :])
    return None if "://" in url else Path(url)


@click.command("import")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(FORMATS)),
    help="Transcript format (default: detected from each file's content).",
)
@click.option("--discover", is_flag=True, help="Find the agent tools' files on this machine.")
@click.option("--dry-run", is_flag=True, help="Only list what would be imported.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@json_option
@jsonl_lines("per path (with --dry-run: per file)")
@pass_app
def import_command(
    app: App,
    paths: tuple[Path, ...],
    fmt: str | None,
    discover: bool,
    dry_run: bool,
    quiet: bool,
    as_json: bool,
    as_jsonl: bool,
) -> None:
    """Import transcript files or directories (recursive); re-importing adds only what is new.

    Messages imported before are corrected where the file now says otherwise (e.g.
    hidden by a compaction written since). Skipped lines are listed as file:line with
    the reason. --dry-run lists exactly the files an import would read, and those it
    would skip. A file that cannot be imported is reported as "Error: <why> (<file>)"
    and the others are still imported; then the exit status is 1.
    """
    targets: list[tuple[str | None, Path]] = [(fmt, p) for p in paths]
    if discover:
        found = [(str(name), Path(path)) for name, path in find_default_locations()]
        for found_fmt, path in found:
            click.echo(f"found {found_fmt}: {path}", err=True)
        # The location's format is only a hint: each file's own content decides.
        targets.extend((fmt, path) for _, path in found)
        if not found:
            click.echo("No agent transcripts found in the default locations.", err=True)
            if not paths:
                return
    if not targets:
        raise click.UsageError("give PATH... or --discover")
    for _, path in targets:
        if not path.exists():
            fail("no such file or directory", path)
    if dry_run:
        own = _own_database(app.url)
        planned = [item for f, path in targets for item in _transcripts(path, f, own)]
        listing = [
            {k: item[k] for k in ("path", "format", "bytes")} for item in planned if item["format"]
        ]
        if as_jsonl:
            r.emit_jsonl(listing)
        elif as_json:
            r.emit_json(listing)
        else:
            for item in planned:
                if item["format"] is None:
                    click.echo(f"would skip {item['path']}: {item['reason']}", err=True)
                else:
                    click.echo(f"{item['path']}\t{item['format']}\t{item['bytes']} bytes")
            click.echo(f"{len(listing)} file(s) would be imported", err=True)
        return
    store = app.store()
    reports: list[tuple[str, ImportReport]] = []
    progress_console = r.err_console()
    # Not on a terminal a progress bar is only noise (rich would leave a blank line).
    show_progress = not quiet and not as_json and not as_jsonl and progress_console.is_terminal
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed:,} messages"),
        TimeElapsedColumn(),
        console=progress_console,
        transient=True,
        disable=not show_progress,
    ) as progress:
        for target_fmt, path in targets:
            task = progress.add_task(f"importing {path.name}", total=None)

            def advance(added: int, task: Any = task) -> None:
                # The importer reports the running count of messages added so far.
                progress.update(task, completed=added)

            reports.append(
                (str(path), store.import_path(path, format=target_fmt, progress=advance))
            )
            progress.remove_task(task)
    documents = [{"path": path, **r.jsonable(report)} for path, report in reports]
    if as_jsonl:
        r.emit_jsonl(documents)
    elif as_json:
        r.emit_json(documents)
    else:
        out = r.console()
        out.print(r.import_summary(reports))
        for _, report in reports:
            for line in report.skipped:
                click.echo(f"skipped {line}", err=True)
            for file, error in report.errors.items():
                # The import goes on past a bad file: one Error line per file that failed.
                click.echo(f"Error: {' '.join(error.split())} ({file})", err=True)
    if any(report.errors for _, report in reports):
        raise click.exceptions.Exit(1)


@click.command("export")
@click.argument("session_id", metavar="[ID]", required=False)
@click.option("--all", "every", is_flag=True, help="Every session, one file each (needs -o DIR).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(EXPORT_FORMATS),
    default="jsonl",
    show_default=True,
    help="jsonl is lossless and re-importable.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Write to this file (a directory with --all) instead of stdout.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help='Print one JSON document: {"format", "exports": [{"session_id", "path", "bytes"}]}; '
    'without -o an export has "path": null and its text in "content".',
)
@jsonl_lines("per export, as in --json (streams)")
@pass_app
def export_command(
    app: App,
    session_id: str | None,
    every: bool,
    fmt: str,
    output: Path | None,
    as_json: bool,
    as_jsonl: bool,
) -> None:
    """Export a session (or --all into a directory) as jsonl, markdown or openai JSON.

    With --all each session goes to a new file named after its id; ids that are not
    plain file names (team:a, team/a, Run) get a short hash of the exact id, and an
    existing file is never overwritten (the new one gets ~2, ~3...).
    """
    if every == (session_id is not None):
        raise click.UsageError("give exactly one of ID or --all")
    if every and output is None:
        raise click.UsageError("--all needs -o DIR")
    store = app.store()
    scripted = as_json or as_jsonl
    exports: list[dict[str, Any]] = []  # kept for --json only; --jsonl streams

    def report(page: list[dict[str, Any]]) -> None:
        if as_jsonl:
            r.emit_jsonl(page)
        elif as_json:
            exports.extend(page)

    if session_id is not None:
        text = store.export(session_id, fmt)
        entry: dict[str, Any] = {"session_id": session_id, "path": None, "bytes": _size(text)}
        if output is None:
            if not scripted:
                click.echo(text, nl=not text.endswith("\n"))
            entry["content"] = text
        else:
            output.write_text(text, encoding="utf-8")
            entry["path"] = str(output)
            if not scripted:
                click.echo(f"Wrote {output}", err=True)
        report([entry])
    else:
        assert output is not None
        output.mkdir(parents=True, exist_ok=True)
        count = 0
        cursor: str | None = None
        while True:
            page = store.list_sessions(limit=STREAM_PAGE, cursor=cursor)
            written = []
            for session in page.items:
                text = store.export(session.id, fmt)
                path = write_new_file(output, session.id, EXTENSIONS[fmt], text)
                written.append({"session_id": session.id, "path": str(path), "bytes": _size(text)})
            report(written)
            count += len(written)
            cursor = page.next_cursor
            if cursor is None:
                break
        if not scripted:
            click.echo(f"Wrote {count} session(s) to {output}", err=True)
    if as_json and not as_jsonl:
        r.emit_json({"format": fmt, "exports": exports})


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


COMMANDS = [import_command, export_command]
