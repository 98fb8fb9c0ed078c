"""W1-W7 on SQLite: each workload builds its stores, runs interleaved rounds, prints a table.

A workload function takes the run's ``Context`` and returns nothing; it writes a markdown
section through ``ctx.emit`` and records headline figures in ``ctx.headline``. Sizes shrink
under ``--quick`` (a smoke run; its numbers are not for judging speed).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import shutil
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .data import MARKER, Msg, conversation
from .raw import RawSQLite
from .stats import Timing, fmt_rate, fmt_us, interleave, ratio, table, time_each
from .subject import Subject, Unsupported
from .subjects import SessionDB


@dataclass
class Context:
    """What every workload needs: sizes, where to write, which peers, the report."""

    workdir: Path
    quick: bool = False
    # A handful of iterations only: the test suite's proof that the harness runs.
    tiny: bool = False
    peers: list[Callable[[], Subject]] = field(default_factory=list)
    postgres: str | None = None
    lines: list[str] = field(default_factory=list)
    headline: dict[str, Any] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    echo: bool = True

    def emit(self, text: str = "") -> None:
        self.lines.append(text)
        if self.echo:
            print(text, flush=True)

    def size(self, full: int, quick: int) -> int:
        if self.tiny:
            return max(2, quick // 20)
        return quick if self.quick else full

    def fresh(self, name: str) -> Path:
        path = self.workdir / name
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        return path


class Factory:
    """A picklable zero-argument constructor (spawned writer processes rebuild the store)."""

    def __init__(self, cls: type[Subject], *args: Any) -> None:
        self.cls = cls
        self.args = args

    def __call__(self) -> Subject:
        return self.cls(*self.args)


def open_subjects(ctx: Context, where: str, subjects: Sequence[Subject]) -> list[Subject]:
    """Open each subject in its own folder; drop (and report) those that fail."""
    opened = []
    base = ctx.fresh(where)
    for index, subject in enumerate(subjects):
        try:
            subject.open(base / f"s{index}")
            opened.append(subject)
        except Exception as exc:  # a peer that cannot run says why; the run goes on
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:160]
            ctx.skipped[subject.name] = reason
            ctx.emit(f"- {subject.name}: cannot run ({reason})")
    return opened


def make_peers(ctx: Context) -> list[Subject]:
    return [factory() for factory in ctx.peers]


def close_all(subjects: Sequence[Subject]) -> None:
    for s in subjects:
        with contextlib.suppress(Exception):  # best effort: the figures are taken
            s.close()


def baseline_for(subject: Subject, raws: dict[str, Timing]) -> Timing | None:
    return raws.get(subject.equivalent)


# ------------------------------------------------------------------------------- W1


def w1_append_latency(ctx: Context) -> None:
    """Single-message append latency at durability normal and full, beside the peers."""
    rounds = ctx.size(6, 3)
    per_round = ctx.size(400, 30)
    ctx.emit("\n## W1: single-message append latency\n")
    ctx.emit(
        f"One message per transaction into one session, {rounds} interleaved rounds × "
        f"{per_round} appends per store (a realistic mix: user text, assistant tool call, "
        "~1 KB tool result, cycling). Ratio: to raw sqlite3 sessions + messages + FTS5 at "
        "the same durability, in this run.\n"
    )
    raws = [RawSQLite(v, d) for d in ("normal", "full") for v in ("min", "sessions", "fts")]
    ours = [SessionDB("normal"), SessionDB("full")]
    subjects = open_subjects(ctx, "w1", [*raws, *ours, *make_peers(ctx)])
    msgs = conversation(rounds * per_round, tag="w1")
    for s in subjects:
        s.create_session("s1")

    def runner(s: Subject) -> Callable[[int], Sequence[int]]:
        count = per_round if s.max_appends is None else min(per_round, s.max_appends // rounds)

        def one_round(r: int) -> Sequence[int]:
            return s.append_timed("s1", msgs[r * per_round : r * per_round + count])

        return one_round

    timings = interleave(rounds, {s.name: runner(s) for s in subjects})
    close_all(subjects)
    base = {d: timings[f"raw sqlite3 + sessions + FTS5 ({d})"] for d in ("normal", "full")}
    ours_t = {d: timings[f"sessiondb ({d})"] for d in ("normal", "full")}
    rows = []
    for s in subjects:
        t = timings[s.name]
        ref = base[s.equivalent]
        faster = (
            ""
            if s.name.startswith(("raw", "sessiondb"))
            else ratio(t.median_us, ours_t[s.equivalent].median_us)
        )
        rows.append(
            [
                s.name,
                s.durability,
                fmt_us(t.median_us),
                fmt_us(t.p99_us),
                fmt_rate(t.per_second),
                ratio(t.median_us, ref.median_us),
                faster,
                len(t.samples),
            ]
        )
    ctx.emit(
        table(
            [
                "store",
                "durability",
                "median",
                "p99",
                "msgs/s",
                "× raw (same durability)",
                "sessiondb faster by",
                "n",
            ],
            rows,
        )
    )
    for d in ("normal", "full"):
        ctx.headline[f"append_{d}_us"] = ours_t[d].median_us
        ctx.headline[f"append_{d}_ratio"] = ours_t[d].median_us / base[d].median_us
    openai = timings.get("openai-agents SQLiteSession")
    if openai is not None:
        ctx.headline["openai_vs_full"] = openai.median_us / ours_t["full"].median_us
        ctx.headline["openai_vs_default"] = openai.median_us / ours_t["normal"].median_us


# ------------------------------------------------------------------------------- W2 + W3


def w2_w3_growth_and_tail(ctx: Context, *, growth: bool = True, tail: bool = True) -> None:
    """W2: append cost in a 100- vs a 10,000-message session. W3: read the last 50."""
    big = ctx.size(10_000, 1_000)
    small = 100
    rounds = ctx.size(6, 3)
    per_round = ctx.size(200, 20)
    reads = ctx.size(200, 30)
    factories = [Factory(RawSQLite, "fts", "normal"), Factory(SessionDB, "normal"), *ctx.peers]
    pairs = []
    base = ctx.fresh("w2")
    ctx.emit(f"\n## W2/W3: set-up: filling sessions of {small} and {big:,} messages\n")
    for index, factory in enumerate(factories):
        s, other = factory(), factory()
        cap = s.max_fill if s.max_fill is not None else big
        if ctx.quick and s.max_fill is not None:
            cap = min(cap, 300)  # slow to fill one message at a time: keep the smoke run short
        try:
            s.open(base / f"s{index}-small")
            other.open(base / f"s{index}-big")
            s.create_session("s")
            other.create_session("s")
            t0 = time.perf_counter()
            s.fill("s", conversation(small, tag="small"))
            other.fill("s", conversation(min(big, cap), tag="big"))
            pairs.append((s, other, time.perf_counter() - t0, min(big, cap)))
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:160]
            ctx.skipped[s.name] = reason
            ctx.emit(f"- {s.name}: cannot run ({reason})")
    extra = conversation(rounds * per_round * 2, tag="grow")

    if growth:
        ctx.emit("\n## W2: append cost as a session grows\n")
        ctx.emit(
            f"Median single-message append into a session holding {small} vs {big:,} "
            f"messages (separate files, {rounds} interleaved rounds × {per_round}). "
            "Growth = median at the big session / median at the small one.\n"
        )

        def runner(s: Subject, offset: int) -> Callable[[int], Sequence[int]]:
            count = per_round if s.max_appends is None else min(per_round, 5)

            def one_round(r: int) -> Sequence[int]:
                start = (r * 2 + offset) * per_round
                return s.append_timed("s", extra[start : start + count])

            return one_round

        jobs: dict[str, Callable[[int], Sequence[int]]] = {}
        for s, other, _, _ in pairs:
            jobs[f"{s.name} @small"] = runner(s, 0)
            jobs[f"{s.name} @big"] = runner(other, 1)
        timings = interleave(rounds, jobs)
        raw_growth = None
        rows = []
        for s, _, fill_s, filled in pairs:
            a, b = timings[f"{s.name} @small"], timings[f"{s.name} @big"]
            g = b.median_us / a.median_us
            if s.name.startswith("raw"):
                raw_growth = g
            rows.append(
                [
                    s.name,
                    fmt_us(a.median_us),
                    fmt_us(b.median_us),
                    f"{g:.2f}×",
                    "" if raw_growth is None else ratio(g, raw_growth),
                    f"{filled:,}",
                    f"{fill_s:.1f} s",
                ]
            )
            if s.name.startswith("sessiondb"):
                ctx.headline["growth"] = g
        ctx.emit(
            table(
                [
                    "store",
                    f"@{small}",
                    "@big",
                    "growth",
                    "growth ÷ raw growth",
                    "big session size",
                    "fill time",
                ],
                rows,
            )
        )

    if tail:
        ctx.emit(f"\n## W3: read the last 50 messages of a {big:,}-message session\n")
        ctx.emit(
            f"Decoded messages, oldest first; {rounds} interleaved rounds × {reads} reads. "
            "Ratio: to raw sqlite3 (SELECT … ORDER BY seq DESC LIMIT 50 + json.loads).\n"
        )

        def reader(s: Subject) -> Callable[[int], Sequence[int]]:
            def one_round(r: int) -> Sequence[int]:
                got = s.last("s", 50)
                if len(got) != 50:
                    raise AssertionError(f"{s.name}: last 50 returned {len(got)}")
                return time_each(lambda: s.last("s", 50), reads, budget_s=2.0)

            return one_round

        runnable = {}
        for _, other, _, _ in pairs:
            try:
                reader(other)(0)
                runnable[other.name] = reader(other)
            except Exception as exc:
                ctx.emit(f"- {other.name}: cannot read ({type(exc).__name__}: {exc})")
        timings = interleave(rounds, runnable)
        raw = timings.get("raw sqlite3 + sessions + FTS5 (normal)")
        rows = []
        for name, t in timings.items():
            rows.append(
                [
                    name,
                    fmt_us(t.median_us),
                    fmt_us(t.p99_us),
                    ratio(t.median_us, raw.median_us if raw else float("nan")),
                    len(t.samples),
                ]
            )
            if name.startswith("sessiondb") and raw:
                ctx.headline["last50_us"] = t.median_us
                ctx.headline["last50_ratio"] = t.median_us / raw.median_us
        ctx.emit(table(["store", "median", "p99", "× raw", "n"], rows))
    close_all([x for pair in pairs for x in pair[:2]])


# ------------------------------------------------------------------------------- W4


def w4_list_sessions(ctx: Context) -> None:
    """10,000 sessions × 5 messages, then list the 20 most recently updated."""
    sessions = ctx.size(10_000, 500)
    rounds = ctx.size(6, 3)
    reads = ctx.size(300, 50)
    ctx.emit(f"\n## W4: list the 20 newest of {sessions:,} sessions (5 messages each)\n")
    subjects = open_subjects(ctx, "w4", [RawSQLite("fts", "normal"), SessionDB("normal")])
    msgs = conversation(5, tag="w4")
    fills = {}
    for s in subjects:
        t0 = time.perf_counter()
        for i in range(sessions):
            s.create_session(f"sess-{i:06d}")
            s.append_batch(f"sess-{i:06d}", msgs)
        fills[s.name] = time.perf_counter() - t0

    def lister(s: Subject) -> Callable[[int], Sequence[int]]:
        def one_round(r: int) -> Sequence[int]:
            if len(s.list_newest(20)) != 20:
                raise AssertionError(f"{s.name}: list returned the wrong count")
            return time_each(lambda: s.list_newest(20), reads)

        return one_round

    timings = interleave(rounds, {s.name: lister(s) for s in subjects})
    close_all(subjects)
    raw = timings["raw sqlite3 + sessions + FTS5 (normal)"]
    rows = []
    for s in subjects:
        t = timings[s.name]
        rows.append(
            [
                s.name,
                fmt_us(t.median_us),
                fmt_us(t.p99_us),
                ratio(t.median_us, raw.median_us),
                f"{sessions / fills[s.name]:,.0f} sessions/s",
            ]
        )
    ctx.emit(
        "Fill: one create + one 5-message append per session. List: the API's newest-first "
        f"listing, limit 20 ({rounds} interleaved rounds × {reads}).\n"
    )
    ctx.emit(table(["store", "median", "p99", "× raw", "fill rate"], rows))
    ctx.emit(
        "\nPeers: openai-agents, langchain and langgraph have no session listing; "
        "google-adk's list_sessions returns every session of a user unordered; nanobot "
        "lists by reading every session file. They are not timed here."
    )
    ctx.headline["list20_us"] = timings["sessiondb (normal)"].median_us
    ctx.headline["list20_ratio"] = timings["sessiondb (normal)"].median_us / raw.median_us


# ------------------------------------------------------------------------------- W5


def _w5_child(
    factory: Callable[[], Subject],
    workdir: Path,
    sid: str,
    proc: int,
    msgs: list[Msg],
    ready: Any,
    go: Any,
    out: Any,
) -> None:
    """One writer process: open the store, wait for the start signal, append, report."""
    errors: list[str] = []
    subject = factory()
    subject.open(workdir)
    ready.set()
    go.wait()
    t0 = time.perf_counter()
    for m in msgs:
        try:
            subject.append(sid, m)
        except Exception as exc:  # counted: lock errors, stale-session errors, ...
            errors.append(f"{type(exc).__name__}: {str(exc)[:100]}")
            refresh = getattr(subject, "refresh", None)
            if refresh is not None:
                with contextlib.suppress(Exception):
                    refresh(sid)
    elapsed = time.perf_counter() - t0
    with contextlib.suppress(Exception):
        subject.close()
    out.put((proc, len(errors), errors[:3], elapsed))


def count_markers(texts: Sequence[str], expected: set[str]) -> tuple[int, int, int]:
    """(stored, lost, duplicated) of the expected markers among the stored texts."""
    found: dict[str, int] = {}
    for text in texts:
        hit = MARKER.search(text)
        if hit and hit.group(0) in expected:
            found[hit.group(0)] = found.get(hit.group(0), 0) + 1
    stored = sum(found.values())
    lost = len(expected - set(found))
    dup = sum(c - 1 for c in found.values())
    return stored, lost, dup


def run_writers(
    ctx: Context, factory: Callable[[], Subject], where: str, procs: int, each: int, same: bool
) -> dict[str, Any]:
    """``procs`` processes × ``each`` appends to one session or one each; count the damage."""
    spawn = multiprocessing.get_context("spawn")
    workdir = ctx.fresh(where) / "store"
    parent = factory()
    parent.open(workdir)
    sids = ["shared"] * procs if same else [f"p{i}" for i in range(procs)]
    for sid in set(sids):
        parent.create_session(sid)
    batches = [conversation(each, tag=f"p{i}") for i in range(procs)]
    ready = [spawn.Event() for _ in range(procs)]
    go = spawn.Event()
    out = spawn.Queue()
    workers = [
        spawn.Process(
            target=_w5_child, args=(factory, workdir, sids[i], i, batches[i], ready[i], go, out)
        )
        for i in range(procs)
    ]
    for w in workers:
        w.start()
    for r in ready:
        r.wait(timeout=120)
    t0 = time.perf_counter()
    go.set()
    results = [out.get(timeout=900) for _ in workers]
    wall = time.perf_counter() - t0
    for w in workers:
        w.join(timeout=60)
    expected = {m.marker for batch in batches for m in batch}
    texts: list[str] = []
    for sid in set(sids):
        texts.extend(parent.read_texts(sid))
    stored, lost, dup = count_markers(texts, expected)
    gaps = ""
    seqs = getattr(parent, "seqs", None)
    if seqs is not None:
        bad = 0
        for sid in set(sids):
            got = seqs(sid)
            bad += int(got != list(range(1, len(got) + 1)))
        gaps = str(bad)
    parent.close()
    errors = sum(r[1] for r in results)
    samples = [e for r in results for e in r[2]][:2]
    return {
        "expected": len(expected),
        "stored": stored,
        "lost": lost,
        "duplicated": dup,
        "errors": errors,
        "error_samples": samples,
        "wall": wall,
        "gaps": gaps,
        "rate": (procs * each - errors) / wall if wall else float("nan"),
    }


def w5_concurrent_writers(ctx: Context) -> None:
    """4 processes × 500 appends, to distinct sessions and to one shared session."""
    procs = 4
    each = ctx.size(500, 30)
    ctx.emit(f"\n## W5: {procs} processes × {each} appends, distinct and same session\n")
    ctx.emit(
        "Each writer process opens the store itself and appends one message at a time; "
        "afterwards every message is read back and its unique marker counted. Errors are "
        "exceptions raised to the caller (lock, stale-session, ...). Throughput is "
        "successful appends per second of wall time, all writers together.\n"
    )
    factories: list[tuple[str, Callable[[], Subject]]] = [
        ("sessiondb (normal)", Factory(SessionDB, "normal")),
        ("sessiondb (full)", Factory(SessionDB, "full")),
        ("raw sqlite3 + sessions + FTS5 (normal)", Factory(RawSQLite, "fts", "normal")),
    ]
    if ctx.quick:
        ctx.emit("(--quick: peers run in the full run only; each spawns 4 processes.)\n")
    else:
        for peer in ctx.peers:
            factories.append((peer().name, peer))
    rows = []
    for label, factory in factories:
        for same in (False, True):
            n = each
            cap = factory().max_appends
            if cap is not None:
                n = min(each, cap // 4)
            try:
                r = run_writers(ctx, factory, "w5", procs, n, same)
            except Exception as exc:
                ctx.emit(f"- {label}: cannot run ({type(exc).__name__}: {exc})")
                traceback.print_exc()
                continue
            rows.append(
                [
                    label,
                    "same" if same else "distinct",
                    f"{procs}×{n}",
                    r["stored"],
                    r["lost"],
                    r["duplicated"],
                    r["errors"],
                    r["gaps"],
                    fmt_rate(r["rate"]),
                    "; ".join(r["error_samples"])[:120],
                ]
            )
            if label.startswith("sessiondb"):
                key = "w5_bad" if label == "sessiondb (normal)" else "w5_bad_full"
                ctx.headline[key] = (
                    ctx.headline.get(key, 0)
                    + r["lost"]
                    + r["duplicated"]
                    + r["errors"]
                    + (int(r["gaps"] or 0))
                )
    ctx.emit(
        table(
            [
                "store",
                "session",
                "writers×appends",
                "stored",
                "lost",
                "duplicated",
                "errors",
                "seq gaps",
                "appends/s",
                "first errors",
            ],
            rows,
        )
    )


# ------------------------------------------------------------------------------- W6


def w6_batched_import(ctx: Context) -> None:
    """Import a conversation with each store's batch API, 500 messages per call."""
    total = ctx.size(10_000, 1_000)
    batch = 500
    rounds = ctx.size(4, 2)
    ctx.emit(f"\n## W6: batched import ({total:,} messages, {batch} per call)\n")
    ctx.emit(
        "Per-message cost of importing into a fresh session with the store's batch API "
        "(sessiondb: append(list); raw: executemany in one transaction). "
        f"{rounds} interleaved rounds.\n"
    )
    subjects = [
        RawSQLite("fts", "normal"),
        SessionDB("normal"),
        RawSQLite("fts", "full"),
        SessionDB("full"),
        *make_peers(ctx),
    ]
    subjects = open_subjects(ctx, "w6", subjects)
    msgs = conversation(total, tag="w6")

    def importer(s: Subject) -> Callable[[int], Sequence[int]]:
        def one_round(r: int) -> Sequence[int]:
            sid = f"import-{r}"
            s.create_session(sid)
            size = total if s.max_fill is None else min(total, 2_000)
            out = []
            for start in range(0, size, batch):
                chunk = msgs[start : start + batch]
                t0 = time.perf_counter_ns()
                s.append_batch(sid, chunk)
                out.append((time.perf_counter_ns() - t0) // len(chunk))
            return out

        return one_round

    runnable = {}
    for s in subjects:
        try:
            s.create_session("probe")
            s.append_batch("probe", msgs[:3])
            runnable[s.name] = importer(s)
        except Unsupported as exc:
            ctx.emit(f"- {s.name}: {exc}")
    timings = interleave(rounds, runnable)
    close_all(subjects)
    rows = []
    by_name = {s.name: s for s in subjects}
    for name, t in timings.items():
        s = by_name[name]
        ref = timings[f"raw sqlite3 + sessions + FTS5 ({s.equivalent})"]
        rows.append(
            [
                name,
                s.durability,
                fmt_us(t.median_us),
                fmt_rate(1e6 / t.median_us),
                ratio(t.median_us, ref.median_us),
            ]
        )
    ctx.emit(
        table(["store", "durability", "median per message", "msgs/s", "× raw executemany"], rows)
    )
    ctx.headline["import_ratio"] = (
        timings["sessiondb (normal)"].median_us
        / timings["raw sqlite3 + sessions + FTS5 (normal)"].median_us
    )


# ------------------------------------------------------------------------------- W7


def w7_search(ctx: Context) -> None:
    """Full-text search over a 50,000-message store: sessiondb.search vs raw FTS5 MATCH."""
    total = ctx.size(50_000, 1_500)
    rounds = ctx.size(6, 3)
    reads = ctx.size(20, 10)
    raw, ours = RawSQLite("fts", "normal"), SessionDB("normal")
    subjects = open_subjects(ctx, "w7", [raw, ours])
    if not hasattr(getattr(ours, "db", None), "search"):
        ctx.emit("\n## W7: search\n\nsessiondb has no search yet on this branch.")
        return
    msgs = conversation(total, tag="w7")
    for s in subjects:
        for i in range(0, total, 500):
            s.create_session(f"w7-{i}")
            s.append_batch(f"w7-{i}", msgs[i : i + 500])
    # The vocabulary is small, so its words are common (each in a large share of the
    # messages); a message's own number, from its marker, is a rare term (1-2 hits).
    queries = ["migration timeout", "sqlite", "compaction summary", "deploy", f"{total // 3 + 7}"]
    try:
        ours.search(queries[0], 20)
    except (NotImplementedError, AttributeError) as exc:
        ctx.emit(
            f"\n## W7: search\n\nsessiondb search is not available yet ({type(exc).__name__})."
        )
        close_all(subjects)
        return
    ctx.emit(f"\n## W7: full-text search over {total:,} messages (20 best hits)\n")

    def searcher(s: Subject, query: str) -> Callable[[int], Sequence[int]]:
        def one_round(r: int) -> Sequence[int]:
            return time_each(lambda: s.search(query, 20), reads)  # type: ignore[attr-defined]

        return one_round

    rows = []
    for query in queries:
        match = " ".join(f'"{w}"' for w in query.split())
        timings = interleave(
            rounds,
            {
                "raw": lambda r, q=match: time_each(lambda: raw.search(q, 20), reads),
                "sessiondb": searcher(ours, query),
            },
        )
        rows.append(
            [
                query,
                fmt_us(timings["raw"].median_us),
                fmt_us(timings["sessiondb"].median_us),
                ratio(timings["sessiondb"].median_us, timings["raw"].median_us),
            ]
        )
    close_all(subjects)
    ctx.emit(
        "Raw: FTS5 MATCH (quoted tokens) ORDER BY bm25 LIMIT 20 with snippet(), joined to "
        f"messages. {rounds} interleaved rounds × {reads} queries.\n"
    )
    ctx.emit(table(["query", "raw FTS5", "sessiondb.search", "× raw"], rows))


WORKLOADS: dict[str, Callable[[Context], None]] = {
    "W1": w1_append_latency,
    "W2": lambda ctx: w2_w3_growth_and_tail(ctx, tail=False),
    "W3": lambda ctx: w2_w3_growth_and_tail(ctx, growth=False),
    "W4": w4_list_sessions,
    "W5": w5_concurrent_writers,
    "W6": w6_batched_import,
    "W7": w7_search,
}
