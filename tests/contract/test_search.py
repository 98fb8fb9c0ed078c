"""Full-text search: the query language, filters, snippets and paging, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sessiondb import InvalidInput, NewMessage, Store

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def user(text: str, minutes: int = 0, **kw: object) -> NewMessage:
    return NewMessage(
        {"role": "user", "content": text}, created_at=T0 + timedelta(minutes=minutes), **kw
    )  # type: ignore[arg-type]


def assistant(text: str, minutes: int = 0, **kw: object) -> NewMessage:
    return NewMessage(
        {"role": "assistant", "content": text},
        created_at=T0 + timedelta(minutes=minutes),
        **kw,  # type: ignore[arg-type]
    )


def call(name: str, arguments: str, call_id: str, minutes: int = 0) -> NewMessage:
    item = {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
        ],
    }
    return NewMessage(item, created_at=T0 + timedelta(minutes=minutes))


def result(call_id: str, text: str, minutes: int = 0) -> NewMessage:
    item = {"role": "tool", "tool_call_id": call_id, "content": text}
    return NewMessage(item, created_at=T0 + timedelta(minutes=minutes))


def seqs(store: Store, query: str, **kw: object) -> set[tuple[str, int]]:
    """(title, seq) of every hit, all pages."""
    found: set[tuple[str, int]] = set()
    cursor = None
    while True:
        page = store.search(query, cursor=cursor, limit=50, **kw)  # type: ignore[arg-type]
        found.update((hit.title or "", hit.seq) for hit in page)
        if page.next_cursor is None:
            return found
        cursor = page.next_cursor


@pytest.fixture
def corpus(store: Store) -> Store:
    """Two sessions with words, phrases, identifiers, CJK, tool calls and hidden messages."""
    a = store.create_session(title="a", agent="coder", source="cli", user_id="u1")
    store.append(
        a.id,
        [
            user("please run the migration for tenant acme", 0),  # 1
            assistant("the migration of invoices is done", 1),  # 2
            call("read_file", '{"path": "src/app.py"}', "c1", 2),  # 3
            result("c1", "def snake_case_name():\n    return 42", 3),  # 4
            assistant("数据库迁移已经完成", 4),  # 5
            user("naïve café déjà vu", 5),  # 6
            call("run_shell", '{"cmd": "make test"}', "c2", 6),  # 7
            result("c2", "tests passed: migration ok", 7),  # 8
        ],
    )
    store.append(
        a.id,
        NewMessage(
            {"role": "user", "content": "secret hidden migration"},
            created_at=T0 + timedelta(minutes=8),
            visible_to_user=False,
        ),
    )  # 9
    store.append(
        a.id,
        NewMessage(
            {"role": "user", "content": "compacted migration note"},
            created_at=T0 + timedelta(minutes=9),
            visible_to_model=False,
        ),
    )  # 10
    b = store.create_session(
        title="b", agent="writer", source="telegram", user_id="u2", status="completed"
    )
    store.append(
        b.id,
        [
            user("tenant onboarding checklist", 60),  # 1
            assistant("migrations are scheduled; tenant gets invoices later", 61),  # 2
            user("the exact phrase here", 62),  # 3
            user("phrase exact, reversed", 63),  # 4
        ],
    )
    return store


def test_words_are_anded(corpus: Store) -> None:
    assert seqs(corpus, "migration tenant") == {("a", 1)}
    assert seqs(corpus, "tenant invoices") == {("b", 2)}


def test_or_binds_tighter_than_implicit_and(corpus: Store) -> None:
    # migration AND (tenant OR invoices)
    assert seqs(corpus, "migration tenant OR invoices") == {("a", 1), ("a", 2)}
    assert seqs(corpus, "tenant OR checklist") == {("a", 1), ("b", 1), ("b", 2)}


def test_lowercase_or_is_a_word(corpus: Store) -> None:
    assert seqs(corpus, "tenant or checklist") == set()


def test_exact_phrase_needs_the_words_in_order(corpus: Store) -> None:
    assert seqs(corpus, '"exact phrase"') == {("b", 3)}
    assert seqs(corpus, "exact phrase") == {("b", 3), ("b", 4)}


def test_excluded_words_and_phrases_remove_hits(corpus: Store) -> None:
    assert seqs(corpus, "migration -tenant") == {("a", 2), ("a", 8), ("a", 10)}
    assert seqs(corpus, 'exact -"exact phrase"') == {("b", 4)}


def test_a_query_of_only_exclusions_is_invalid(corpus: Store) -> None:
    with pytest.raises(InvalidInput, match="exclusion"):
        corpus.search("-migration -tenant")


@pytest.mark.parametrize("query", ["", "   ", "!!! ???", "😀", '""', "OR", "AND"])
def test_a_query_with_nothing_to_search_for_is_invalid(corpus: Store, query: str) -> None:
    with pytest.raises(InvalidInput, match="query"):
        corpus.search(query)


def test_prefix_matches_the_start_of_words(corpus: Store) -> None:
    assert seqs(corpus, "migr*") == {("a", 1), ("a", 2), ("a", 8), ("a", 10), ("b", 2)}
    assert seqs(corpus, "onboard*") == {("b", 1)}
    assert seqs(corpus, "onboard") == set()


def test_identifiers_and_paths_are_found_by_parts_and_whole(corpus: Store) -> None:
    assert seqs(corpus, "snake_case_name") == {("a", 4)}
    assert seqs(corpus, "case") == {("a", 4)}
    assert seqs(corpus, "src/app.py") == {("a", 3)}
    assert seqs(corpus, "app.py") == {("a", 3)}
    assert seqs(corpus, "app") == {("a", 3)}
    assert seqs(corpus, "src/main.py") == set()


@pytest.mark.parametrize("ascii_only", [True, False])
def test_words_that_look_like_numbers_are_whole_tokens(store: Store, ascii_only: bool) -> None:
    # PostgreSQL's parser read 7e71fa2 as the float 7e71 and the word fa2; a non-ASCII
    # word in the message sends it through search_text's token stream instead.
    tail = "" if ascii_only else " café"
    s = store.create_session(title="t")
    texts = [
        "deployed commit 7e71fa2 to prod",
        "value 5e3e5 here",
        "hash 2ede3f ok",
        "plain 7e71 and fa2 apart",
        "float 1e5 and 1E10",
    ]
    store.append(s.id, [{"role": "user", "content": t + tail} for t in texts])
    assert seqs(store, "fa2") == {("t", 4)}
    assert seqs(store, "7e71") == {("t", 4)}
    assert seqs(store, "e5") == set()
    assert seqs(store, '"7e71 fa2"') == set()
    assert seqs(store, "7e71fa2") == {("t", 1)}
    assert seqs(store, "7e71f*") == {("t", 1)}
    assert seqs(store, "7e7*") == {("t", 1), ("t", 4)}
    assert seqs(store, "5e3e5") == {("t", 2)}
    assert seqs(store, "5e3") == set()
    assert seqs(store, "2ede3f") == {("t", 3)}
    assert seqs(store, "1e10") == {("t", 5)}
    assert seqs(store, '"1e5 and 1e10"') == {("t", 5)}
    assert seqs(store, "e10") == set()


def test_cjk_substrings_are_found(corpus: Store) -> None:
    assert seqs(corpus, "迁移") == {("a", 5)}
    assert seqs(corpus, "数据库迁移已经完成") == {("a", 5)}
    assert seqs(corpus, "库") == {("a", 5)}
    assert seqs(corpus, "迁库") == set()


def test_diacritics_and_case_are_ignored(corpus: Store) -> None:
    assert seqs(corpus, "NAIVE Cafe") == {("a", 6)}
    assert seqs(corpus, "déjà") == {("a", 6)}


def test_tool_names_arguments_and_results_are_searchable(corpus: Store) -> None:
    assert seqs(corpus, "read_file") == {("a", 3)}
    assert seqs(corpus, "make test") == {("a", 7)}
    assert seqs(corpus, "passed") == {("a", 8)}


def test_tool_filter_keeps_calls_of_that_tool_and_their_results(corpus: Store) -> None:
    assert seqs(corpus, "migration", tool="run_shell") == {("a", 8)}
    assert seqs(corpus, "app OR snake", tool="read_file") == {("a", 3), ("a", 4)}
    assert seqs(corpus, "migration", tool="nope") == set()


def test_hidden_messages_are_searched_only_when_asked(corpus: Store) -> None:
    assert ("a", 9) not in seqs(corpus, "migration")
    assert ("a", 10) in seqs(corpus, "migration")  # compacted away from the model only
    assert ("a", 9) in seqs(corpus, "migration", include_hidden=True)


def test_session_and_message_filters_compose(corpus: Store) -> None:
    b = corpus.list_sessions(agent="writer").items[0]
    assert seqs(corpus, "tenant", session_id=b.id) == {("b", 1), ("b", 2)}
    assert seqs(corpus, "tenant", agent="coder") == {("a", 1)}
    assert seqs(corpus, "tenant", source="telegram") == {("b", 1), ("b", 2)}
    assert seqs(corpus, "tenant", user_id="u1") == {("a", 1)}
    assert seqs(corpus, "tenant", status="completed") == {("b", 1), ("b", 2)}
    assert seqs(corpus, "tenant", role="assistant") == {("b", 2)}
    assert seqs(corpus, "tenant OR migration", role="user", agent="coder") == {
        ("a", 1),
        ("a", 10),
    }


def test_time_filters_use_message_times(corpus: Store) -> None:
    since, until = T0 + timedelta(minutes=1), T0 + timedelta(minutes=61)
    assert seqs(corpus, "migration OR tenant", since=since, until=until) == {
        ("a", 2),
        ("a", 8),
        ("a", 10),
        ("b", 1),
    }


def test_hits_carry_session_fields_and_a_highlighted_snippet(corpus: Store) -> None:
    (hit,) = corpus.search("invoices", agent="coder").items
    assert (hit.title, hit.agent, hit.role, hit.seq) == ("a", "coder", "assistant", 2)
    assert hit.snippet == "the migration of [invoices] is done"
    assert hit.created_at == T0 + timedelta(minutes=1)
    assert hit.message_id is not None
    (hit,) = corpus.search("迁移", highlight=("<b>", "</b>")).items
    assert hit.snippet == "数据库<b>迁移</b>已经完成"
    (hit,) = corpus.search("src/app.py").items
    assert hit.snippet == 'read_file {"path": "[src/app.py]"}'


def test_snippet_of_a_long_message_is_cut_around_the_match(store: Store) -> None:
    s = store.create_session()
    text = "filler words here. " * 50 + "the needle is in this part " + "more filler text. " * 50
    store.append(s.id, {"role": "user", "content": text})
    (hit,) = store.search("needle").items
    assert "[needle]" in hit.snippet
    assert hit.snippet.startswith("…") and hit.snippet.endswith("…")
    assert len(hit.snippet) < 200


def test_rank_is_higher_for_better_matches_and_ties_go_to_the_newest(store: Store) -> None:
    s = store.create_session()
    store.append(
        s.id,
        [
            user("apple banana cherry date elder fig grape honeydew", 0),
            user("apple apple apple", 1),
            user("same text", 2),
            user("same text", 3),
        ],
    )
    hits = store.search("apple").items
    assert [h.seq for h in hits] == [2, 1]
    assert hits[0].rank > hits[1].rank
    assert [h.seq for h in store.search("same").items] == [4, 3]


def test_pages_are_stable_and_cover_every_hit_once(store: Store) -> None:
    s = store.create_session()
    store.append(s.id, [user(f"common word {'extra ' * (i % 7)} n{i}", i) for i in range(57)])
    whole = [(h.session_id, h.seq) for h in store.search("common", limit=100)]
    assert len(whole) == 57
    paged: list[tuple[str, int]] = []
    cursor = None
    while True:
        page = store.search("common", limit=10, cursor=cursor)
        paged.extend((h.session_id, h.seq) for h in page)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert paged == whole


def test_a_bad_cursor_or_limit_is_invalid_input(corpus: Store) -> None:
    with pytest.raises(InvalidInput):
        corpus.search("tenant", cursor="not-a-cursor")
    with pytest.raises(InvalidInput):
        corpus.search("tenant", limit=-1)
    with pytest.raises(InvalidInput):
        corpus.search("tenant", role="robot")
    with pytest.raises(InvalidInput):
        corpus.search("tenant", highlight=("[",))  # type: ignore[arg-type]


def test_sessions_matching_ranks_sessions_by_best_hit_with_counts(corpus: Store) -> None:
    page = corpus.sessions_matching("tenant OR invoices")
    by_title = {hit.session.title: hit for hit in page}
    assert set(by_title) == {"a", "b"}
    assert by_title["a"].hits == 2 and by_title["b"].hits == 2
    assert [h.best_rank for h in page] == sorted((h.best_rank for h in page), reverse=True)
    best_a = max(corpus.search("tenant OR invoices", agent="coder").items, key=lambda h: h.rank)
    assert by_title["a"].best_seq == best_a.seq
    assert "[" in by_title["a"].snippet
    assert [h.session.title for h in corpus.sessions_matching("tenant", agent="writer")] == ["b"]


def test_sessions_matching_pages_cover_every_session_once(store: Store) -> None:
    for i in range(7):
        s = store.create_session(title=f"s{i}")
        store.append(s.id, [user("shared topic " + "pad " * i, i)] * (i % 3 + 1))
    titles: list[str] = []
    cursor = None
    while True:
        page = store.sessions_matching("shared", limit=3, cursor=cursor)
        titles.extend(h.session.title or "" for h in page)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert sorted(titles) == [f"s{i}" for i in range(7)]


FTS_NOISE = st.sampled_from(
    [
        '"',
        "'",
        "-",
        "*",
        "OR",
        "AND",
        "NOT",
        "NEAR",
        "(",
        ")",
        ":",
        "^",
        "+",
        "\\",
        "\x00",
        "数据",
        "迁移",
        "😀",
        "migration",
        "tenant",
        " ",
        "--",
        ";",
        "DROP TABLE",
        "{",
        "}",
        "$1",
        "%s",
        ":match",
        "é",
        "\u0301",
        "ｶ",
        "한국",
        "_",
        "/",
        "&",
        "|",
        "!",
        "<->",
        ":*",
    ]
)


def test_any_string_is_results_or_invalid_input(corpus: Store) -> None:
    @settings(
        max_examples=2000,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        database=None,
    )
    @given(st.one_of(st.text(max_size=40), st.lists(FTS_NOISE, max_size=8).map("".join)))
    def check(query: str) -> None:
        try:
            page = corpus.search(query, limit=5)
        except InvalidInput as exc:
            message = str(exc)
            assert message.startswith("query:"), message
        else:
            assert len(page) <= 5

    check()
