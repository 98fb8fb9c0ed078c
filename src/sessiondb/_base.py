"""Backend-independent parts of a store: input preparation, cursors, shared defaults.

Everything here is plain Python over the public model; backends subclass ``BaseStore``
and add SQL. Preparation happens *before* a backend opens its write transaction, so bad
input is refused without touching the database and the lock is held only for writes.
"""

from __future__ import annotations

import base64
import functools
import inspect
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from . import dialects
from .errors import AlreadyExists, InvalidInput, NotFound
from .model import (
    DEFAULT_MAX_MESSAGE_BYTES,
    RELATIONS,
    STATUSES,
    USAGE_FIELDS,
    ImportReport,
    Message,
    NewMessage,
    PruneReport,
    Session,
    ToolCall,
    Usage,
    check_choice,
    check_id,
    check_metadata,
    check_text,
    dump_json,
    from_micros,
    new_id,
    now_micros,
    stored_message,
    stored_tool_call,
    to_micros,
    to_utc,
)
from .store import UNSET, AppendInput, MessageOrder

if TYPE_CHECKING:
    from .store import Store
from .textsearch import index_document

__all__ = [
    "BaseStore",
    "PreparedMessage",
    "Window",
    "decode_cursor",
    "encode_cursor",
    "message_rows",
    "new_messages",
    "restored_fields",
    "summarize_batch",
]

PREVIEW_LENGTH = 120
_PREVIEW_SCAN = 4 * PREVIEW_LENGTH
_WHERE = [f"items[{i}]" for i in range(64)]  # names of batch items, made once
MAX_INT = 1 << 62
ORDERS = ("seq", "time")
_WS = re.compile(r"\s+")


@dataclass(slots=True)
class PreparedMessage:
    """One validated message, ready for a backend to insert."""

    id: str
    explicit_id: bool
    role: str
    item: Mapping[str, Any]
    item_json: str
    text: str
    tool_text: str | None
    search_text: str | None
    tool_call_id: str | None
    projection: dialects.Projection
    created_at: int  # microseconds since the epoch
    model: str | None
    usage: Usage | None
    visible_to_model: bool
    visible_to_user: bool
    metadata: dict[str, Any]
    metadata_json: str


@dataclass(slots=True)
class SessionFields:
    """Validated fields of a new session."""

    id: str
    title: str | None
    agent: str | None
    model: str | None
    source: str | None
    user_id: str | None
    working_dir: str | None
    parent_id: str | None
    relation: str | None
    status: str
    metadata_json: str
    created_at: int


def encode_cursor(values: Sequence[Any]) -> str:
    """An opaque cursor for keyset pagination."""
    raw = json.dumps(list(values), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, shape: Sequence[type]) -> list[Any]:
    """Decode a cursor made by ``encode_cursor``; raise InvalidInput if it is not one."""
    if not isinstance(cursor, str):
        raise InvalidInput.about("cursor", f"expected a string, got {type(cursor).__name__}")
    named = f"cursor {cursor[:40]!r}"
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError, UnicodeError):
        raise InvalidInput(
            f"cursor: {cursor[:40]!r} is not a cursor sessiondb made",
            reason="not a cursor sessiondb made",
            subject=named,
        ) from None
    if (
        not isinstance(values, list)
        or len(values) != len(shape)
        or not all(
            isinstance(value, kind) and not isinstance(value, bool)
            for value, kind in zip(values, shape, strict=True)
        )
    ):
        raise InvalidInput(
            f"cursor: {cursor[:40]!r} is not a cursor for this listing",
            reason="not a cursor for this listing",
            subject=named,
        )
    return values


def make_preview(text: str) -> str | None:
    """First user text, whitespace collapsed, at most 120 characters."""
    # split() collapses the same (Unicode) whitespace as re's \s+, ten times faster; a
    # prefix is enough unless it is mostly whitespace.
    collapsed = " ".join(text[:_PREVIEW_SCAN].split())
    if len(collapsed) <= PREVIEW_LENGTH and len(text) > _PREVIEW_SCAN:
        collapsed = " ".join(text.split())
    if not collapsed:
        return None
    if len(collapsed) > PREVIEW_LENGTH:
        return collapsed[: PREVIEW_LENGTH - 1] + "…"
    return collapsed


def summarize_batch(batch: Sequence[PreparedMessage]) -> dict[str, Any]:
    """What a batch adds to its session's row: usage sums, newest time/model, preview.

    Keys match the parameters of each backend's RESERVE_SEQS statement.
    """
    input_tokens = output_tokens = cache_read = cache_write = reasoning = 0
    cost = 0.0
    model = None
    preview = None
    latest = 0
    for p in batch:
        u = p.usage
        if u is not None:
            input_tokens += u.input_tokens or 0
            output_tokens += u.output_tokens or 0
            cache_read += u.cache_read_tokens or 0
            cache_write += u.cache_write_tokens or 0
            reasoning += u.reasoning_tokens or 0
            cost += u.cost_usd or 0.0
        if p.model:
            model = p.model
        if preview is None and p.role == "user" and p.text:
            preview = make_preview(p.text)
        if p.created_at > latest:
            latest = p.created_at
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_read_tokens": cache_read,
        "cache_write_tokens": cache_write,
        "reasoning_tokens": reasoning,
        "cost_usd": cost,
        "model": model,
        "preview": preview,
        "latest": latest,
    }


def message_rows(
    session_id: str, batch: Sequence[PreparedMessage], first_seq: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Parameter dicts for INSERT_MESSAGE, INSERT_TOOL_CALL and COMPLETE_TOOL_CALL.

    Seqs are assigned in batch order from ``first_seq``; the names match every backend's
    statements, so the append algorithm is written once. A result answers the newest
    still-pending call with its id, looking only backwards: a call made earlier in the
    batch is completed here, in its INSERT_TOOL_CALL row; any other result goes to
    COMPLETE_TOOL_CALL, which only looks at calls stored before the batch
    (``request_seq < first_seq``). Results do not wait for calls made after them.
    """
    rows: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    pending: dict[str, list[dict[str, Any]]] = {}
    seq = first_seq
    for p in batch:
        u = p.usage
        proj = p.projection
        rows.append(
            {
                "session_id": session_id,
                "seq": seq,
                "id": p.id,
                "role": p.role,
                "item": p.item_json,
                "text": p.text,
                "tool_text": p.tool_text,
                "search_text": p.search_text,
                "tool_call_id": p.tool_call_id,
                "has_tool_calls": 1 if proj.calls else 0,
                "created_at": p.created_at,
                "model": p.model,
                "input_tokens": u and u.input_tokens,
                "output_tokens": u and u.output_tokens,
                "cache_read_tokens": u and u.cache_read_tokens,
                "cache_write_tokens": u and u.cache_write_tokens,
                "reasoning_tokens": u and u.reasoning_tokens,
                "cost_usd": u and u.cost_usd,
                "visible_to_model": int(p.visible_to_model),
                "visible_to_user": int(p.visible_to_user),
                "metadata": p.metadata_json,
            }
        )
        for r in proj.results:
            status = "error" if r.is_error else "ok"
            waiting = pending.get(r.call_id)
            if waiting:
                call = waiting.pop()
                call.update(
                    result_seq=seq, result_text=r.text, status=status, completed_at=p.created_at
                )
                continue
            results.append(
                {
                    "session_id": session_id,
                    "call_id": r.call_id,
                    "result_seq": seq,
                    "result_text": r.text,
                    "status": status,
                    "completed_at": p.created_at,
                    "first_seq": first_seq,
                }
            )
        for position, c in enumerate(proj.calls):
            call = {
                "session_id": session_id,
                "call_id": c.call_id,
                "name": c.name,
                "arguments": c.arguments,
                "request_seq": seq,
                "position": position,
                "requested_at": p.created_at,
                "result_seq": None,
                "result_text": None,
                "status": "pending",
                "completed_at": None,
            }
            calls.append(call)
            pending.setdefault(c.call_id, []).append(call)
        seq += 1
    return rows, calls, results


def new_messages(
    session_id: str,
    batch: Sequence[PreparedMessage],
    rows: Sequence[Mapping[str, Any]],
    calls: Sequence[Mapping[str, Any]],
) -> list[Message]:
    """The Messages just stored from ``batch`` (items are the caller's own dicts), with
    their tool calls as ``message_rows`` made them (completed when answered in the batch).
    """
    by_seq: dict[int, list[ToolCall]] = {}
    for c in calls:
        done = c["completed_at"]
        by_seq.setdefault(c["request_seq"], []).append(
            stored_tool_call(
                session_id,
                c["call_id"],
                c["name"],
                c["arguments"],
                c["request_seq"],
                c["result_seq"],
                c["result_text"],
                c["status"],
                None if done is None else max(0, (done - c["requested_at"]) // 1000),
            )
        )
    out = []
    for p, row in zip(batch, rows, strict=True):
        seq = row["seq"]
        out.append(
            stored_message(
                session_id,
                seq,
                p.id,
                p.role,
                p.item,
                p.text,
                from_micros(p.created_at),
                by_seq.get(seq, []),
                p.tool_call_id,
                p.model,
                p.usage,
                p.visible_to_model,
                p.visible_to_user,
                p.metadata,
            )
        )
    return out


def merge_metadata(current: Mapping[str, Any], patch: Mapping[str, Any]) -> str:
    """JSON of ``current`` with ``patch`` merged in (top level; None deletes a key)."""
    merged = dict(current)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return dump_json("metadata", merged)


def check_other_metadata(session_id: str, value: object) -> dict[str, dict[str, Any]]:
    """``append``'s ``other_metadata`` validated: {other session id: non-empty patch}.

    Raises InvalidInput for something that is not ``{session_id: JSON object}`` or that
    names the session appended to (whose patch is ``session_metadata``).
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        kind = type(value).__name__
        raise InvalidInput.about("other_metadata", f"expected {{session_id: patch}}, got {kind}")
    patches: dict[str, dict[str, Any]] = {}
    for other, patch in value.items():
        check_id("other_metadata: session id", other)
        if other == session_id:
            raise InvalidInput.about(
                "other_metadata", f"{other!r} is the session appended to; use session_metadata"
            )
        checked = check_metadata(f"other_metadata[{other!r}]", patch)
        if checked:
            patches[other] = checked
    return patches


def check_limit(name: str, value: int | None, *, allow_none: bool = True) -> int | None:
    """Return ``value`` if it is an int from 0 to 2**62 (or None when allowed).

    The upper bound keeps every such value inside a signed 64-bit SQL integer on both
    backends, so a huge limit or seq is InvalidInput rather than a driver overflow.
    """
    if value is None:
        if allow_none:
            return None
        raise InvalidInput.about(f"{name}", "a value is required")
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_INT:
        raise InvalidInput.about(f"{name}", f"expected an integer from 0 to 2**62, got {value!r}")
    return value


def restored_fields(
    current: Session,
    updated_at: object,
    compaction_count: object,
    compacted_at: object,
    last_seq: object = UNSET,
    usage: object = UNSET,
    last_message_at: object = UNSET,
) -> dict[str, int | float | None]:
    """The parameters of UPDATE_SESSION for ``update_session``'s ``updated_at``,
    ``compaction_count``, ``compacted_at``, ``last_seq``, ``usage`` and
    ``last_message_at``: UNSET keeps what ``current`` holds; a ``restore_*`` of None lets
    the statement keep the column or apply its own rule. Raises InvalidInput for a bad
    value, and for ``last_seq`` while the session holds messages (their seqs must stay
    below it)."""
    out: dict[str, int | float | None] = {"restore_updated_at": None, "restore_last_seq": None}
    if last_seq is not UNSET:
        seq = check_limit("last_seq", cast("int", last_seq), allow_none=False)
        if current.message_count:
            raise InvalidInput.about(
                "last_seq", "can only be set while the session holds no messages"
            )
        out["restore_last_seq"] = seq
    for name in USAGE_FIELDS:
        out["restore_" + name] = None
    if usage is not UNSET:
        if not isinstance(usage, Usage):
            raise InvalidInput.about("usage", f"expected sessiondb.Usage, got {usage!r}")
        for name in USAGE_FIELDS:
            out["restore_" + name] = getattr(usage, name) or (0.0 if name == "cost_usd" else 0)
    if updated_at is not UNSET:
        when = to_utc("updated_at", updated_at)
        if when is None:
            raise InvalidInput.about("updated_at", "a time is required, not None")
        out["restore_updated_at"] = to_micros(when)
    count = current.compaction_count
    if compaction_count is not UNSET:
        count = (
            check_limit("compaction_count", cast("int", compaction_count), allow_none=False) or 0
        )
    out["compaction_count"] = count
    stamp = current.compacted_at
    if compacted_at is not UNSET:
        stamp = to_utc("compacted_at", compacted_at)
    out["compacted_at"] = None if stamp is None else to_micros(stamp)
    latest = current.last_message_at
    if last_message_at is not UNSET:
        latest = to_utc("last_message_at", last_message_at)
    out["last_message_at"] = None if latest is None else to_micros(latest)
    return out


# Arguments every contract method checks before any SQL runs, by parameter name. SQLite
# would happily look up a session id holding NUL or a non-string, PostgreSQL refuses it
# (and a lone surrogate cannot even be encoded for either driver): checking here makes
# both backends answer InvalidInput, naming the argument, instead of NotFound on one,
# a driver error on the other and a UnicodeEncodeError on both.
_ID_ARGUMENTS = frozenset({"session_id", "parent_id"})
_TEXT_ARGUMENTS = frozenset({"agent", "source", "user_id", "tool", "name", "role"})


def _check_id_argument(name: str, value: object) -> None:
    check_id(name, value)


def _check_text_argument(name: str, value: object) -> None:
    check_text(name, value)


def _contract_methods() -> frozenset[str]:
    from .store import Store

    return frozenset(name for name, member in vars(Store).items() if inspect.isfunction(member))


def _validating(method: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a contract method so its id and text arguments are checked first."""
    checks: list[tuple[str, int | None, bool, Callable[[str, object], None]]] = []
    for index, param in enumerate(list(inspect.signature(method).parameters.values())[1:]):
        if param.name in _ID_ARGUMENTS:
            check = _check_id_argument
        elif param.name in _TEXT_ARGUMENTS:
            check = _check_text_argument
        else:
            continue
        positional = param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD)
        required = param.default is param.empty  # None is then an error, not "no filter"
        checks.append((param.name, index if positional else None, required, check))
    if not checks:
        return method

    @functools.wraps(method)
    def checked(self: Any, *args: Any, **kwargs: Any) -> Any:
        for name, index, required, check in checks:
            value = args[index] if index is not None and index < len(args) else kwargs.get(name)
            if value is None:
                if required:
                    raise InvalidInput.about(name, "a value is required")
            elif value is not UNSET:
                check(name, value)
        return method(self, *args, **kwargs)

    checked.__sessiondb_checked__ = True  # type: ignore[attr-defined]
    return checked


@dataclass(slots=True, frozen=True)
class Window:
    """A validated ``messages``/``items`` window: the parameters of the read and which
    of a backend's statements runs it.

    ``kind`` is ``"seq"`` (seq range only: the index reads just the rows returned),
    ``"timed"`` (seq order, bounded by ``created_at`` too) or ``"time"`` (ordered by
    ``created_at`` then seq). ``newest`` means ``last`` was given: the statement reads
    backwards from the end and the caller reverses. ``count`` is ``last`` or ``limit``
    (None: all); each backend writes its own "no limit" into ``params["limit"]``.
    """

    params: dict[str, Any]
    kind: str
    newest: bool
    count: int | None


def read_window(
    what: str,
    session_id: str,
    *,
    after_seq: int | None,
    before_seq: int | None,
    last: int | None,
    limit: int | None,
    since: Any,
    until: Any,
    order: str,
) -> Window:
    """Validate the window arguments of ``messages``/``items``; raise InvalidInput."""
    if last is not None and limit is not None:
        raise InvalidInput.about(what, "give either last or limit, not both")
    check_limit("last", last)
    check_limit("limit", limit)
    check_limit("after_seq", after_seq)
    check_limit("before_seq", before_seq)
    params: dict[str, Any] = {
        "session_id": session_id,
        "after_seq": 0 if after_seq is None else after_seq,
        "before_seq": MAX_INT if before_seq is None else before_seq,
    }
    kind = "seq"
    if since is not None or until is not None or order != "seq":
        kind = check_choice("order", order, ORDERS)
        if kind == "seq":
            kind = "timed"
        since_dt, until_dt = to_utc("since", since), to_utc("until", until)
        params["since"] = -MAX_INT if since_dt is None else to_micros(since_dt)
        params["until"] = MAX_INT if until_dt is None else to_micros(until_dt)
    return Window(params, kind, last is not None, last if last is not None else limit)


class BaseStore:
    """Shared logic; subclasses implement the SQL parts of the ``Store`` contract.

    Every contract method a subclass defines is wrapped (``__init_subclass__``) so that
    session ids and text filters are validated the same way on every backend.
    """

    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in _contract_methods():
            method = cls.__dict__.get(name)
            if inspect.isfunction(method) and not hasattr(method, "__sessiondb_checked__"):
                setattr(cls, name, _validating(method))

    # ------------------------------------------------------------------ preparation

    def _session_fields(
        self,
        id: str | None,
        *,
        title: str | None,
        agent: str | None,
        model: str | None,
        source: str | None,
        user_id: str | None,
        working_dir: str | None,
        parent_id: str | None,
        relation: str | None,
        status: str,
        metadata: Mapping[str, Any] | None,
        created_at: Any,
    ) -> SessionFields:
        """Validate create_session's arguments; raise InvalidInput naming the field."""
        sid = new_id() if id is None else check_id("id", id)
        created = to_utc("created_at", created_at)
        meta = check_metadata("metadata", metadata)
        return SessionFields(
            id=sid,
            title=check_text("title", title),
            agent=check_text("agent", agent),
            model=check_text("model", model),
            source=check_text("source", source),
            user_id=check_text("user_id", user_id),
            working_dir=check_text("working_dir", working_dir),
            parent_id=None if parent_id is None else check_id("parent_id", parent_id),
            relation=None if relation is None else check_choice("relation", relation, RELATIONS),
            status=check_choice("status", status, STATUSES),
            metadata_json=dump_json("metadata", meta),
            created_at=now_micros() if created is None else to_micros(created),
        )

    def _prepare(
        self,
        items: AppendInput,
        ids: Sequence[str] | None,
        usage: Usage | None,
        model: str | None,
    ) -> list[PreparedMessage]:
        """Validate and project a batch; raise InvalidInput naming the bad field."""
        if type(items) is dict or isinstance(items, Mapping | NewMessage):
            batch: list[Mapping[str, Any] | NewMessage] = [items]
        elif isinstance(items, str | bytes):
            raise InvalidInput.about(
                "items", "expected an item dict or a list of them, got a string"
            )
        else:
            try:
                batch = list(items)
            except TypeError:
                raise InvalidInput.about(
                    "items", f"expected an item dict or a list of them, got {type(items).__name__}"
                ) from None
        if ids is not None and (isinstance(ids, str) or len(ids) != len(batch)):
            raise InvalidInput.about("ids", f"expected {len(batch)} ids, one per item")
        if usage is not None and not isinstance(usage, Usage):
            raise InvalidInput.about(
                "usage", f"expected sessiondb.Usage, got {type(usage).__name__}"
            )
        model = check_text("model", model)

        now = now_micros()
        prepared: list[PreparedMessage] = []
        seen: set[str] = set()
        for index, entry in enumerate(batch):
            where = _WHERE[index] if index < len(_WHERE) else f"items[{index}]"
            new = entry if isinstance(entry, NewMessage) else None
            item = new.item if new is not None else entry
            if type(item) is not dict and not isinstance(item, Mapping):
                raise InvalidInput.about(f"{where}", f"expected a dict, got {type(item).__name__}")
            item_json = dump_json(where, item, max_bytes=self.max_message_bytes)
            # Usage given with the message wins, so the item's own is not even read.
            given_usage = new is not None and new.usage is not None
            proj = dialects.project(item, with_usage=not given_usage)
            explicit = ids[index] if ids is not None else (new.id if new is not None else None)
            mid = new_id() if explicit is None else check_id(f"ids[{index}]", explicit)
            if mid in seen:
                raise InvalidInput.about(f"ids[{index}]", f"{mid!r} appears twice in one batch")
            seen.add(mid)
            created = to_utc(f"{where}.created_at", new.created_at) if new is not None else None
            if created is None:
                created = proj.created_at
            msg_usage = new.usage if new is not None and new.usage is not None else proj.usage
            if msg_usage is not None and not isinstance(msg_usage, Usage):
                raise InvalidInput.about(f"{where}.usage", "expected sessiondb.Usage")
            msg_model = check_text(f"{where}.model", new.model) if new is not None else None
            raw_meta = new.metadata if new is not None else None
            if raw_meta:
                # Validated by serializing it once (check_metadata would serialize twice).
                if not isinstance(raw_meta, Mapping):
                    kind = type(raw_meta).__name__
                    raise InvalidInput.about(
                        f"{where}.metadata", f"expected a JSON object, got {kind}"
                    )
                meta = dict(raw_meta)
                metadata_json = dump_json(f"{where}.metadata", meta)
            else:
                meta, metadata_json = {}, "{}"
            tool_text = proj.search_extra() or None
            prepared.append(
                PreparedMessage(
                    id=mid,
                    explicit_id=explicit is not None,
                    role=proj.role,
                    item=item,
                    item_json=item_json,
                    text=proj.text,
                    tool_text=tool_text,
                    search_text=index_document(proj.text, tool_text),
                    tool_call_id=proj.tool_call_id,
                    projection=proj,
                    created_at=now if created is None else to_micros(created),
                    model=msg_model or proj.model,
                    usage=msg_usage,
                    visible_to_model=bool(new.visible_to_model) if new is not None else True,
                    visible_to_user=bool(new.visible_to_user) if new is not None else True,
                    metadata=meta,
                    metadata_json=metadata_json,
                )
            )
        for text in (p.text for p in prepared):
            check_text("text", text)
        if prepared and (usage is not None or model is not None):
            target = next((p for p in prepared if p.role == "assistant"), prepared[0])
            if usage is not None:
                target.usage = usage
            if model is not None:
                target.model = model
        return prepared

    # ------------------------------------------------------------------ shared defaults

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
        """See ``Store.items``; backends override it with a query of the item column."""
        found = cast("Store", self).messages(
            session_id,
            after_seq=after_seq,
            before_seq=before_seq,
            last=last,
            limit=limit,
            since=since,
            until=until,
            order=order,
        )
        return [m.item for m in found]

    def ensure_session(self, id: str, **fields: Any) -> Session:
        """See ``Store.ensure_session``."""
        store = cast("Store", self)
        try:
            return store.get_session(id)
        except NotFound:
            pass
        try:
            return store.create_session(id, **fields)
        except AlreadyExists:
            return store.get_session(id)  # another writer created it between our two calls

    def import_path(
        self,
        path: str | Path,
        *,
        format: str | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> ImportReport:
        """See ``Store.import_path``."""
        from .importers import import_path

        return import_path(cast("Store", self), path, format=format, progress=progress)

    def export(self, session_id: str, format: str = "jsonl") -> str:
        """See ``Store.export``."""
        from .exporters import export

        return export(cast("Store", self), session_id, format)

    def prune(
        self,
        *,
        older_than: timedelta,
        status: str | None = None,
        archive_dir: str | Path | None = None,
        dry_run: bool = False,
    ) -> PruneReport:
        """See ``Store.prune``."""
        from .retention import prune

        return prune(
            cast("Store", self),
            older_than=older_than,
            status=status,
            archive_dir=archive_dir,
            dry_run=dry_run,
        )


for _name in _contract_methods():
    _method = BaseStore.__dict__.get(_name)
    if inspect.isfunction(_method):
        setattr(BaseStore, _name, _validating(_method))
