"""Full-text search shared by every backend: tokens, the query language and snippets.

Both backends must find exactly the same messages for the same query, so the words of a
document and of a query are cut here, in Python, once:

* A token is a run of letters and digits, lower-cased, with diacritics removed (after
  NFKD, so ``ﬁ`` is ``fi`` and ``é`` is ``e``). Everything else separates tokens, so
  ``snake_case_name`` is ``snake case name`` and ``src/app.py`` is ``src app py``.
* Each character of a script written without spaces (CJK, kana, Hangul, Thai...) is a
  token of its own, so a CJK query is a phrase of consecutive characters: substring
  search of any length.

The backends' own tokenizers (SQLite's ``unicode61`` with Unicode 6.1 tables,
PostgreSQL's parser with the server's locale) disagree on many non-ASCII characters, so
they are only ever shown ASCII words: a token with a non-ASCII character is indexed and
searched as ``zq`` + the hex of its UTF-8 (``index_token``; a prefix of a word is still a
prefix of its hex). A plain ASCII document is indexed as it is (the text is stored once):
both backends cut it into runs of ``[a-z0-9]`` after lower-casing, as ``tokenize`` does.
Any other document is indexed as its token stream (``index_document``).

PostgreSQL's parser has number rules even for plain runs of ``[a-z0-9]``: it reads
``7e71fa2`` as the float ``7e71`` and the word ``fa2``. So on PostgreSQL every lexeme is
an indexed token with ``TS_LEXEME_PREFIX`` in front (``x7e71fa2``): a word starting with a
letter is never split. The generated column (migration 0007) and ``to_tsquery`` add it.

What is indexed is bounded by PostgreSQL's limits, and both backends index exactly the
same, so they find the same messages:

* indexed tokens longer than ``MAX_TOKEN_LENGTH`` characters are left out (PostgreSQL
  cannot hold words over 2,047 bytes);
* a document is indexed up to its first ``MAX_INDEXED_TOKENS`` tokens (PostgreSQL cannot
  record word positions beyond 16,383);
* and up to the token at which its distinct indexed tokens would exceed
  ``MAX_INDEXED_BYTES`` bytes (a ``tsvector`` holds under 1 MiB of words and positions;
  the rest of the mebibyte is margin for the positions, 16,383 at most, and for
  PostgreSQL's one-letter lexeme prefix).

Past the cut a message is not found by its words. Only documents of many distinct long
words get near the byte bound: a tool result of 9,000 SHA-512 hex digests (1.16 MB) is
found by its first 7,031 of them. The text itself is always stored whole.

A known limitation: letters that do not decompose under NFKD (``ß``, ``ø``, ``ł``,
``æ``, ``đ``, ``ħ``...) are not folded to ASCII, and the word holding one is a non-ASCII
token, indexed as its hex. So ``Größe`` is the token ``große``: found by ``größe``,
``große`` and ``groß*``, but not by ``grosse`` nor ``gro*`` (the ASCII prefix ``gro`` is
not a prefix of the hex); ``Łódź`` is ``łodz``, found by ``łodz`` and ``łod*``, not by
``lodz``. Folding them would change the tokens of documents already indexed, which
would then need reindexing, so tokenization stays as it is.

The query language (``parse_query``), as in web search::

    migration tenant          both words (AND)
    "exact phrase"            the words next to each other, in order
    tenant OR invoices        either; OR binds tighter than the implicit AND
    -excluded  -"a phrase"    messages without it
    migr*                     a word starting with "migr"

A word that splits into several tokens (``src/app.py``, ``数据库``) is searched as the
phrase of its tokens. Any string is a valid query: what cannot be searched for raises
``InvalidInput`` with a readable message, never a database syntax error, because the
backends only ever see tokens (letters and digits) quoted by ``to_fts5``/``to_tsquery``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from .errors import InvalidInput

__all__ = [
    "MAX_INDEXED_BYTES",
    "MAX_INDEXED_TOKENS",
    "MAX_TOKEN_LENGTH",
    "TS_LEXEME_PREFIX",
    "Query",
    "Term",
    "index_document",
    "index_token",
    "make_snippet",
    "parse_query",
    "split_unspaced",
    "to_fts5",
    "to_tsquery",
    "tokenize",
]

MAX_INDEXED_TOKENS = 16_383  # PostgreSQL's largest word position
# Bytes of a document's distinct indexed tokens. A tsvector holds at most 1,048,575 bytes:
# each distinct word plus up to 5 bytes of alignment, position count and positions
# (2 bytes each, one per token), plus 1 for TS_LEXEME_PREFIX; 16,383 tokens add at most
# 98,298 (900,000 + 98,298 = 998,298), so this leaves room.
MAX_INDEXED_BYTES = 900_000
# Put before every lexeme on PostgreSQL: a lexeme that starts with a letter is one word to
# its parser, never a number and the rest (7e71fa2 would be 7e71 and fa2).
TS_LEXEME_PREFIX = "x"
MAX_TOKEN_LENGTH = 1_000  # characters of an indexed token; PostgreSQL takes 2,047 bytes
MAX_QUERY_TERMS = 200
MAX_QUERY_TOKENS = 1_000
SNIPPET_CHARS = 160
SNIPPET_SCAN_CHARS = 100_000  # matches further into a message are not looked for

# Scripts written without spaces between words: CJK ideographs, kana, Hangul syllables,
# Thai, Lao, Khmer, Myanmar.
_UNSPACED_CLASS = (
    "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3100-\u312f\u3400-\u4dbf"
    "\u4e00-\u9fff\ua960-\ua97f\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f"
    "\U00020000-\U0002ffff\U00030000-\U0003134f"
)
_UNSPACED = re.compile(f"([{_UNSPACED_CLASS}])")
# A token: one unspaced letter, or a run of other letters/digits (underscore excluded).
# (Private-use characters separate: PostgreSQL's parser does not take them as letters.)
_TOKEN = re.compile(f"(?=[^\\W_])[{_UNSPACED_CLASS}]|(?:(?![{_UNSPACED_CLASS}])[^\\W_])+")
_ASCII_TOKEN = re.compile(r"[A-Za-z0-9]+")
_LONG_ASCII_TOKEN = re.compile(f"[A-Za-z0-9]{{{MAX_TOKEN_LENGTH + 1},}}")


@lru_cache(maxsize=1)
def _marks() -> re.Pattern[str]:
    """Every combining mark (category M*): what 'remove diacritics' removes after NFKD."""
    ranges = list(range(0x20000)) + list(range(0xE0000, 0xE0200))
    marks = "".join(chr(c) for c in ranges if unicodedata.category(chr(c))[0] == "M")
    return re.compile(f"[{re.escape(marks)}]+")


@lru_cache(maxsize=1)
def _raw_word() -> re.Pattern[str]:
    """A word of the original text: a run of letters, digits and marks, or one CJK char."""
    marks = _marks().pattern[1:-2]  # the class body of [...]+
    return re.compile(f"[{_UNSPACED_CLASS}]|(?:(?![{_UNSPACED_CLASS}])[^\\W_]|[{marks}])+")


def split_unspaced(text: str) -> str:
    """Return ``text`` with a space around each character of an unspaced script."""
    if text.isascii():
        return text
    return _UNSPACED.sub(r" \1 ", text)


def _fold(text: str) -> str:
    """Lower-case ``text`` and remove diacritics, keeping unspaced scripts' characters whole.

    Kana voicing marks and Hangul syllables would fall apart under NFKD, so characters of
    unspaced scripts are only NFKC-normalized (half-width kana become full-width).
    """
    parts = _UNSPACED.split(text)
    marks = _marks()
    for index, part in enumerate(parts):
        if index % 2:
            parts[index] = unicodedata.normalize("NFKC", part)
        elif part and not part.isascii():
            parts[index] = marks.sub("", unicodedata.normalize("NFKD", part).lower())
    # Final sigma is a sigma: a word matches in either form.
    return "".join(parts).lower().replace("ς", "σ")


def tokenize(text: str) -> list[str]:
    """The search tokens of ``text``, in order (see the module docstring)."""
    if text.isascii():
        return [t.lower() for t in _ASCII_TOKEN.findall(text)]
    return _TOKEN.findall(_fold(text))


def index_token(token: str) -> str:
    """The indexed form of a token: itself when ASCII, else ``zq`` + its UTF-8 in hex."""
    if token.isascii():
        return token
    return "zq" + token.encode("utf-8").hex()


def _indexable_as_is(text: str, tool: str) -> bool:
    """Whether ASCII ``text`` and ``tool`` are within every bound of the index as they are."""
    size = len(text) + len(tool)
    if size <= MAX_TOKEN_LENGTH:
        return True
    if _LONG_ASCII_TOKEN.search(text) or _LONG_ASCII_TOKEN.search(tool):
        return False
    # A document of n characters has at most (n + 1) / 2 tokens, and its distinct tokens
    # hold fewer than n bytes.
    if size < 2 * MAX_INDEXED_TOKENS:
        return True
    tokens = tokenize(text) + tokenize(tool)
    if len(tokens) > MAX_INDEXED_TOKENS:
        return False
    return size <= MAX_INDEXED_BYTES or sum(map(len, set(tokens))) <= MAX_INDEXED_BYTES


def index_document(text: str, tool_text: str | None) -> str | None:
    """The document to index when it differs from ``text + "\\n" + tool_text``, else None.

    Backends index ``coalesce(search_text, text || '\\n' || coalesce(tool_text, ''))``.
    Plain ASCII documents within the index's bounds are indexed as they are (None: the
    text is stored once); anything else is indexed as its stream of ``index_token``
    tokens, cut where the module docstring says: tokens over ``MAX_TOKEN_LENGTH`` left
    out, and the stream (``text``'s tokens, then ``tool_text``'s) ended at
    ``MAX_INDEXED_TOKENS`` tokens or ``MAX_INDEXED_BYTES`` bytes of distinct tokens.
    """
    tool = tool_text or ""
    if text.isascii() and tool.isascii() and _indexable_as_is(text, tool):
        return None
    tokens_left, bytes_left = MAX_INDEXED_TOKENS, MAX_INDEXED_BYTES
    seen: set[str] = set()
    lines = []
    for part in (text, tool):
        kept: list[str] = []
        for token in map(index_token, tokenize(part)):
            if len(token) > MAX_TOKEN_LENGTH:
                continue
            if not tokens_left:
                break
            if token not in seen:
                if len(token) > bytes_left:
                    tokens_left = 0  # the cut ends the whole document, tool text included
                    break
                bytes_left -= len(token)
                seen.add(token)
            kept.append(token)
            tokens_left -= 1
        lines.append(" ".join(kept))
    return "\n".join(lines)


# ---------------------------------------------------------------------------- queries


@dataclass(frozen=True, slots=True)
class Term:
    """A word or phrase: consecutive ``tokens``; ``prefix`` makes the last one a prefix."""

    tokens: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query: every group must match (a group matches when any of its terms
    does) and no excluded term may match."""

    groups: tuple[tuple[Term, ...], ...]
    excluded: tuple[Term, ...] = ()

    def highlight_terms(self) -> tuple[frozenset[str], tuple[str, ...]]:
        """(whole tokens, prefixes) of the terms a match shows, for snippets."""
        whole: set[str] = set()
        prefixes: list[str] = []
        for group in self.groups:
            for term in group:
                whole.update(term.tokens[:-1] if term.prefix else term.tokens)
                if term.prefix:
                    prefixes.append(term.tokens[-1])
        return frozenset(whole), tuple(prefixes)


_OR = object()


def _chunks(query: str) -> list[tuple[str, bool, bool, bool] | object]:
    """Split ``query`` into (text, quoted, negated, prefix) chunks and OR markers."""
    out: list[tuple[str, bool, bool, bool] | object] = []
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        if ch.isspace():
            i += 1
            continue
        negated = False
        if ch == "-":
            j = i
            while j < n and query[j] == "-":
                j += 1
            if j < n and not query[j].isspace():
                negated = True
                i = j
                ch = query[i]
        if ch == '"':
            end = query.find('"', i + 1)
            if end == -1:  # an unbalanced quote runs to the end of the query
                end = n
            text = query[i + 1 : end]
            i = end + 1
            prefix = i < n and query[i] == "*"
            if prefix:
                i += 1
            out.append((text, True, negated, prefix))
            continue
        j = i
        while j < n and not query[j].isspace() and query[j] != '"':
            j += 1
        word = query[i:j]
        i = j
        if not negated and word == "OR":
            out.append(_OR)
        elif not negated and word == "AND":
            continue  # AND is what juxtaposition means anyway
        else:
            out.append((word, False, negated, word.endswith("*")))
    return out


def parse_query(query: str) -> Query:
    """Parse what a user typed into a ``Query``.

    Raises InvalidInput when nothing could be searched for: an empty query (or one of
    punctuation only), a query of only exclusions, a word too long to be indexed
    (``MAX_TOKEN_LENGTH``), or more than ``MAX_QUERY_TERMS`` terms.
    """
    if not isinstance(query, str):
        raise InvalidInput.about("query", f"expected a string, got {type(query).__name__}")
    # The subject of every error below: what was typed (the start of it, if long).
    named = f"query {query!r}" if len(query) <= 80 else f"query {query[:80]!r}..."
    groups: list[list[Term]] = []
    excluded: list[Term] = []
    pending_or = False
    last_positive = False
    token_count = 0
    for chunk in _chunks(query):
        if chunk is _OR:
            pending_or = last_positive
            continue
        assert isinstance(chunk, tuple)
        text, _quoted, negated, prefix = chunk
        tokens = tokenize(text)
        if not tokens:
            continue
        for token in tokens:
            if len(index_token(token)) > MAX_TOKEN_LENGTH:
                raise InvalidInput.about(
                    "query", "a word is too long to have been indexed", subject=named
                )
        token_count += len(tokens)
        term = Term(tuple(tokens), prefix)
        if negated:
            excluded.append(term)
            last_positive = pending_or = False
        elif pending_or and groups:
            groups[-1].append(term)
            pending_or, last_positive = False, True
        else:
            groups.append([term])
            pending_or, last_positive = False, True
    if len(groups) + len(excluded) > MAX_QUERY_TERMS or token_count > MAX_QUERY_TOKENS:
        raise InvalidInput.about(
            "query",
            f"too long (at most {MAX_QUERY_TERMS} terms and {MAX_QUERY_TOKENS} words)",
            subject=named,
        )
    if not groups:
        if excluded:
            raise InvalidInput.about(
                "query",
                "only exclusions (-word); add at least one word to search for",
                subject=named,
            )
        raise InvalidInput.about("query", "no words to search for", subject=named)
    return Query(tuple(tuple(g) for g in groups), tuple(excluded))


def _fts5_term(term: Term) -> str:
    # Indexed tokens hold only [a-z0-9], so quoting cannot be broken out of; the
    # doubling of '"' is belt and braces.
    quoted = " + ".join('"' + index_token(t).replace('"', '""') + '"' for t in term.tokens)
    return quoted + " *" if term.prefix else quoted


def to_fts5(query: Query) -> str:
    """The FTS5 MATCH expression for ``query`` (every token double-quoted)."""
    groups = " AND ".join(
        "(" + " OR ".join(_fts5_term(t) for t in group) + ")" for group in query.groups
    )
    if not query.excluded:
        return groups
    return f"({groups}) NOT ({' OR '.join(_fts5_term(t) for t in query.excluded)})"


def _ts_term(term: Term) -> str:
    words = [
        "'" + TS_LEXEME_PREFIX + index_token(t).replace("\\", "\\\\").replace("'", "''") + "'"
        for t in term.tokens
    ]
    if term.prefix:
        words[-1] += ":*"
    return "(" + " <-> ".join(words) + ")"


def to_tsquery(query: Query) -> str:
    """The text for PostgreSQL's ``to_tsquery('simple', ...)`` for ``query``: every token
    indexed (``index_token``), with ``TS_LEXEME_PREFIX`` in front, as in the tsvector."""
    parts = ["(" + " | ".join(_ts_term(t) for t in group) + ")" for group in query.groups]
    parts.extend("!" + _ts_term(t) for t in query.excluded)
    return " & ".join(parts)


# ---------------------------------------------------------------------------- snippets

_WS = re.compile(r"\s+")


def _word_spans(text: str) -> list[tuple[int, int, list[str]]]:
    """(start, end, tokens) of each word of ``text`` as written."""
    if text.isascii():
        return [(m.start(), m.end(), [m.group().lower()]) for m in _ASCII_TOKEN.finditer(text)]
    return [(m.start(), m.end(), tokenize(m.group())) for m in _raw_word().finditer(text)]


_SLOW_SCAN_CHARS = 5_000


@lru_cache(maxsize=256)  # one query's hits all use the same pattern
def _finder(whole: frozenset[str], prefixes: tuple[str, ...]) -> re.Pattern[str] | None:
    """A regex finding the words of a text that match as written (case aside), or None.

    Exact for ASCII text; for other text it finds words written without diacritics or
    compatibility forms, and unspaced characters anywhere. A word's start is checked by
    ``_matches`` (a leading look-behind made the engine test it at every position of
    the text: four times slower on a typical tool result).
    """
    words = []
    for word in sorted(whole):
        if len(word) == 1 and _UNSPACED.fullmatch(word):
            words.append(re.escape(word))
        else:
            words.append(re.escape(word) + r"(?![^\W_])")
    words += [re.escape(p) + r"[^\W_]*" for p in prefixes]
    if not words:
        return None
    return re.compile("|".join(words), re.IGNORECASE)


_WORD_CHAR = re.compile(r"[^\W_]")


def _word_starts(text: str, found: Iterable[re.Match[str]]) -> Iterator[tuple[int, int]]:
    """The spans of matches that begin a word (an unspaced character always does)."""
    for match in found:
        start = match.start()
        if (
            start
            and _WORD_CHAR.match(text, start - 1)
            and not _UNSPACED.match(text, start)
            and not _UNSPACED.match(text, start - 1)
        ):
            continue  # inside a word, not at its start
        yield match.span()


def _merge(text: str, found: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans with neighbours not parted by a space or a word merged (src/app.py, 数据库)."""
    merged: list[tuple[int, int]] = []
    for start, end in found:
        gap = text[merged[-1][1] : start] if merged else " "
        if not any(c.isspace() or c.isalnum() for c in gap):
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _matches(text: str, whole: frozenset[str], prefixes: tuple[str, ...]) -> list[tuple[int, int]]:
    """Spans of the words of ``text`` that match the query's tokens."""
    finder = _finder(whole, prefixes)
    found = [] if finder is None else list(_word_starts(text, finder.finditer(text)))
    if found or text.isascii():
        return _merge(text, found)
    # Folded forms only (café for cafe): word by word, in the start of the text only.
    head = text[:_SLOW_SCAN_CHARS]
    return _merge(
        head,
        (
            (start, end)
            for start, end, tokens in _word_spans(head)
            if any(t in whole or t.startswith(prefixes) for t in tokens)
        ),
    )


def make_snippet(
    text: str,
    tool_text: str | None,
    query: Query,
    highlight: tuple[str, str] = ("[", "]"),
    size: int = SNIPPET_CHARS,
) -> str:
    """About ``size`` characters of the message around its best match, matches marked.

    Looks in ``text`` first, then in ``tool_text`` (tool names and arguments), each up to
    ``SNIPPET_SCAN_CHARS`` characters; with no visible match there (e.g. a phrase only
    matched across both), the start of the text. Whitespace is collapsed; "…" marks a cut.
    """
    whole, prefixes = query.highlight_terms()
    # A snippet comes from the start of a long message (a tool result can be megabytes):
    # looking further would cost time for every hit shown.
    text = text[:SNIPPET_SCAN_CHARS]
    tool_text = tool_text[:SNIPPET_SCAN_CHARS] if tool_text else tool_text
    source = text
    spans = _matches(text, whole, prefixes)
    if not spans and tool_text:
        spans = _matches(tool_text, whole, prefixes)
        if spans or not text.strip():
            source = tool_text
    if not spans:
        return _cut(source, 0, size, [], highlight)
    # The window that holds the most matches, starting at one of them (two pointers).
    best, best_count, last = 0, 0, 0
    for i, (start, _) in enumerate(spans):
        last = max(last, i)
        while last + 1 < len(spans) and spans[last + 1][0] < start + size:
            last += 1
        if last - i + 1 > best_count:
            best, best_count = i, last - i + 1
    first = spans[best][0]
    # Some context before the first match, if the window has room.
    window_start = max(0, first - size // 4)
    return _cut(source, window_start, size, spans, highlight)


_ODD_SPACE = re.compile(r"[^\S ]|  ")  # whitespace other than single spaces


def _keep(_space: str, piece: str) -> str:
    return piece


def _cut(
    text: str, start: int, size: int, spans: list[tuple[int, int]], highlight: tuple[str, str]
) -> str:
    end = min(len(text), start + size)
    if start > 0 and not text[start - 1].isspace():
        # Do not start in the middle of a word (unless it is a very long one).
        space = text.find(" ", start, start + size // 4)
        if space != -1:
            start = space + 1
    if end < len(text):
        cut = text.rfind(" ", start, end)
        if cut > start + size // 2:
            end = cut
    open_mark, close_mark = highlight
    # Collapsing whitespace is needed only where there is more than single spaces.
    collapse = _WS.sub if _ODD_SPACE.search(text, start, end) else _keep
    pieces: list[str] = []
    position = start
    for s, e in spans:
        if e <= start or s >= end:
            continue
        s, e = max(s, start), min(e, end)
        pieces.append(collapse(" ", text[position:s]))
        pieces.append(open_mark + collapse(" ", text[s:e]) + close_mark)
        position = e
    pieces.append(collapse(" ", text[position:end]))
    body = "".join(pieces).strip()
    if start > 0:
        body = "…" + body
    if end < len(text) and text[end:].strip():
        body += "…"
    return body
