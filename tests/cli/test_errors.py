"""Every CLI error is one line, ``Error: <what> (<which id/file>)``, exit status 1, no
traceback: per kind of error, per command that opens the database, in-process and as a
real process, on every backend."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from importlib.resources import files
from pathlib import Path

import pytest

from sessiondb.cli import main

SAMPLE = Path(str(files("sessiondb") / "samples" / "codex"))
ERROR_LINE = re.compile(r"Error: (?P<what>.+) \((?P<which>.+)\)\n")
TOO_NEW = re.compile(
    r"schema version 999 is newer than this sessiondb knows \(\d+\); "
    r"upgrade sessiondb, nothing was changed"
)


def error_line(stderr: str) -> tuple[str, str]:
    """(what, which) of the one ``Error:`` line that is all of ``stderr``."""
    match = ERROR_LINE.fullmatch(stderr)
    assert match, stderr
    assert "Traceback" not in stderr
    return match["what"], match["which"]


def assert_error(result, what: str, which: str) -> None:
    assert result.exit_code == 1, (result.output, result.exception)
    assert error_line(result.stderr) == (what, which)


# --------------------------------------------------------------------------- each kind


@pytest.mark.parametrize(
    ("args", "stdin"),
    [
        (["show", "nope"], None),
        (["show", "nope", "--json"], None),
        (["tree", "nope"], None),
        (["fork", "nope"], None),
        (["compact", "nope", "--summary", "x"], None),
        (["rm", "nope", "-y"], None),
        (["export", "nope"], None),
        (["search", "hello", "--session", "nope"], None),
        (["append", "nope"], '{"role": "user", "content": "hi"}\n'),
        (["append", "nope"], ""),
    ],
)
def test_a_missing_session_is_named_in_one_error_line(cli, args, stdin):
    cli.store()
    assert_error(cli.run(*args, input=stdin), "no such session", "nope")


def test_an_id_that_is_taken_or_a_parent_that_is_missing_is_named(cli):
    cli.store().create_session("a")
    assert_error(cli.run("new", "--id", "a"), "session already exists", "a")
    assert_error(cli.run("new", "--parent", "zz"), "no such parent session", "zz")
    assert_error(cli.run("new", "--id", ""), "must not be empty", "id")


@pytest.mark.parametrize(
    ("query", "what"),
    [
        ("---", "no words to search for"),
        ('""', "no words to search for"),
        ("-draft", "only exclusions (-word); add at least one word to search for"),
        ("x" * 1001, "a word is too long to have been indexed"),
    ],
)
def test_a_query_that_cannot_be_searched_names_the_query(cli, query, what):
    cli.store()
    named = f"query {query!r}" if len(query) < 80 else f"query {query[:80]!r}..."
    assert_error(cli.run("search", "--", query), what, named)
    assert_error(cli.run("search", "--sessions", "--", query), what, named)


def test_a_cursor_sessiondb_did_not_make_is_named(cli):
    cli.store()
    assert_error(
        cli.run("search", "hi", "--cursor", "zzz"), "not a cursor sessiondb made", "cursor 'zzz'"
    )


def test_bad_files_are_named(cli, tmp_path):
    cli.store().create_session("s")
    missing = tmp_path / "nope.jsonl"
    assert_error(cli.run("import", str(missing)), "no such file or directory", str(missing))
    notes = tmp_path / "notes.txt"
    notes.write_text("just some notes\n", encoding="utf-8")
    assert_error(cli.run("import", str(notes)), "format not recognized", str(notes))
    header = tmp_path / "bad.jsonl"
    header.write_text('{"type": "x"}\n', encoding="utf-8")
    result = cli.run("import", str(header), "--format", "pi")
    # The line in the reason, the file once, as the subject.
    assert_error(
        result, "BadTranscript: line 1: the first line is not pi's session header", str(header)
    )
    torn = tmp_path / "hdr" / "20250101_000000.jsonl"
    torn.parent.mkdir()
    torn.write_text(
        '{"working_dir":"/root","descr\n'
        '{"role":"user","created":1,"content":[{"type":"text","text":"hi"}]}\n',
        encoding="utf-8",
    )
    result = cli.run("import", str(torn), "--format", "goose")
    what, which = error_line(result.stderr)  # the one line: line 1 is not also "skipped"
    assert result.exit_code == 1
    assert which == str(torn)
    assert what.startswith("BadTranscript: line 1: the first line is not goose's session metadata")
    assert "not JSON" in what and str(torn) not in what
    target = tmp_path / "no" / "dir" / "s.jsonl"
    assert_error(
        cli.run("export", "s", "-o", str(target)), "No such file or directory", str(target)
    )


def test_bad_stdin_for_append_names_the_line(cli):
    cli.store().create_session("s")
    result = cli.run("append", "s", input='{"role": "user", "content": "ok"}\nnot json\n')
    assert result.exit_code == 1
    what, which = error_line(result.stderr)
    assert what.startswith("not JSON: ")
    assert which == "stdin:2"
    assert_error(
        cli.run("append", "s", input="[1]\n"), "expected a JSON object, got list", "stdin:1"
    )
    assert cli.store().messages("s") == []  # all or nothing


def test_an_archive_directory_that_cannot_be_made_is_named(cli, tmp_path):
    db = cli.store()
    db.create_session("s")
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = cli.run("prune", "--older-than", "0s", "--archive", str(blocker / "sub"))
    assert_error(
        result, "cannot create the archive directory (Not a directory)", str(blocker / "sub")
    )
    assert cli.store().get_session("s").id == "s"


def test_a_url_with_an_unknown_scheme_is_named(tmp_path):
    from click.testing import CliRunner

    result = CliRunner().invoke(main, ["--db", "mysql://me:secret@x/y", "list"])
    assert_error(
        result,
        "unknown scheme 'mysql': use a path, sqlite:/// or postgresql://",
        "mysql://me:***@x/y",
    )


# --------------------------------------------------------------------------- newer schema

# Every command that opens the database, with arguments that would otherwise succeed.
OPENING = {
    "list": ["list"],
    "show": ["show", "s"],
    "search": ["search", "hello"],
    "tree": ["tree", "s"],
    "stats": ["stats"],
    "import": ["import", str(SAMPLE)],
    "export": ["export", "s"],
    "new": ["new"],
    "append": ["append", "s"],
    "rm": ["rm", "s", "-y"],
    "compact": ["compact", "s", "--summary", "x"],
    "fork": ["fork", "s"],
    "recover": ["recover"],
    "doctor": ["doctor"],
    "migrate": ["migrate"],
    "migrate --check": ["migrate", "--check"],
    "prune": ["prune", "--older-than", "1d"],
}


def test_the_newer_schema_test_covers_every_command_that_opens_the_database():
    # path never opens the database; serve is covered as a real process below.
    assert {args[0] for args in OPENING.values()} | {"path", "serve"} == set(main.commands)


@pytest.mark.parametrize("args", list(OPENING.values()), ids=list(OPENING))
def test_every_command_refuses_a_database_from_a_newer_sessiondb_in_one_line(cli, args):
    db = cli.store()
    db.create_session("s")
    db.append("s", {"role": "user", "content": "hello"})
    cli.make_newer()
    result = cli.run(*args, input='{"role": "user", "content": "hi"}\n')
    assert result.exit_code == 1, (result.output, result.exception)
    what, which = error_line(result.stderr)
    assert TOO_NEW.fullmatch(what), what
    assert which == cli.database
    assert result.stdout == ""


# --------------------------------------------------------------------------- real processes


def assert_process_error(proc: subprocess.CompletedProcess[str], what, which) -> None:
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == ""
    got_what, got_which = error_line(proc.stderr)
    assert got_which == which
    assert what.fullmatch(got_what) if isinstance(what, re.Pattern) else got_what == what


def test_error_paths_of_a_real_process_are_one_line_and_exit_1(cli, tmp_path):
    cli.store()
    assert_process_error(cli.subprocess("show", "nope", "--json"), "no such session", "nope")
    assert_process_error(cli.subprocess("tree", "nope", "--json"), "no such session", "nope")
    missing = tmp_path / "nope.jsonl"
    assert_process_error(
        cli.subprocess("import", str(missing), "--json"), "no such file or directory", str(missing)
    )
    notes = tmp_path / "notes.txt"
    notes.write_text("just some notes\n", encoding="utf-8")
    proc = cli.subprocess("import", str(notes))
    assert proc.returncode == 1
    assert error_line(proc.stderr) == ("format not recognized", str(notes))
    assert_process_error(
        cli.subprocess("search", "--json", "--", "---"), "no words to search for", "query '---'"
    )


@pytest.mark.parametrize(
    "args", [["list", "--json"], ["serve", "--port", "0"]], ids=["list", "serve"]
)
def test_a_real_process_refuses_a_newer_schema_in_one_line(cli, args):
    cli.make_newer()
    assert_process_error(cli.subprocess(*args), TOO_NEW, cli.database)


# --------------------------------------------------------------------------- unreachable server

UNREACHABLE = "postgresql://nouser@127.0.0.1:1/x"


def test_an_unreachable_postgres_fails_at_once_with_one_error_line():
    pytest.importorskip("psycopg")
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "sessiondb", "--db", UNREACHABLE, "list"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    elapsed = time.monotonic() - start
    assert proc.returncode == 1
    what, which = error_line(proc.stderr)  # no pool warnings before it
    assert which == UNREACHABLE
    assert what.startswith("cannot connect to PostgreSQL: ")
    assert "refused" in what
    assert elapsed < 5, elapsed


@pytest.mark.parametrize(("debug", "shown"), [(False, False), (True, True)])
def test_the_drivers_log_stays_off_stderr_unless_debug(tmp_path, debug, shown):
    # What the pool logs while it retries (a multi-line warning per attempt) would
    # otherwise reach stderr through logging's last-resort handler.
    flags = ["--debug"] if debug else []
    code = (
        "import logging\n"
        "from sessiondb.cli import main\n"
        "try:\n"
        f"    main([*{flags!r}, '--db', {str(tmp_path / 'x.db')!r}, 'path'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "logging.getLogger('psycopg.pool').warning('error connecting in %r', 'sessiondb')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert ("error connecting in 'sessiondb'" in proc.stderr) is shown
