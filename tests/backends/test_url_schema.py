"""``?schema=NAME`` in a PostgreSQL URL chooses the schema (so one string can say it all)."""

from __future__ import annotations

import pytest

from sessiondb import InvalidInput, connect
from tests.conftest import drop_schema, postgres_url_or_skip


def test_a_schema_in_the_url_that_contradicts_the_option_is_refused():
    with pytest.raises(InvalidInput, match="disagrees"):
        connect("postgresql://127.0.0.1:1/db?schema=one", schema="two")


def test_a_repeated_or_empty_schema_parameter_is_refused():
    with pytest.raises(InvalidInput, match="schema"):
        connect("postgresql://127.0.0.1:1/db?schema=a&schema=b")
    with pytest.raises(InvalidInput, match="schema"):
        connect("postgresql://127.0.0.1:1/db?schema=")


@pytest.mark.postgres
def test_the_schema_parameter_puts_the_tables_in_that_schema():
    url = postgres_url_or_skip()
    schema = "sessiondb_test_urlschema"
    joiner = "&" if "?" in url else "?"
    try:
        db = connect(f"{url}{joiner}schema={schema}")
        try:
            db.create_session("s")
        finally:
            db.close()
        same = connect(url, schema=schema)
        try:
            assert same.get_session("s").id == "s"
        finally:
            same.close()
    finally:
        drop_schema(url, schema)
