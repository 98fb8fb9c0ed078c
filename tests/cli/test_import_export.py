"""import and export from the command line, with the bundled real sample transcripts."""

from __future__ import annotations

import json
import re
import shutil
from importlib.resources import files
from pathlib import Path

from sessiondb.cli import main

SAMPLES = Path(str(files("sessiondb") / "samples"))


def test_import_of_a_missing_path_fails_naming_it(cli, tmp_path):
    result = cli.run("import", str(tmp_path / "nope.jsonl"))
    assert result.exit_code == 1
    assert result.stderr == f"Error: no such file or directory ({tmp_path / 'nope.jsonl'})\n"


def test_import_without_paths_is_a_usage_error(cli):
    assert cli.run("import").exit_code == 2


def test_import_dry_run_lists_each_transcript_with_its_format_and_imports_nothing(cli):
    doc = json.loads(cli.ok("import", str(SAMPLES), "--dry-run", "--json").stdout)
    assert sorted((Path(item["path"]).parent.name, item["format"]) for item in doc) == [
        ("claude_code", "claude_code"),
        ("claude_code", "claude_code"),
        ("codex", "codex"),
        ("nanobot", "nanobot"),
    ]
    assert cli.store().list_sessions().items == []


def test_import_dry_run_jsonl_lists_one_transcript_per_line(cli):
    listed = json.loads(cli.ok("import", str(SAMPLES), "--dry-run", "--json").stdout)
    lines = cli.ok("import", str(SAMPLES), "--dry-run", "--jsonl").stdout.splitlines()
    assert [json.loads(line) for line in lines] == listed
    assert cli.store().list_sessions().items == []


def test_import_jsonl_prints_one_report_per_path(cli, tmp_path):
    lines = cli.ok("import", str(SAMPLES / "codex"), str(SAMPLES / "nanobot"), "--jsonl").stdout
    reports = [json.loads(line) for line in lines.splitlines()]
    assert [r["path"] for r in reports] == [str(SAMPLES / "codex"), str(SAMPLES / "nanobot")]
    assert all(r["sessions_created"] == 1 for r in reports)


def test_import_dry_run_lists_exactly_the_files_the_import_reads(cli, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(Path(__file__).parent.parent / "importers" / "data", data)
    listed = cli.run("import", str(data), "--dry-run", "--json")
    assert listed.exit_code == 0, listed.output
    listing = json.loads(listed.stdout)
    # picoclaw's *.migrated backups are not transcripts: never listed as openai_chat.
    assert not [item for item in listing if item["path"].endswith((".migrated", ".meta.json"))]
    text = cli.run("import", str(data), "--dry-run")
    assert f"{len(listing)} file(s) would be imported" in text.stderr
    assert "would skip" in text.stderr and "format not recognized" in text.stderr
    (report,) = json.loads(cli.ok("import", str(data), "--json").stdout)
    assert report["files"] + len(report["errors"]) == len(listing)
    read = {Path(s["metadata"]["import"]["file"]) for s in _sessions(cli)}
    assert read <= {Path(item["path"]).resolve() for item in listing}


def _sessions(cli):
    page = cli.store().list_sessions(limit=1000)
    return [{"metadata": s.metadata} for s in page.items if "import" in s.metadata]


def test_import_discover_finds_the_tools_default_locations(cli, tmp_path):
    home = tmp_path / "home"
    sessions = home / ".codex" / "sessions" / "2026" / "06" / "05"
    sessions.mkdir(parents=True)
    sample = SAMPLES / "codex" / "agent-history_real_codex-0.135.0_session-01.jsonl"
    (sessions / "rollout-1.jsonl").write_bytes(sample.read_bytes())
    env = {"HOME": str(home), "CODEX_HOME": None, "CLAUDE_CONFIG_DIR": None, "XDG_DATA_HOME": None}
    listed = cli.run("import", "--discover", "--dry-run", "--json", env=env)
    assert listed.exit_code == 0, listed.output
    assert f"found codex: {home / '.codex' / 'sessions'}" in listed.stderr
    assert [item["format"] for item in json.loads(listed.stdout)] == ["codex"]
    assert cli.store().list_sessions().items == []
    imported = cli.run("import", "--discover", "--json", env=env)
    assert json.loads(imported.stdout)[0]["sessions_created"] == 1
    assert len(cli.store().list_sessions().items) == 1


def test_import_with_an_unknown_format_is_a_usage_error(cli):
    assert cli.run("import", str(SAMPLES), "--format", "wordperfect").exit_code == 2


def test_import_reports_a_summary_and_is_idempotent(cli):
    first = json.loads(cli.ok("import", str(SAMPLES), "--json").stdout)
    assert first[0]["sessions_created"] >= 4
    assert first[0]["messages_added"] > 0
    again = json.loads(cli.ok("import", str(SAMPLES), "--json").stdout)
    assert again[0]["messages_added"] == 0
    table = cli.ok("import", str(SAMPLES)).stdout
    assert "created" in table


def test_import_lists_skipped_lines_with_file_and_line(cli, tmp_path):
    source = SAMPLES / "nanobot" / "nanobot_v035_tool_calls.jsonl"
    lines = source.read_text(encoding="utf-8").splitlines()
    broken = tmp_path / "broken.jsonl"
    broken.write_text("\n".join([*lines[:3], "{not json", *lines[3:]]) + "\n", encoding="utf-8")
    result = cli.run("import", str(broken), "--format", "nanobot")
    assert result.exit_code == 0, result.output
    assert f"{broken}:4" in result.stderr


def test_export_jsonl_round_trips_through_import(cli, tmp_path):
    db = cli.store()
    db.create_session("s", title="round trip")
    db.append("s", [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}])
    out = tmp_path / "s.jsonl"
    cli.ok("export", "s", "-o", str(out))
    db.delete_session("s")
    cli.ok("import", str(out))
    assert [m.text for m in cli.store().messages("s")] == ["hi", "yo"]


def test_export_markdown_and_show_markdown_print_the_transcript(cli):
    db = cli.store()
    db.create_session("s", title="md")
    db.append("s", {"role": "user", "content": "hello markdown"})
    assert "hello markdown" in cli.ok("export", "s", "--format", "markdown").stdout
    assert "hello markdown" in cli.ok("show", "s", "--markdown").stdout


def test_export_all_writes_one_file_per_session(cli, tmp_path):
    db = cli.store()
    for sid in ("a", "b"):
        db.create_session(sid)
        db.append(sid, {"role": "user", "content": sid})
    cli.ok("export", "--all", "--format", "openai", "-o", str(tmp_path / "out"))
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.json", "b.json"]
    assert isinstance(json.loads((tmp_path / "out" / "a.json").read_text()), list | dict)


COLLIDING = ["team:a", "team/a", "team_a", "Team_a"]  # one file name if sanitized naively


def test_export_all_gives_ids_that_sanitize_alike_their_own_files_and_reimports_them(cli, tmp_path):
    db = cli.store()
    for sid in COLLIDING:
        db.create_session(sid)
        db.append(sid, {"role": "user", "content": f"only in {sid}"})
    out = tmp_path / "out"
    doc = json.loads(cli.ok("export", "--all", "-o", str(out), "--json").stdout)
    assert doc["format"] == "jsonl"
    assert sorted(e["session_id"] for e in doc["exports"]) == sorted(COLLIDING)
    paths = sorted(e["path"] for e in doc["exports"])
    assert paths == sorted(str(p) for p in out.iterdir())
    assert len(set(paths)) == 4
    for sid in COLLIDING:
        db.delete_session(sid)
    cli.ok("import", str(out))
    for sid in COLLIDING:
        assert [m.text for m in cli.store().messages(sid)] == [f"only in {sid}"]


def test_export_all_again_into_the_same_directory_overwrites_nothing(cli, tmp_path):
    db = cli.store()
    db.create_session("s")
    db.append("s", {"role": "user", "content": "first"})
    out = tmp_path / "out"
    cli.ok("export", "--all", "-o", str(out))
    db.append("s", {"role": "user", "content": "second"})
    lines = cli.ok("export", "--all", "-o", str(out), "--jsonl").stdout.splitlines()
    assert [json.loads(line)["path"] for line in lines] == [str(out / "s~2.jsonl")]
    assert "second" not in (out / "s.jsonl").read_text(encoding="utf-8")
    assert "second" in (out / "s~2.jsonl").read_text(encoding="utf-8")


def test_export_json_describes_what_was_written_or_carries_the_content(cli, tmp_path):
    db = cli.store()
    db.create_session("s")
    db.append("s", {"role": "user", "content": "hi"})
    target = tmp_path / "s.md"
    doc = json.loads(
        cli.ok("export", "s", "--format", "markdown", "-o", str(target), "--json").stdout
    )
    text = target.read_text(encoding="utf-8")
    assert doc == {
        "format": "markdown",
        "exports": [{"session_id": "s", "path": str(target), "bytes": len(text.encode())}],
    }
    inline = json.loads(cli.ok("export", "s", "--json").stdout)["exports"][0]
    assert inline["path"] is None
    assert inline["content"] == db.export("s", "jsonl")
    line = json.loads(cli.ok("export", "s", "--jsonl").stdout)
    assert line["content"] == inline["content"]


def test_export_needs_exactly_one_of_id_and_all(cli):
    assert cli.run("export").exit_code == 2
    assert cli.run("export", "x", "--all", "-o", "d").exit_code == 2
    assert cli.run("export", "--all").exit_code == 2


def test_export_of_a_missing_session_fails(cli):
    result = cli.run("export", "ghost")
    assert result.exit_code == 1
    assert "ghost" in result.stderr


def test_import_of_a_file_that_is_no_transcript_reports_it_and_exits_1(cli, tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("just some notes\n", encoding="utf-8")
    result = cli.run("import", str(junk))
    assert result.exit_code == 1
    assert result.stderr == f"Error: format not recognized ({junk})\n"
    assert "Traceback" not in result.output


def test_export_into_a_missing_directory_is_one_error_line_naming_the_file(cli, tmp_path):
    db = cli.store()
    db.create_session("s")
    target = tmp_path / "no" / "such" / "dir" / "s.jsonl"
    result = cli.run("export", "s", "-o", str(target))
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")
    assert str(target) in result.stderr


def test_the_source_examples_in_list_help_are_sources_that_import_stores(cli):
    cli.ok("import", str(SAMPLES))
    [option] = [p for p in main.commands["list"].params if p.name == "source"]
    examples = re.search(r"e\.g\. ([^;)]+)", option.help or "")
    assert examples
    names = [name.strip() for name in examples[1].split(",")]
    assert names == ["claude-code", "codex"]
    for name in names:
        listed = json.loads(cli.ok("list", "--source", name, "--json").stdout)
        assert listed, name
        assert {s["source"] for s in listed} == {name}
    stats = json.loads(cli.ok("stats", "--by", "source", "--json").stdout)  # as the help says
    assert set(names) <= {group["key"] for group in stats["groups"]}


def test_the_examples_in_the_help_texts_work_as_written(cli):
    db = cli.store()
    sid = cli.ok("new", "--metadata", '{"team": "infra"}').stdout.strip()
    assert db.get_session(sid).metadata == {"team": "infra"}
    cli.ok("append", sid, input='{"role": "user", "content": "hi"}\n')  # append's docstring
    db.append(sid, {"role": "user", "content": "the quarterly report"})
    found = json.loads(cli.ok("search", "--json", "--", "-draft report").stdout)  # search's
    assert [hit["snippet"] for hit in found["items"]] == ["the quarterly [report]"]
    for when in ("2025-01-31", "2025-01-31T12:00", "7d", "12h"):
        assert json.loads(cli.ok("list", "--since", when, "--json").stdout)[0]["id"] == sid
    for age in ("90d", "12w", "36h", "1h30m", "2w"):
        assert json.loads(cli.ok("prune", "--older-than", age, "--dry-run", "--json").stdout)
    assert json.loads(cli.ok("search", "hi", "--marks", "[,]", "--json").stdout)["items"]
