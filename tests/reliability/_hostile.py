"""Hypothesis strategies for hostile input, and a classifier that says what a drawn value
really contained, so a test can assert that the nasty cases were generated at all.

Hypothesis' default ``text()`` almost never draws a lone surrogate (0 in 20,000 draws
in the audit; ``characters()`` alone gives about 1 in 700 strings), so ``HOSTILE_TEXT``
mixes in characters of category ``Cs`` explicitly, along with NUL and other characters
that break naive encoders.
"""

from __future__ import annotations

import copy
import math
import sys
from collections import Counter
from typing import Any

from hypothesis import strategies as st

# -- text ---------------------------------------------------------------------------

SURROGATES = st.characters(categories=["Cs"])  # U+D800..U+DFFF: not encodable as UTF-8
NASTY_CHARACTERS = st.sampled_from(
    ["\x00", "\ufeff", "\u202e", "\u0301", "\uffff", "\U0010ffff", "😀", "\r", "\x7f"]
)
HOSTILE_CHARACTERS = st.one_of(st.characters(codec=None), SURROGATES, NASTY_CHARACTERS)
# Half plain text, half text where about one character in three is a surrogate or nasty.
# (Joined lists, not text(alphabet): text() drops surrogates even from its alphabet.)
HOSTILE_TEXT = st.text(max_size=40) | st.lists(HOSTILE_CHARACTERS, min_size=1, max_size=40).map(
    "".join
)

# -- values that are hard to store ---------------------------------------------------


class _Named(dict[str, Any]):
    """A dict that hypothesis prints by name: printing 2,000 levels would overflow."""

    name = ""

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.name)


class _NamedText(str):
    """A string that hypothesis prints by name, not as 33 MiB."""

    name = ""

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.name)


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth - 1):
        value = {"a": value}
    outer = _Named(a=value)
    outer.name = f"<dict nested {depth} deep>"
    return outer


def _text(char: str, size: int) -> str:
    text = _NamedText(char * size)
    text.name = f"<{char!r} * {size}>"
    return text


def _cycle() -> list[Any]:
    loop: list[Any] = []
    loop.append(loop)
    return loop


class Special:
    """Named hard values, built once (a 33 MiB string is too dear to build per example)."""

    DEEP_OK = _nested(400)  # deep, but within the model's 500 levels
    DEEP_BAD = _nested(sys.getrecursionlimit() * 2)  # deeper than json.dumps can recurse
    HUGE = _text("h", 33 * 1024 * 1024)  # over the default 32 MiB max_message_bytes
    BIG = _text("b", 200 * 1024)


SPECIALS = st.sampled_from([Special.DEEP_OK, Special.DEEP_BAD, Special.HUGE, Special.BIG]) | (
    st.builds(_cycle)
)

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**63, max_value=2**80)  # beyond int64
    | st.floats()  # NaN and Inf included
    | st.sampled_from([math.nan, math.inf, -math.inf, -0.0])
    | HOSTILE_TEXT
    | st.binary(max_size=10)
)
KEYS = HOSTILE_TEXT | st.integers() | st.none() | st.booleans() | st.floats() | st.tuples()
NESTED = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(KEYS, inner, max_size=4)
        | st.tuples(inner, inner)
        | st.sets(st.integers(), max_size=2)
    ),
    max_leaves=15,
)
# One value in 20 is a special: often enough to be tried hundreds of times per target,
# rarely enough that encoding 33 MiB does not dominate the run.
VALUES = st.sampled_from(range(20)).flatmap(lambda n: SPECIALS if n == 0 else NESTED)

# JSON that every backend stores: the accepted path needs examples too.
PLAIN_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=10,
)

# -- changing one part of a JSON value ------------------------------------------------------


def string_slots(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths to every string leaf of a JSON value."""
    if isinstance(value, str):
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in string_slots(v, (*path, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in string_slots(v, (*path, i))]
    return []


def slots(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths to every value inside a JSON value (not the value itself)."""
    if not isinstance(value, dict | list):
        return []
    found: list[tuple[Any, ...]] = []
    for k, v in value.items() if isinstance(value, dict) else enumerate(value):
        found.append((*path, k))
        found.extend(slots(v, (*path, k)))
    return found


def replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    """A copy of ``value`` with the value at ``path`` replaced by ``new``."""
    if not path:
        return new
    value = copy.deepcopy(value)
    target = value
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new
    return value


# -- what a value contains --------------------------------------------------------------

_SPECIAL_NAMES = {
    id(Special.DEEP_OK): "deep nesting",
    id(Special.DEEP_BAD): "nesting deeper than the recursion limit",
    id(Special.HUGE): "33 MiB string",
    id(Special.BIG): "200 KiB string",
}


def _text_features(text: str, found: set[str]) -> None:
    if any("\ud800" <= c <= "\udfff" for c in text):
        found.add("lone surrogate")
    if "\x00" in text:
        found.add("NUL")


def features(value: Any) -> set[str]:
    """The kinds of hostile content in ``value`` (lone surrogate, NUL, NaN/Inf, ...)."""
    found: set[str] = set()
    _walk(value, found, set())
    return found


def _walk(item: Any, found: set[str], ancestors: set[int]) -> None:
    name = _SPECIAL_NAMES.get(id(item))
    if name is not None:
        found.add(name)
    elif isinstance(item, str):
        _text_features(item, found)
    elif isinstance(item, float):
        if not math.isfinite(item):
            found.add("NaN/Inf")
    elif isinstance(item, int) and not isinstance(item, bool):
        if abs(item) >= 2**63:
            found.add("integer beyond int64")
    elif isinstance(item, bytes):
        found.add("bytes")
    elif isinstance(item, dict | list | tuple | set):
        if id(item) in ancestors:
            found.add("cycle")  # only a container inside itself, not one shared twice
            return
        ancestors.add(id(item))
        if isinstance(item, dict):
            for key, inner in item.items():
                if not isinstance(key, str):
                    found.add("non-string key")
                _walk(key, found, ancestors)
                _walk(inner, found, ancestors)
        else:
            for inner in item:
                _walk(inner, found, ancestors)
        ancestors.discard(id(item))


def tally(counts: Counter[str], target: str, value: Any) -> set[str]:
    """Count the hostile kinds in ``value`` under ``target``; return them."""
    kinds = features(value)
    for kind in kinds:
        counts[f"{target}: examples with {kind}"] += 1
    return kinds
