"""``python -m sessiondb.demo`` (the README's ``make run``): sessiondb working in one command.

Imports the sample transcripts bundled in ``sessiondb/samples`` (real Claude Code, Codex
and nanobot files, see their PROVENANCE.md) into a local database, then runs the
command line's ``list``, ``show`` and ``search`` on it, printing each command first so
it can be copied. Running it again imports nothing new (imports are incremental).
With ``--serve`` (what ``make run`` passes) it then serves the web UI and API on
loopback and prints the URL.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from importlib.resources import as_file, files
from pathlib import Path

import click

from . import connect

DEFAULT_DB = Path(".sessiondb-demo") / "sessions.db"
SEARCH = "file"


def _run(args: list[str]) -> None:
    """Run one ``sessiondb`` command in this process, echoing it like a shell would."""
    from .cli import main

    print(f"\n$ sessiondb {shlex.join(args)}", flush=True)
    try:
        main.main(args, prog_name="sessiondb", standalone_mode=False)
    except click.ClickException as exc:
        exc.show()  # the same one line the command prints on its own
        sys.exit(exc.exit_code)
    sys.stdout.flush()


def demo(db: Path = DEFAULT_DB) -> None:
    """Import the samples into ``db`` and show them with ``list``, ``show`` and ``search``."""
    base = ["--db", str(db)]
    with as_file(files("sessiondb") / "samples") as samples:
        _run([*base, "import", "--quiet", str(samples)])
    store = connect(db)
    try:
        sessions = store.list_sessions(limit=50).items
    finally:
        store.close()
    if not sessions:
        print("no sessions were imported", file=sys.stderr)
        return
    _run([*base, "list"])
    # The longest conversation makes the best example of a transcript.
    busiest = max(sessions, key=lambda s: s.message_count)
    _run([*base, "show", busiest.id, "--last", "12"])
    _run([*base, "search", SEARCH, "--sessions"])  # hits grouped by session
    print(f"\nThe database is {db}; try `sessiondb --db {db} --help`.")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sessiondb.demo", description=__doc__)
    parser.add_argument("--db", type=Path, default=DEFAULT_DB, help=f"default: {DEFAULT_DB}")
    parser.add_argument(
        "--serve", action="store_true", help="then serve the web UI and API (until Ctrl-C)"
    )
    parser.add_argument("--port", type=int, default=8765, help="port for --serve (8765)")
    args = parser.parse_args(argv)
    demo(args.db)
    if args.serve:
        from .server import run

        print(f"\nWeb UI and API: http://127.0.0.1:{args.port}/ (Ctrl-C stops)", flush=True)
        run(str(args.db), port=args.port)


if __name__ == "__main__":
    main()
