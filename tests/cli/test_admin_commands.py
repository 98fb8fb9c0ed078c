"""path, doctor, migrate, prune, --version, and how errors and colours look."""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner

from sessiondb import NewMessage, __version__
from sessiondb.cli import main

OLD = datetime.now(UTC) - timedelta(days=200)


def old_session(db, session_id, *, parent_id=None, status="active"):
    db.create_session(
        session_id,
        parent_id=parent_id,
        status=status,
        relation="subagent" if parent_id else None,
        created_at=OLD,
    )
    db.append(session_id, [NewMessage({"role": "user", "content": "long ago"}, created_at=OLD)])


def test_version_prints_the_package_version():
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"sessiondb {__version__}\n"


def test_path_prints_db_from_option_then_environment(tmp_path):
    runner = CliRunner()
    assert runner.invoke(main, ["--db", "x.db", "path"]).stdout == "x.db\n"
    env = {"SESSIONDB_URL": str(tmp_path / "env.db")}
    assert runner.invoke(main, ["path", "--json"], env=env).stdout.strip() == json.dumps(
        {"url": str(tmp_path / "env.db")}, indent=2
    ).replace("\n", "\n")
    assert not (tmp_path / "env.db").exists()  # path does not open the database


def test_path_hides_a_password_in_the_url():
    result = CliRunner().invoke(main, ["--db", "postgresql://me:s3cret@db:5432/x?schema=a", "path"])
    assert result.stdout == "postgresql://me:***@db:5432/x?schema=a\n"


def test_unknown_command_and_bad_url_exit_with_the_right_status(tmp_path):
    runner = CliRunner()
    assert runner.invoke(main, ["frobnicate"]).exit_code == 2
    result = runner.invoke(main, ["--db", "mysql://x/y", "list"])
    assert result.exit_code == 1
    assert (
        result.stderr
        == "Error: unknown scheme 'mysql': use a path, sqlite:/// or postgresql:// (mysql://x/y)\n"
    )


def test_schema_option_on_a_sqlite_url_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(main, ["--db", str(tmp_path / "a.db"), "--schema", "s", "list"])
    assert result.exit_code == 2


def test_doctor_reports_a_healthy_database(cli):
    cli.store().create_session("s")
    doc = json.loads(cli.ok("doctor", "--json").stdout)
    assert doc["ok"] is True
    assert doc["problems"] == []
    assert doc["sessions"] == 1
    assert doc["pending_migrations"] == []
    assert doc["schema_version"] >= 2
    result = cli.ok("doctor")
    assert "schema_version" in result.stdout
    assert result.stderr.strip() == "ok"


def test_doctor_exits_1_when_counters_disagree(cli):
    db = cli.store()
    db.create_session("s")
    db.append("s", {"role": "user", "content": "hi"})
    cli.raw_sql("UPDATE sessions SET message_count = 7")  # behind the library's back
    result = cli.run("doctor")
    assert result.exit_code == 1
    assert "problem: session 's': counters disagree with its messages" in result.stderr
    doc = json.loads(cli.run("doctor", "--json").stdout)
    assert doc["ok"] is False
    assert doc["problems"] == ["session 's': counters disagree with its messages"]
    assert cli.subprocess("doctor", "--json").returncode == 1


def test_migrate_check_reports_nothing_pending_on_a_current_database(cli):
    cli.store()
    doc = json.loads(cli.ok("migrate", "--check", "--json").stdout)
    assert doc["pending"] == []
    assert doc["schema_version"] >= 2
    assert json.loads(cli.ok("migrate", "--json").stdout)["applied"] == []


def test_migrate_check_only_reports_and_migrate_applies_every_pending_migration(cli):
    # Nothing opened it yet: an empty SQLite file, a PostgreSQL schema not yet created.
    check = cli.run("migrate", "--check")
    assert check.exit_code == 1
    pending = check.stdout.split()
    assert pending[0] == "0001_initial.sql"
    assert "pending migration(s)" in check.stderr
    assert cli.run("migrate", "--check").stdout.split() == pending  # nothing was applied
    in_a_process = cli.subprocess("migrate", "--check", "--json")
    assert in_a_process.returncode == 1
    assert json.loads(in_a_process.stdout)["pending"] == pending
    applied = cli.run("migrate", "--json")
    assert applied.exit_code == 0
    assert json.loads(applied.stdout)["applied"] == pending
    assert cli.run("migrate", "--check").exit_code == 0
    assert cli.run("new").exit_code == 0


def test_doctor_on_an_unmigrated_database_names_the_pending_migrations(cli):
    result = cli.run("doctor", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["pending_migrations"][0] == "0001_initial.sql"


def test_prune_dry_run_lists_idle_sessions_and_deletes_nothing(cli):
    db = cli.store()
    old_session(db, "old")
    db.create_session("new")
    db.append("new", {"role": "user", "content": "today"})
    doc = json.loads(cli.ok("prune", "--older-than", "90d", "--dry-run", "--json").stdout)
    assert doc["session_ids"] == ["old"]
    assert doc["dry_run"] is True
    assert doc["messages"] == 1
    assert {s.id for s in cli.store().list_sessions().items} == {"old", "new"}


def test_prune_deletes_idle_sessions_with_their_subtrees(cli):
    db = cli.store()
    old_session(db, "old")
    db.create_session("kid", parent_id="old", relation="subagent")  # recent, but goes along
    old_session(db, "done", status="completed")
    db.create_session("new")
    result = cli.ok("prune", "--older-than", "90d", "--status", "active")
    assert sorted(result.stdout.split()) == ["kid", "old"]
    assert "deleted 2 session(s)" in result.stderr
    assert {s.id for s in cli.store().list_sessions().items} == {"done", "new"}


def test_prune_without_older_than_is_a_usage_error(cli):
    assert cli.run("prune").exit_code == 2
    assert cli.run("prune", "--older-than", "ninety days").exit_code == 2


def test_prune_archive_into_an_unusable_directory_deletes_nothing(cli, tmp_path):
    db = cli.store()
    old_session(db, "old")
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = cli.run("prune", "--older-than", "90d", "--archive", str(blocker / "sub"))
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")
    assert cli.store().get_session("old").id == "old"


def test_output_has_no_colour_codes_with_no_color_even_when_forced(cli):
    db = cli.store()
    db.create_session("s")
    db.append("s", {"role": "user", "content": "hi"})
    forced = cli.run("show", "s", env={"FORCE_COLOR": "1"})
    assert re.search("\x1b\\[[0-9;]*m", forced.stdout)  # the control: colour when forced
    plain = cli.run("show", "s", env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert not re.search("\x1b\\[[0-9;]*3[0-9]m", plain.stdout)  # no foreground colours
    assert "hi" in plain.stdout


def test_errors_never_print_a_traceback(cli):
    for args in (["show", "x"], ["fork", "x"], ["tree", "x"], ["export", "x"], ["rm", "x", "-y"]):
        result = cli.run(*args)
        assert result.exit_code == 1, (args, result.output, result.exception)
        assert "Traceback" not in result.output
        assert result.stderr.startswith("Error: ")


def _last_vacuum_of_messages(cli):
    """pg_stat_user_tables.last_vacuum of the messages table (set by a manual VACUUM only)."""
    import psycopg

    with psycopg.connect(cli.url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT last_vacuum FROM pg_stat_user_tables "
            "WHERE schemaname = %s AND relname = 'messages'",
            [cli.options["schema"]],
        ).fetchone()
    return row[0]


def test_prune_reclaims_the_space_of_what_it_deleted(cli):
    db = cli.store()
    for i in range(30):
        db.create_session(f"old{i}", created_at=OLD)
        batch = [
            NewMessage({"role": "user", "content": f"s{i}m{j} " * 150}, created_at=OLD)
            for j in range(20)
        ]
        db.append(f"old{i}", batch)
    db.create_session("keep")
    if cli.backend == "sqlite":
        db.vacuum()  # checkpoint first: the size below is all data
        before = os.path.getsize(cli.url)
    else:
        assert _last_vacuum_of_messages(cli) is None  # the control: never vacuumed
    result = cli.ok("prune", "--older-than", "90d", "--json")
    assert len(json.loads(result.stdout)["session_ids"]) == 30
    if cli.backend == "sqlite":
        after = os.path.getsize(cli.url)
        assert after < before / 4, (before, after)
    else:
        assert _last_vacuum_of_messages(cli) is not None


def test_prune_archive_keeps_ids_that_sanitize_alike_apart_and_the_archive_reimports(cli, tmp_path):
    db = cli.store()
    for sid in ("team:a", "team/a"):
        old_session(db, sid)
    archive = tmp_path / "archive"
    lines = cli.ok("prune", "--older-than", "90d", "--archive", str(archive), "--jsonl").stdout
    rows = [json.loads(line) for line in lines.splitlines()]
    assert sorted(row["session_id"] for row in rows) == ["team/a", "team:a"]
    assert all(row["dry_run"] is False for row in rows)
    assert sorted(row["archive"] for row in rows) == sorted(str(p) for p in archive.iterdir())
    assert len({row["archive"] for row in rows}) == 2
    assert cli.store().list_sessions().items == []
    cli.ok("import", str(archive))
    assert sorted(s.id for s in cli.store().list_sessions().items) == ["team/a", "team:a"]
    assert cli.store().messages("team/a")[0].text == "long ago"


def test_prune_dry_run_jsonl_lists_each_session_and_deletes_nothing(cli):
    db = cli.store()
    old_session(db, "old")
    old_session(db, "kid", parent_id="old")
    lines = cli.ok("prune", "--older-than", "90d", "--dry-run", "--jsonl").stdout.splitlines()
    assert sorted((json.loads(line) for line in lines), key=lambda row: row["session_id"]) == [
        {"session_id": "kid", "archive": None, "dry_run": True},
        {"session_id": "old", "archive": None, "dry_run": True},
    ]
    assert {s.id for s in cli.store().list_sessions().items} == {"old", "kid"}


def test_recover_jsonl_lists_each_interrupted_session(cli):
    db = cli.store()
    db.create_session("stuck", created_at=OLD)
    db.append("stuck", [NewMessage({"role": "user", "content": "hi"}, created_at=OLD)])
    db.create_session("done", status="completed")
    lines = cli.ok("recover", "--idle", "1h", "--jsonl").stdout.splitlines()
    assert [json.loads(line) for line in lines] == [{"session_id": "stuck"}]
    assert cli.store().get_session("stuck").status == "interrupted"
    assert cli.ok("recover", "--jsonl").stdout == ""


def test_doctor_of_an_unmigrated_postgres_database_never_prints_its_password():
    import secrets

    from tests.conftest import drop_schema, postgres_url_or_skip

    url = postgres_url_or_skip()  # trust auth: any password is accepted, and must not show
    with_password = url.replace("postgres@", "postgres:hunter2@", 1)
    assert "hunter2" in with_password
    schema = f"sessiondb_test_{secrets.token_hex(6)}"
    try:
        result = CliRunner().invoke(
            main, ["--db", with_password, "--schema", schema, "doctor", "--json"]
        )
        assert result.exit_code == 0, result.output
        doc = json.loads(result.stdout)
        assert doc["pending_migrations"] and "postgres:***@" in doc["url"]
        assert "hunter2" not in result.output
    finally:
        drop_schema(url, schema)
