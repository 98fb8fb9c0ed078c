"""The Store contract: what every backend does, documented once.

Backends (``SQLiteStore``, ``PostgresStore``) implement this Protocol and inherit the
docstrings from here; ``AsyncStore`` mirrors it method for method (a test keeps the
signatures identical). Every method raises only ``SessionDBError`` subclasses.

Invariants every backend keeps:

* ``append`` is one transaction: seq numbers are contiguous per session even with many
  processes writing, counters/usage/preview/tool-call rows change with the messages, a
  batch is all-or-nothing (with the metadata patches it carries, its own session's and
  other sessions'), and a message id already stored in the session is not stored again
  (the stored message is returned instead).
* Bad input raises ``InvalidInput`` and writes nothing.
* Items come back JSON-equal to what was appended.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from .model import (
    ImportReport,
    Message,
    NewMessage,
    Page,
    PruneReport,
    SearchHit,
    Session,
    SessionHit,
    Stats,
    ToolCall,
    TreeNode,
    Usage,
)

__all__ = ["UNSET", "AppendInput", "GroupBy", "MessageOrder", "Store", "TokenCounter"]


class _Unset:
    """Marker for "argument not given" where None is a meaningful value."""

    _instance: _Unset | None = None

    def __new__(cls) -> _Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Any = _Unset()

AppendInput = Mapping[str, Any] | NewMessage | Iterable[Mapping[str, Any] | NewMessage]
TokenCounter = Callable[[Mapping[str, Any]], int]
GroupBy = Literal["day", "week", "month", "model", "agent", "source", "tool", "status"]
# How ``messages``/``items`` order a session: by seq (append order) or by ``created_at``.
MessageOrder = Literal["seq", "time"]


@runtime_checkable
class Store(Protocol):
    """A session database. Use as a context manager to close it."""

    @property
    def url(self) -> str:
        """The URL this store was opened with (``sqlite:///...`` or ``postgresql://...``):
        ``connect(store.url)`` opens the same data. A PostgreSQL schema chosen by option or
        by URL is in it as ``?schema=NAME``; a password is kept as given (``repr`` and
        ``info`` hide it)."""
        ...

    def close(self) -> None:
        """Release connections. Further calls raise ``SessionDBError``."""
        ...

    # ------------------------------------------------------------------ sessions

    def create_session(
        self,
        id: str | None = None,
        *,
        title: str | None = None,
        agent: str | None = None,
        model: str | None = None,
        source: str | None = None,
        user_id: str | None = None,
        working_dir: str | None = None,
        parent_id: str | None = None,
        relation: str | None = None,
        status: str = "active",
        metadata: Mapping[str, Any] | None = None,
        created_at: datetime | None = None,
    ) -> Session:
        """Create a session and return it; ``id`` is generated (time-sortable) when None.

        Raises AlreadyExists if the id is taken, NotFound if ``parent_id`` does not exist,
        InvalidInput for a bad field.
        """
        ...

    def ensure_session(self, id: str, **fields: Any) -> Session:
        """Return session ``id``, creating it with ``fields`` if it does not exist.

        Safe under concurrency: two processes ensuring the same id get the same session.
        ``fields`` are those of ``create_session``; they are ignored when it exists.
        """
        ...

    def get_session(self, session_id: str) -> Session:
        """Return the session. Raises NotFound."""
        ...

    def update_session(
        self,
        session_id: str,
        *,
        title: str | None = UNSET,
        agent: str | None = UNSET,
        model: str | None = UNSET,
        source: str | None = UNSET,
        user_id: str | None = UNSET,
        working_dir: str | None = UNSET,
        parent_id: str | None = UNSET,
        relation: str | None = UNSET,
        status: str = UNSET,
        metadata: Mapping[str, Any] | None = UNSET,
        updated_at: datetime = UNSET,
        compaction_count: int = UNSET,
        compacted_at: datetime | None = UNSET,
        last_seq: int = UNSET,
        usage: Usage = UNSET,
        last_message_at: datetime | None = UNSET,
    ) -> Session:
        """Change the given fields and return the updated session.

        ``metadata`` merges into the stored object; a key set to None is deleted. A
        status change counts as activity (``updated_at`` moves to now); other edits do
        not. ``updated_at``, ``last_message_at``, ``compaction_count``, ``compacted_at``,
        ``last_seq`` and ``usage`` set what sessiondb otherwise maintains itself: they
        restore what an export recorded (the sessiondb JSONL importer uses them), or a
        source's own session totals, and are not needed otherwise. ``last_seq`` (the seq the next
        append follows) can only be set while the session holds no messages; ``usage``
        replaces the session's totals (unset counters become 0), which should be at
        least what its messages recorded.
        Raises NotFound, InvalidInput.
        """
        ...

    def delete_session(self, session_id: str, *, recursive: bool = False) -> int:
        """Delete a session with its messages and tool calls; return sessions deleted.

        Children survive with ``parent_id`` cleared unless ``recursive`` deletes the
        whole subtree. Raises NotFound.
        """
        ...

    def list_sessions(
        self,
        *,
        status: str | None = None,
        agent: str | None = None,
        source: str | None = None,
        user_id: str | None = None,
        parent_id: str | None = None,
        roots_only: bool = False,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[Session]:
        """Sessions newest-updated first, one page at a time (keyset cursor, no OFFSET).

        ``since``/``until`` bound ``updated_at`` (since inclusive, until exclusive).
        Raises InvalidInput for a bad filter or cursor.
        """
        ...

    def recover_interrupted(self, idle_for: timedelta) -> list[str]:
        """Mark ``active`` sessions idle longer than ``idle_for`` as ``interrupted``.

        Idle means no activity (``updated_at``: creation, the newest message's time, a
        status change) for that long. Returns their ids. Run at agent start-up to close
        sessions a crash left open.
        """
        ...

    # ------------------------------------------------------------------ messages

    def append(
        self,
        session_id: str,
        items: AppendInput,
        *,
        ids: Sequence[str] | None = None,
        usage: Usage | None = None,
        model: str | None = None,
        expect_last_seq: int | None = None,
        session_metadata: Mapping[str, Any] | None = None,
        other_metadata: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> list[Message]:
        """Append one item or a batch in one transaction; return the stored messages.

        ``items`` is an item dict, a ``NewMessage``, or a list of them. ``ids`` gives each
        message its id (else the NewMessage's, else a generated one); a message whose id
        is already stored in the session is returned as stored and not written again.
        ``usage`` and ``model`` belong to the turn: they are recorded on the first
        assistant message of the batch (the first message when there is none).
        ``expect_last_seq`` makes the append conditional on the session's last seq.
        ``session_metadata`` is merged into the session's metadata in the same transaction
        (a key set to None is deleted), e.g. agent state that must change with the turn;
        it is applied only when at least one message is new. ``other_metadata`` does the
        same for other sessions, ``{session_id: patch}``, e.g. state several sessions
        share (a user's, an app's): every patch commits with the messages or none does,
        and each of those sessions gets a new ``updated_at``. The sessions are locked in
        id order, so concurrent appends naming the same sessions queue, never deadlock.

        Raises NotFound (no such session, or a session named in ``other_metadata``;
        nothing written), Conflict (``expect_last_seq`` mismatch), InvalidInput (bad
        item, or ``other_metadata`` naming ``session_id`` itself; nothing written).
        """
        ...

    def update_message(
        self,
        session_id: str,
        message_id: str,
        *,
        usage: Usage | None = UNSET,
        visible_to_model: bool = UNSET,
        visible_to_user: bool = UNSET,
        metadata: Mapping[str, Any] | None = UNSET,
    ) -> Message:
        """Change the given fields of a stored message in one transaction; return it.

        ``usage`` replaces the message's usage (None clears it) and the session's usage
        totals change by the difference, so they stay the sum of what was recorded.
        ``visible_to_model``/``visible_to_user`` decide what ``history()`` and ``search``
        see. ``metadata`` replaces the message's metadata (None empties it). The item,
        seq, timestamps and counters are never changed. Importers use this to correct a
        message when a later read of its source says otherwise (a compaction hid it, the
        usage reported for it arrived later).

        Raises NotFound (no such session or message in it), InvalidInput (a bad value;
        nothing changed).
        """
        ...

    def messages(
        self,
        session_id: str,
        *,
        after_seq: int | None = None,
        before_seq: int | None = None,
        last: int | None = None,
        limit: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        order: MessageOrder = "seq",
    ) -> list[Message]:
        """Messages oldest first, optionally ``after_seq``/``before_seq`` (exclusive).

        ``last=K`` returns the K newest of that range; ``limit=N`` the N oldest. Giving
        both raises InvalidInput. ``since``/``until`` bound ``created_at`` (since
        inclusive, until exclusive; compared in SQL at microsecond precision).
        ``order="time"`` orders by ``created_at`` (ties in seq order) instead of seq, so
        oldest, newest, ``last`` and ``limit`` are by time: what a framework that
        windows by event timestamps needs when times do not follow append order (e.g.
        events imported or written by parallel agents). Time-bounded and time-ordered
        reads scan the session's rows; seq windows read only the rows returned.
        Raises NotFound for a missing session, InvalidInput for a bad argument.
        """
        ...

    def items(
        self,
        session_id: str,
        *,
        after_seq: int | None = None,
        before_seq: int | None = None,
        last: int | None = None,
        limit: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        order: MessageOrder = "seq",
    ) -> list[dict[str, Any]]:
        """The item dicts of ``messages`` with the same arguments, in the same order.

        The fast path for replaying a conversation (framework adapters, prompt
        building): no ``Message`` objects, tool calls or usage are built. Raises like
        ``messages``.
        """
        ...

    def tool_calls(
        self,
        session_id: str | None = None,
        *,
        name: str | None = None,
        status: str | None = None,
        limit: int | None = None,
    ) -> list[ToolCall]:
        """Tool calls in request order, across all sessions unless ``session_id`` is given."""
        ...

    # ------------------------------------------------------------------ history

    def history(
        self,
        session_id: str,
        *,
        max_messages: int | None = None,
        max_tokens: int | None = None,
        token_counter: TokenCounter | None = None,
    ) -> list[dict[str, Any]]:
        """The prompt-ready items: newest model-visible messages that fit, oldest first.

        Starts at a legal boundary (never an orphan tool result, never splitting a tool
        call from its results; a user turn when one fits). A compaction summary comes
        before the tail it precedes. ``max_messages`` then ``max_tokens`` are filled from
        the newest message back; ``token_counter`` defaults to a dependency-free estimate.
        When no legal suffix fits the budget, the shortest legal suffix is returned
        (over budget); a budget of 0 returns []. The rules are in ``sessiondb.history``.
        Reads only the end of the session. Raises NotFound, InvalidInput.
        """
        ...

    def compact(
        self,
        session_id: str,
        summary: str | Mapping[str, Any],
        *,
        keep_last: int = 0,
        summary_role: str = "user",
    ) -> Message:
        """Hide from the model everything before the last ``keep_last`` messages and
        insert ``summary``; nothing is deleted. Returns the summary message.

        One transaction. The kept tail moves back to a legal boundary (a tool call stays
        with its results). ``summary`` is a string (stored as ``{"role": summary_role,
        "content": summary}``) or an item dict; its metadata is ``{"summary": true,
        "replaces_through": seq}`` and ``history()`` places it before the kept tail. A
        previous summary is hidden too (the new one replaces it). Records
        ``compaction_count``/``compacted_at``. Raises NotFound, InvalidInput.
        """
        ...

    def truncate(self, session_id: str, *, keep_last: int) -> int:
        """Delete all but the last ``keep_last`` messages; return how many were deleted.

        The kept messages keep their seqs; tool calls, counters and preview follow the
        delete, usage totals do not (they are money already spent). The cut is exact: a
        kept tool result may lose its call, and ``history()`` then leaves it out.
        Raises NotFound, InvalidInput.
        """
        ...

    def replace_history(
        self, session_id: str, items: AppendInput, *, keep_replaced: bool = True
    ) -> list[Message]:
        """Atomically make ``items`` the model-visible history; the replaced messages are
        kept, hidden from the model, unless ``keep_replaced`` is False. Returns the new
        messages.

        An explicit message id already stored in the session raises InvalidInput;
        nothing changes on any error. Raises NotFound.
        """
        ...

    def pop(self, session_id: str) -> Message | None:
        """Remove and return the last message, or None when the session is empty.

        ``last_seq`` steps back, so the next append reuses the seq. A popped tool result
        leaves its call pending; usage totals are not reduced. Raises NotFound.
        """
        ...

    def clear(self, session_id: str) -> int:
        """Delete every message of the session, keeping the session; return the count.

        ``last_seq`` restarts at 0; usage totals are not reduced. Raises NotFound.
        """
        ...

    def fork(
        self,
        session_id: str,
        *,
        at_seq: int | None = None,
        title: str | None = None,
        id: str | None = None,
    ) -> Session:
        """Copy the session's messages up to ``at_seq`` (default: all) into a new session
        with ``parent_id`` set and ``relation="fork"``; return the new session.

        The copies get seqs 1..n and keep their ids, visibility and tool calls (a call
        answered after ``at_seq`` is pending in the fork); agent, model, source, user,
        working_dir, metadata and title (unless given) come from the source.

        The fork's ``history()`` is what the model saw when ``at_seq`` was the newest
        message: messages a later ``compact`` or ``replace_history`` hid from the model
        are visible in the fork, while messages appended hidden, or hidden by a
        compaction or replacement at or before ``at_seq``, stay hidden. Without
        ``at_seq``, or with one at or past the last seq, the fork is the session as it
        is now. (Messages compacted by a sessiondb older than schema v5 stay hidden.)

        The fork's usage totals start as the sum of the copied messages' usage, recorded
        as inherited: ``tree_usage`` counts that spend once, in the source, however the
        fork's copies are deleted later. Each copy names the session that first stored
        it (``forked_from``), so ``stats`` counts it once too.
        Raises NotFound, AlreadyExists (``id`` taken), InvalidInput.
        """
        ...

    # ------------------------------------------------------------------ search & lineage

    def search(
        self,
        query: str,
        *,
        session_id: str | None = None,
        agent: str | None = None,
        source: str | None = None,
        user_id: str | None = None,
        role: str | None = None,
        tool: str | None = None,
        status: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        include_hidden: bool = False,
        highlight: tuple[str, str] = ("[", "]"),
        limit: int = 20,
        cursor: str | None = None,
    ) -> Page[SearchHit]:
        """Full-text search over messages, best first. Raises InvalidInput for a query
        that cannot match anything (e.g. only exclusions).

        ``status`` filters on the session's status; ``tool`` keeps messages that call or
        answer that tool.

        Words and the query language are ``sessiondb.textsearch``'s, the same on every
        backend. A message is indexed up to its first 16,383 words and 900,000 bytes of
        distinct words (a non-ASCII word counts as its indexed hex form), within
        PostgreSQL's tsvector limits: words past that point of a huge message (say, a
        tool result of thousands of unique hashes) do not find it. It is stored whole.
        """
        ...

    def sessions_matching(
        self,
        query: str,
        *,
        agent: str | None = None,
        source: str | None = None,
        user_id: str | None = None,
        status: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        include_hidden: bool = False,
        highlight: tuple[str, str] = ("[", "]"),
        limit: int = 20,
        cursor: str | None = None,
    ) -> Page[SessionHit]:
        """Sessions ranked by their best hit, with hit counts."""
        ...

    def children(self, session_id: str) -> list[Session]:
        """Direct children, oldest first. Raises NotFound."""
        ...

    def ancestors(self, session_id: str) -> list[Session]:
        """Parent, grandparent, ... root; the session itself excluded. Raises NotFound."""
        ...

    def tree(self, session_id: str) -> TreeNode:
        """The session and its whole subtree. Raises NotFound."""
        ...

    def tree_usage(self, session_id: str) -> Usage:
        """Usage summed over the session and all its descendants, each spend once.

        Sessions' own totals, less what forks inherited with their copies (that is the
        source's spend, counted there). Deleting messages never reduces it: the money is
        spent. Raises NotFound.
        """
        ...

    def stats(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        group_by: GroupBy | None = None,
        agent: str | None = None,
        source: str | None = None,
        user_id: str | None = None,
    ) -> Stats:
        """Totals, optional groups and per-tool figures, computed in SQL."""
        ...

    # ------------------------------------------------------------------ import/export

    def import_path(
        self,
        path: str | Path,
        *,
        format: str | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> ImportReport:
        """Import a transcript file or a directory (recursive); return what was done.

        Idempotent and incremental: a re-import adds only new messages and corrects the
        usage, visibility and metadata of those stored before where the source now says
        otherwise, ending where a fresh import would. Source files are never changed.
        Problems inside files go to the report; raises InvalidInput for an unknown
        ``format`` or a missing ``path``.
        """
        ...

    def export(self, session_id: str, format: str = "jsonl") -> str:
        """The session as ``jsonl`` (lossless, re-importable), ``markdown`` or ``openai``."""
        ...

    # ------------------------------------------------------------------ maintenance

    def prune(
        self,
        *,
        older_than: timedelta,
        status: str | None = None,
        archive_dir: str | Path | None = None,
        dry_run: bool = False,
    ) -> PruneReport:
        """Delete sessions idle longer than ``older_than`` (with their subtrees), after
        archiving them as JSONL under ``archive_dir`` when given; reclaim the space.

        Returns what was removed; a subtree written to while the archives were being
        written is kept and listed in ``PruneReport.kept``. Raises InvalidInput for a
        bad argument or an archive that cannot be written (then nothing is deleted).
        """
        ...

    def schema_version(self) -> int:
        """The schema version of the database (the number of the last migration)."""
        ...

    def pending_migrations(self) -> list[str]:
        """Names of migrations the database still needs; nothing is changed."""
        ...

    def migrate(self) -> list[str]:
        """Apply pending migrations in one transaction (safe when several processes open
        the database at once); return their names. Raises SchemaTooNew, changing nothing.
        ``connect(..., migrate=False)`` opens a database without migrating it.
        """
        ...

    def vacuum(self) -> None:
        """Return the space of deleted rows to the operating system (SQLite incremental
        vacuum, PostgreSQL VACUUM)."""
        ...

    def check(self) -> list[str]:
        """Integrity problems found (empty when healthy): storage check and counters."""
        ...

    def info(self) -> dict[str, Any]:
        """Backend, URL, schema version, counts and size in bytes."""
        ...
