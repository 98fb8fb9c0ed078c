"""Text preparation for full-text search, shared by every backend.

SQLite's ``unicode61`` tokenizer and PostgreSQL's ``simple`` parser both split on spaces
and punctuation, but neither splits CJK (and other unspaced scripts) into words. We put a
space around each such character before indexing, so every CJK character is a token and
a CJK query becomes a phrase of consecutive characters: substring search of any length,
identical on both backends. ASCII text (the common case) is passed through untouched.

The query side (parsing what a user typed into a safe expression) lives here too, so both
backends share one query language.
"""

from __future__ import annotations

import re

__all__ = ["index_document", "split_unspaced"]

# Scripts written without spaces between words: CJK ideographs, kana, Hangul syllables,
# Thai, Lao, Khmer, Myanmar.
_UNSPACED = re.compile(
    "([\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3100-\u312f\u3400-\u4dbf"
    "\u4e00-\u9fff\ua960-\ua97f\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f"
    "\U00020000-\U0002ffff\U00030000-\U0003134f])"
)


def split_unspaced(text: str) -> str:
    """Return ``text`` with a space around each character of an unspaced script."""
    if text.isascii():
        return text
    return _UNSPACED.sub(r" \1 ", text)


def index_document(text: str, tool_text: str | None) -> str | None:
    """The document to index when it differs from ``text + "\\n" + tool_text``, else None.

    Backends index ``coalesce(search_text, text || '\\n' || coalesce(tool_text, ''))``:
    storing None for the common case keeps each message's text stored once.
    """
    if text.isascii() and (tool_text is None or tool_text.isascii()):
        return None
    doc = split_unspaced(text) + "\n" + split_unspaced(tool_text or "")
    plain = text + "\n" + (tool_text or "")
    return None if doc == plain else doc
