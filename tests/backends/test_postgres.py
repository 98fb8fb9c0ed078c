"""What only the PostgreSQL backend does: schemas, advisory-locked migrations, the pool,
driver-error translation, the full-text column. Real server, no mocks."""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import secrets
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import sessiondb
from sessiondb import (
    BackendError,
    ConnectionLost,
    InvalidInput,
    MissingDependency,
    NotFound,
    SchemaTooNew,
    SessionDBError,
    Usage,
)
from sessiondb.textsearch import parse_query, to_tsquery

from ..conftest import drop_schema

psycopg = pytest.importorskip("psycopg")

from sessiondb.backends.postgres.core import MIGRATIONS, SCHEMA_VERSION  # noqa: E402

ALL_MIGRATIONS = [name for _, name, _ in MIGRATIONS]


def _with_params(url: str, **params: str) -> str:
    sep = "&" if "?" in url else "?"
    return url + sep + "&".join(f"{k}={v}" for k, v in params.items())


def _admin(url: str, sql: str, params: Any = None) -> list[Any]:
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else []


@pytest.fixture
def app_url(pg_schema: tuple[str, str]) -> tuple[str, str, str]:
    """(admin url, store url tagged with a unique application_name, schema)."""
    url, schema = pg_schema
    app = f"sdbtest_{secrets.token_hex(4)}"
    return url, _with_params(url, application_name=app), schema


def _terminate(admin_url: str, store_url: str) -> int:
    app = store_url.rsplit("application_name=", 1)[1]
    rows = _admin(
        admin_url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
        (app,),
    )
    return len(rows)


# ---------------------------------------------------------------------- migrations


def _first_start(url: str, schema: str, start: Any, out: Any) -> None:
    try:
        start.wait(30)
        with sessiondb.connect(url, schema=schema, migrate=False) as db:
            applied = db.migrate()
            out.put(("ok", applied, db.schema_version()))
    except Exception as exc:
        out.put(("error", f"{type(exc).__name__}: {exc}", 0))


@pytest.mark.postgres
def test_concurrent_first_starts_migrate_exactly_once(pg_schema: tuple[str, str]) -> None:
    url, schema = pg_schema
    ctx = mp.get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_first_start, args=(url, schema, start, out)) for _ in range(5)]
    for p in procs:
        p.start()
    time.sleep(1.5)  # let every process import sessiondb before the gun
    start.set()
    results = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    assert all(r[0] == "ok" for r in results), results
    assert all(r[2] == SCHEMA_VERSION for r in results)
    appliers = [r[1] for r in results if r[1]]
    assert appliers == [ALL_MIGRATIONS]
    rows = _admin(url, f'SELECT version FROM "{schema}"._sessiondb_migrations ORDER BY 1')
    assert rows == [(n,) for n in range(1, SCHEMA_VERSION + 1)]


@pytest.mark.postgres
def test_open_without_migrating_lists_pending_then_migrates_once(
    pg_schema: tuple[str, str],
) -> None:
    url, schema = pg_schema
    with sessiondb.connect(url, schema=schema, migrate=False) as db:
        assert db.schema_version() == 0
        assert db.pending_migrations() == ALL_MIGRATIONS
        assert db.migrate() == ALL_MIGRATIONS
        assert db.migrate() == []
        assert db.pending_migrations() == []
        assert db.create_session("after").id == "after"


@pytest.mark.postgres
def test_schema_from_a_newer_sessiondb_raises_schema_too_new_and_is_left_alone(
    pg_schema: tuple[str, str],
) -> None:
    url, schema = pg_schema
    with sessiondb.connect(url, schema=schema) as db:
        db.create_session("kept")
    _admin(
        url,
        f"INSERT INTO \"{schema}\"._sessiondb_migrations VALUES (99, '0099_future.sql', 0)",
    )
    for migrate in (True, False):
        with pytest.raises(SchemaTooNew, match="99"):
            sessiondb.connect(url, schema=schema, migrate=migrate)
    rows = _admin(url, f'SELECT max(version) FROM "{schema}"._sessiondb_migrations')
    assert rows == [(99,)]
    assert _admin(url, f'SELECT id FROM "{schema}".sessions') == [("kept",)]


# ---------------------------------------------------------------------- schemas


@pytest.mark.postgres
def test_schema_option_creates_the_schema_and_isolates_apps(pg_schema: tuple[str, str]) -> None:
    url, schema = pg_schema
    other = f"{schema}_other"
    try:
        with (
            sessiondb.connect(url, schema=schema) as a,
            sessiondb.connect(url, schema=other) as b,
        ):
            a.create_session("same-id", title="app a")
            b.create_session("same-id", title="app b")
            b.create_session("only-b")
            assert a.get_session("same-id").title == "app a"
            assert b.get_session("same-id").title == "app b"
            with pytest.raises(NotFound):
                a.get_session("only-b")
            assert [s.id for s in a.list_sessions()] == ["same-id"]
            assert a.info()["schema"] == schema
        names = {r[0] for r in _admin(url, "SELECT nspname FROM pg_namespace")}
        assert {schema, other} <= names
    finally:
        drop_schema(url, other)


@pytest.mark.postgres
@pytest.mark.parametrize("bad", ["Upper", "has-dash", "x; DROP TABLE t", "", "1starts_digit"])
def test_a_schema_name_that_is_not_a_plain_identifier_is_refused(
    pg_schema: tuple[str, str], bad: str
) -> None:
    url, _ = pg_schema
    with pytest.raises(InvalidInput, match="schema"):
        sessiondb.connect(url, schema=bad)


@pytest.mark.postgres
def test_url_options_are_kept_alongside_the_schema(app_url: tuple[str, str, str]) -> None:
    admin, url, schema = app_url
    url = _with_params(url, options="-c%20statement_timeout%3D4321")
    with sessiondb.connect(url, schema=schema) as db:
        db.create_session("s")
        app = url.split("application_name=", 1)[1].split("&", 1)[0]
        rows = _admin(
            admin,
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
            (app,),
        )
        assert rows[0][0] >= 1
        assert _admin(admin, f'SELECT id FROM "{schema}".sessions') == [("s",)]


# ---------------------------------------------------------------------- the pool & errors


@pytest.mark.postgres
def test_pooled_connections_killed_by_the_server_are_replaced_transparently(
    app_url: tuple[str, str, str],
) -> None:
    admin, url, schema = app_url
    with sessiondb.connect(url, schema=schema) as db:
        sid = db.create_session().id
        for i in range(5):
            assert _terminate(admin, url) >= 1
            time.sleep(0.05)  # the server's goodbye reaches the idle socket
            db.append(sid, {"role": "user", "content": f"after kill {i}"})
        assert [m.seq for m in db.messages(sid)] == [1, 2, 3, 4, 5]


@pytest.mark.postgres
def test_connection_killed_mid_append_raises_connection_lost_and_writes_nothing(
    app_url: tuple[str, str, str],
) -> None:
    admin, url, schema = app_url
    with sessiondb.connect(url, schema=schema) as db:
        sid = db.create_session().id
        errors: list[BaseException] = []
        with psycopg.connect(admin) as locker:
            # Hold the session's row lock so the append blocks inside its transaction.
            locker.execute(f'SELECT 1 FROM "{schema}".sessions WHERE id = %s FOR UPDATE', (sid,))

            def append() -> None:
                try:
                    db.append(sid, [{"role": "user", "content": "lost"}] * 3)
                except BaseException as exc:
                    errors.append(exc)

            writer = threading.Thread(target=append)
            writer.start()
            app = url.rsplit("application_name=", 1)[1]
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                waiting = _admin(
                    admin,
                    "SELECT 1 FROM pg_stat_activity WHERE application_name = %s "
                    "AND wait_event_type = 'Lock'",
                    (app,),
                )
                if waiting:
                    break
                time.sleep(0.01)
            assert waiting, "the append never waited on the row lock"
            _terminate(admin, url)
            writer.join(10)
            locker.rollback()
        assert len(errors) == 1
        assert isinstance(errors[0], ConnectionLost), repr(errors[0])
        assert not isinstance(errors[0], psycopg.Error)
        # Nothing was half-written, and the store works on.
        assert db.messages(sid) == []
        assert db.append(sid, {"role": "user", "content": "again"})[0].seq == 1
        assert db.check() == []


@pytest.mark.postgres
def test_an_unreachable_server_raises_connection_lost(pg_schema: tuple[str, str]) -> None:
    with pytest.raises(ConnectionLost, match=r"cannot connect .*127\.0\.0\.1.*refused"):
        sessiondb.connect(
            "postgresql://postgres@127.0.0.1:1/postgres?connect_timeout=1", pool_timeout=1.0
        )


@pytest.mark.postgres
def test_a_closed_store_refuses_calls(pg_schema: tuple[str, str]) -> None:
    url, schema = pg_schema
    db = sessiondb.connect(url, schema=schema)
    db.close()
    db.close()  # twice is fine
    with pytest.raises(SessionDBError, match="closed"):
        db.get_session("x")


@pytest.mark.postgres
def test_the_password_never_shows_in_repr_or_info(pg_schema: tuple[str, str]) -> None:
    url, schema = pg_schema
    secret_url = url.replace("postgres@", "postgres:s3cr3t-pw@", 1)
    if secret_url == url:
        pytest.skip("test URL has no user@ part to add a password to")
    try:
        db = sessiondb.connect(secret_url, schema=schema)
    except ConnectionLost:
        pytest.skip("server requires a real password")
    with db:
        assert "s3cr3t-pw" not in repr(db)
        assert "s3cr3t-pw" not in str(db.info())
        # The URL is what the caller gave (reopening needs the password), with the schema.
        assert db.url == _with_params(secret_url, schema=schema)


# ---------------------------------------------------------------------- storage


@pytest.mark.postgres
def test_appended_text_and_tool_arguments_are_full_text_indexed(
    pg_schema: tuple[str, str],
) -> None:
    url, schema = pg_schema
    with sessiondb.connect(url, schema=schema) as db:
        sid = db.create_session().id
        db.append(
            sid,
            [
                {"role": "user", "content": "Deploy the Kubernetes cluster"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "kubectl_apply", "arguments": '{"f": "x"}'},
                        }
                    ],
                },
            ],
        )

    def matching(word: str) -> list[Any]:
        return _admin(
            url,
            f'SELECT seq FROM "{schema}".messages '
            "WHERE search_vector @@ to_tsquery('simple', %s) ORDER BY seq",
            (to_tsquery(parse_query(word)),),
        )

    assert matching("kubernetes") == [(1,)]
    assert matching("kubectl_apply") == [(2,)]
    plan = _admin(url, f"SELECT indexdef FROM pg_indexes WHERE schemaname = '{schema}'")
    assert any("gin (search_vector)" in r[0] for r in plan)


@pytest.mark.postgres
def test_check_reports_counters_that_disagree_with_the_messages(
    pg_schema: tuple[str, str],
) -> None:
    url, schema = pg_schema
    with sessiondb.connect(url, schema=schema) as db:
        sid = db.create_session("tampered").id
        db.append(sid, [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}])
        assert db.check() == []
        _admin(url, f'UPDATE "{schema}".sessions SET message_count = 7')
        problems = db.check()
        assert len(problems) == 1 and "tampered" in problems[0]


@pytest.mark.postgres
def test_info_and_vacuum_describe_and_compact_the_schema(pg_schema: tuple[str, str]) -> None:
    url, schema = pg_schema
    with sessiondb.connect(url, schema=schema) as db:
        sid = db.create_session().id
        db.append(sid, [{"role": "user", "content": "x" * 100}] * 20)
        db.vacuum()
        info = db.info()
        assert info["backend"] == "postgresql"
        assert (info["sessions"], info["messages"], info["schema_version"]) == (
            1,
            20,
            SCHEMA_VERSION,
        )
        assert info["size_bytes"] > 0
        assert info["server_version"]


@pytest.mark.postgres
def test_pool_options_are_validated(pg_schema: tuple[str, str]) -> None:
    url, schema = pg_schema
    with pytest.raises(InvalidInput, match="pool"):
        sessiondb.connect(url, schema=schema, pool_min_size=5, pool_max_size=2)
    with sessiondb.connect(url, schema=schema, pool_min_size=1, pool_max_size=2) as db:
        assert db.info()["pool_max_size"] == 2


@pytest.mark.postgres
def test_threads_beyond_the_pool_size_wait_for_a_connection(pg_schema: tuple[str, str]) -> None:
    url, schema = pg_schema
    with sessiondb.connect(url, schema=schema, pool_max_size=2) as db:
        sid = db.create_session().id
        errors: list[BaseException] = []

        def work(n: int) -> None:
            try:
                for i in range(10):
                    db.append(sid, {"role": "user", "content": f"{n}-{i}"})
                    db.messages(sid, last=5)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert errors == []
        assert [m.seq for m in db.messages(sid)] == list(range(1, 61))


# ---------------------------------------------------------------------- the extra


def test_without_the_extra_a_postgres_url_raises_missing_dependency_naming_it() -> None:
    # A real interpreter in which importing psycopg fails, as when the extra is absent.
    script = textwrap.dedent(
        """
        import sys

        class Blocker:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("psycopg", "psycopg_pool", "psycopg_binary"):
                    raise ImportError(f"No module named {name!r}")
                return None

        sys.meta_path.insert(0, Blocker())
        import sessiondb
        try:
            sessiondb.connect("postgresql://nobody@127.0.0.1:1/none")
        except sessiondb.MissingDependency as exc:
            print("MISSING", exc)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("MISSING")
    assert "pip install 'sessiondb[postgres]'" in done.stdout
    assert issubclass(MissingDependency, ImportError)


def test_the_short_postgres_scheme_also_names_the_missing_extra() -> None:
    script = (
        "import sys\n"
        "sys.modules['psycopg'] = None\n"
        "import sessiondb\n"
        "try:\n"
        "    sessiondb.connect('postgres://nobody@127.0.0.1:1/none')\n"
        "except sessiondb.MissingDependency as exc:\n"
        "    print('MISSING', exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert "MISSING" in done.stdout and "sessiondb[postgres]" in done.stdout, done.stderr


# ---------------------------------------------------------------------- docs/scaling.md


def _copy_example() -> str:
    guide = (Path(__file__).parents[2] / "docs" / "scaling.md").read_text("utf-8")
    section = guide.split("### Copying an existing SQLite file into PostgreSQL", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


@pytest.mark.postgres
def test_the_scaling_guides_copy_example_copies_sqlite_into_postgres_idempotently(
    pg_schema: tuple[str, str], tmp_path: Path
) -> None:
    url, schema = pg_schema
    source = tmp_path / "agents.db"
    with sessiondb.connect(source) as db:
        db.create_session("root", agent="coder", metadata={"k": 1})
        db.append("root", {"role": "user", "content": "the build is red"})
        for i in range(3):
            db.create_session(f"sub{i}", parent_id="root", relation="subagent")
            db.append(
                f"sub{i}",
                [{"role": "user", "content": f"task {i}"}, {"role": "assistant", "content": "ok"}],
                usage=Usage(input_tokens=10, output_tokens=5),
            )
        db.create_session("empty")
        db.create_session("worked")  # truncated, popped, compacted, then completed
        for i in range(6):
            db.append("worked", {"role": "assistant", "content": f"m{i}"}, usage=Usage(7, 1))
        db.truncate("worked", keep_last=4)
        db.pop("worked")
        db.compact("worked", "the summary", keep_last=1)
        db.update_session("worked", status="completed")
    script = tmp_path / "copy_to_postgres.py"
    script.write_text(_copy_example(), "utf-8")
    for _ in range(2):  # the second run must change nothing
        done = subprocess.run(
            [sys.executable, str(script), str(source), url, schema],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
    with sessiondb.connect(source) as a, sessiondb.connect(url, schema=schema) as b:
        originals = a.list_sessions().items
        assert len(b.list_sessions().items) == len(originals) == 6
        for s in originals:
            t = b.get_session(s.id)
            assert t == s  # every field, counters and timestamps included
            assert (t.parent_id, t.relation, t.metadata, t.usage, t.preview) == (
                s.parent_id,
                s.relation,
                s.metadata,
                s.usage,
                s.preview,
            )
            assert t.message_count == s.message_count
            mine, theirs = a.messages(s.id), b.messages(s.id)
            assert [(m.id, m.seq, m.item, m.created_at) for m in mine] == [
                (m.id, m.seq, m.item, m.created_at) for m in theirs
            ]


@pytest.mark.postgres
def test_a_read_only_server_serves_reads_and_refuses_writes_with_backend_error(
    pg_schema: tuple[str, str],
) -> None:
    # default_transaction_read_only behaves like a hot-standby replica for our purposes.
    url, schema = pg_schema
    with sessiondb.connect(url, schema=schema) as db:
        sid = db.create_session().id
        db.append(sid, {"role": "user", "content": "written on the primary"})
    replica_url = _with_params(url, options="-c%20default_transaction_read_only%3Don")
    with sessiondb.connect(replica_url, schema=schema) as replica:
        assert [m.text for m in replica.messages(sid)] == ["written on the primary"]
        assert replica.get_session(sid).message_count == 1
        with pytest.raises(BackendError) as caught:
            replica.append(sid, {"role": "user", "content": "misrouted"})
        assert not isinstance(caught.value, ConnectionLost)
        assert "read-only" in str(caught.value)
    with sessiondb.connect(url, schema=schema) as db:
        assert db.get_session(sid).message_count == 1


@pytest.mark.postgres
def test_a_lock_timeout_is_a_backend_error_not_a_lost_connection(
    pg_schema: tuple[str, str],
) -> None:
    # psycopg files lock timeouts and deadlocks under OperationalError, like a dropped
    # connection; the store must tell them apart (the connection is fine).
    url, schema = pg_schema
    impatient = _with_params(url, options="-c%20lock_timeout%3D200")
    with sessiondb.connect(impatient, schema=schema) as db:
        sid = db.create_session().id
        with psycopg.connect(url) as locker:
            locker.execute(f'SELECT 1 FROM "{schema}".sessions WHERE id = %s FOR UPDATE', (sid,))
            with pytest.raises(BackendError, match="lock timeout") as caught:
                db.append(sid, {"role": "user", "content": "blocked"})
            assert not isinstance(caught.value, ConnectionLost)
            locker.rollback()
        assert db.append(sid, {"role": "user", "content": "free"})[0].seq == 1


@pytest.mark.postgres
def test_max_message_bytes_refuses_larger_items_and_writes_nothing(
    pg_schema: tuple[str, str],
) -> None:
    url, schema = pg_schema
    with sessiondb.connect(url, schema=schema, max_message_bytes=200) as db:
        sid = db.create_session().id
        db.append(sid, {"role": "user", "content": "small"})
        with pytest.raises(InvalidInput, match="items\\[1\\]"):
            db.append(
                sid,
                [{"role": "user", "content": "fits"}, {"role": "user", "content": "x" * 500}],
            )
        assert [m.text for m in db.messages(sid)] == ["small"]


def test_a_busy_pool_is_a_backend_error_not_a_lost_connection(pg_schema: tuple[str, str]) -> None:
    url, schema = pg_schema
    with sessiondb.connect(url, schema=schema, pool_max_size=1, pool_timeout=0.5) as db:
        sid = db.create_session().id
        holding = threading.Event()
        release = threading.Event()

        def hold() -> None:
            with db._connection("holding the only connection"):  # type: ignore[attr-defined]
                holding.set()
                release.wait(10)

        holder = threading.Thread(target=hold)
        holder.start()
        try:
            assert holding.wait(10)
            with pytest.raises(BackendError, match="no free connection") as caught:
                db.get_session(sid)
            assert not isinstance(caught.value, ConnectionLost)
        finally:
            release.set()
            holder.join(10)
        assert db.get_session(sid).id == sid  # the pool serves again


def test_short_scheme_and_environment_variable_open_postgres(
    pg_schema: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from sessiondb.backends.postgres import PostgresStore

    url, schema = pg_schema
    short = "postgres://" + url.split("://", 1)[1]
    with sessiondb.connect(short, schema=schema) as db:
        assert isinstance(db, PostgresStore)
        db.create_session("via-short-scheme")
    monkeypatch.setenv("SESSIONDB_URL", _with_params(short, schema=schema))
    with sessiondb.connect() as db:
        assert isinstance(db, PostgresStore)
        assert db.get_session("via-short-scheme").id == "via-short-scheme"


def _last_vacuums(url: str, schema: str) -> dict[str, Any]:
    """relname -> pg_stat_user_tables.last_vacuum (set by a manual VACUUM only)."""
    rows = _admin(
        url,
        "SELECT relname, last_vacuum FROM pg_stat_user_tables WHERE schemaname = %s",
        [schema],
    )
    return dict(rows)


@pytest.mark.postgres
def test_prune_vacuums_the_tables_it_deleted_from(pg_schema: tuple[str, str]) -> None:
    url, schema = pg_schema
    old = datetime.now(UTC) - timedelta(days=200)
    with sessiondb.connect(url, schema=schema) as db:
        for i in range(5):
            db.create_session(f"old{i}", created_at=old)
            db.append(
                f"old{i}", [sessiondb.NewMessage({"role": "user", "content": "x"}, created_at=old)]
            )
        assert not any(_last_vacuums(url, schema).values())  # the control
        assert len(db.prune(older_than=timedelta(days=90)).session_ids) == 5
    vacuumed = _last_vacuums(url, schema)
    assert all(vacuumed[table] is not None for table in ("sessions", "messages", "tool_calls"))


@pytest.mark.postgres
def test_an_unreachable_server_fails_at_once_with_the_reason_and_no_pool_warnings(
    caplog: pytest.LogCaptureFixture,
) -> None:
    start = time.monotonic()
    with pytest.raises(ConnectionLost) as raised:
        # The default pool_timeout is 30 s: the pool alone would retry for that long.
        sessiondb.connect("postgresql://nobody@127.0.0.1:1/x")
    assert time.monotonic() - start < 5
    assert "refused" in str(raised.value)
    assert raised.value.subject == "postgresql://nobody@127.0.0.1:1/x"
    assert raised.value.reason is not None
    assert raised.value.reason.startswith("cannot connect to PostgreSQL: ")
    assert not [r for r in caplog.records if r.name.startswith("psycopg")]


# ---------------------------------------------------------------------- collation


@pytest.fixture
def icu_database_url() -> Iterator[str]:
    """The URL of a throwaway database whose default collation is ICU en-US, not bytes."""
    from urllib.parse import urlsplit, urlunsplit

    from ..conftest import postgres_url_or_skip

    url = postgres_url_or_skip()
    name = f"sessiondb_test_icu_{secrets.token_hex(4)}"
    _admin(
        url,
        f"CREATE DATABASE {name} TEMPLATE template0 "
        "LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'",
    )
    try:
        yield urlunsplit(urlsplit(url)._replace(path=f"/{name}"))
    finally:
        _admin(url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def at_micros(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000


@pytest.mark.postgres
def test_ties_sort_ids_by_bytes_as_on_sqlite_whatever_the_database_collation(
    icu_database_url: str, tmp_path: Path
) -> None:
    ids = ["a", "B", "_x", "Z1"]
    at = datetime(2026, 3, 2, tzinfo=UTC)
    orders = {}
    for name, target in (("sqlite", str(tmp_path / "s.db")), ("postgres", icu_database_url)):
        with sessiondb.connect(target) as db:
            for sid in ids:
                db.create_session(sid, created_at=at)
                call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": ""}}
                db.append(
                    sid,
                    sessiondb.NewMessage(
                        {"role": "assistant", "content": "", "tool_calls": [call]}, created_at=at
                    ),
                )
            listed = [s.id for s in db.list_sessions()]
            paged = []
            cursor = None
            while True:
                page = db.list_sessions(limit=1, cursor=cursor)
                paged.extend(s.id for s in page)
                if page.next_cursor is None:
                    break
                cursor = page.next_cursor
            calls = [c.session_id for c in db.tool_calls(name="f")]
            orders[name] = (listed, paged, calls)
    assert orders["sqlite"] == (["a", "_x", "Z1", "B"], ["a", "_x", "Z1", "B"], sorted(ids))
    assert orders["postgres"] == orders["sqlite"]
    # The listing reads the index in that order (with sorting disabled, a plan that had
    # to sort would still show a Sort node).
    from sessiondb.backends.postgres import queries

    params = dict.fromkeys(["status", "agent", "source", "user_id", "parent_id", "since"])
    params |= {"until": None, "roots_only": False, "limit": 20}
    with psycopg.connect(icu_database_url) as conn:
        conn.execute("SET enable_sort = off")
        conn.execute("SET enable_seqscan = off")
        for cursor_updated, cursor_id in ((None, None), (at_micros(at), "_x")):
            plan = conn.execute(
                "EXPLAIN " + queries.LIST_SESSIONS,
                params | {"cursor_updated": cursor_updated, "cursor_id": cursor_id},
            ).fetchall()
            text = "\n".join(row[0] for row in plan)
            assert "Index Scan using sessions_updated" in text, text
            assert "Sort" not in text, text


# ---------------------------------------------------------------------- durability


def _synchronous_commit(db: Any) -> set[str]:
    """synchronous_commit on every connection the pool holds (all of them, checked out at once)."""
    with contextlib.ExitStack() as stack:
        conns = [stack.enter_context(db._connection("test")) for _ in range(db.pool_max_size)]
        return {conn.execute("SHOW synchronous_commit").fetchone()[0] for conn in conns}


@pytest.mark.postgres
def test_durability_full_makes_every_commit_wait_for_the_wal_flush(
    pg_schema: tuple[str, str],
) -> None:
    url, schema = pg_schema
    # A URL (or server) that turns synchronous commits off: "normal" keeps that, "full" wins.
    relaxed = _with_params(url, options="-c%20synchronous_commit%3Doff")
    expected = {"normal": {"off"}, "full": {"on"}}
    for durability, settings in expected.items():
        with sessiondb.connect(
            relaxed, schema=schema, durability=durability, pool_max_size=3
        ) as db:
            assert _synchronous_commit(db) == settings
            assert db.info()["durability"] == durability
            db.append(db.create_session().id, {"role": "user", "content": "kept"})
            # The schema option is still applied alongside.
            assert db.info()["schema"] == schema
    with sessiondb.connect(url, schema=schema) as db:
        assert db.info()["durability"] == "normal"
        assert _synchronous_commit(db) == {_admin(url, "SHOW synchronous_commit")[0][0]}


@pytest.mark.postgres
def test_unknown_durability_is_refused_naming_it(pg_schema: tuple[str, str]) -> None:
    url, schema = pg_schema
    for bad in ("paranoid", "FULL", None, 1):
        with pytest.raises(InvalidInput, match="durability") as caught:
            sessiondb.connect(url, schema=schema, durability=bad)
        assert not isinstance(caught.value, TypeError)


# ---------------------------------------------------------------------- store.url


def _reaches(url: str, schema: str) -> None:
    """connect(url) opens ``schema``: the session made there is found, in that schema."""
    with sessiondb.connect(url) as db:
        assert db.info()["schema"] == schema
        assert db.get_session("here").id == "here"


@pytest.mark.postgres
def test_store_url_keeps_the_schema_so_reopening_it_reaches_the_same_tables(
    pg_schema: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, schema = pg_schema
    with sessiondb.connect(url, schema=schema) as db:
        db.create_session("here")
        by_option = db.url
    with sessiondb.connect(_with_params(url, schema=schema)) as db:
        in_url = db.url
    monkeypatch.setenv("SESSIONDB_URL", _with_params(url, schema=schema))
    with sessiondb.connect() as db:
        from_env = db.url
    for reopened in (by_option, in_url, from_env):
        assert reopened == _with_params(url, schema=schema)
        _reaches(reopened, schema)
    with sessiondb.connect(url) as db:  # no schema: the URL as given
        assert db.url == url


@pytest.mark.postgres
def test_other_url_parameters_are_kept_as_written_beside_the_schema(
    pg_schema: tuple[str, str],
) -> None:
    from urllib.parse import urlsplit

    url, schema = pg_schema
    with sessiondb.connect(url, schema=schema) as db:
        db.create_session("here")
    # %20 must stay %20 (libpq does not read + as a space) and a URL without a host
    # must keep its three slashes (postgresql:/db is no URL to libpq).
    parts = urlsplit(url)
    hostless = (
        f"postgresql://{parts.path}?host={parts.hostname}&port={parts.port or 5432}"
        f"&user={parts.username or 'postgres'}"
    )
    for given in (
        f"{_with_params(url, schema=schema)}&options=-c%20statement_timeout%3D4321",
        _with_params(hostless, schema=schema),
    ):
        with sessiondb.connect(given) as db:
            assert db.get_session("here").id == "here"
            assert "schema=" + schema in db.url
            assert "+" not in db.url
            if "options" in given:
                with db._connection("test") as conn:  # type: ignore[attr-defined]
                    assert conn.execute("SHOW statement_timeout").fetchone()[0] == "4321ms"
            _reaches(db.url, schema)
