"""Per-request context: who is calling (``Principal``) and their view of the store.

``Scoped`` wraps the ``AsyncStore`` for one principal and is where tenant isolation is
enforced, once, for the API and the web UI alike: a session whose ``user_id`` is not the
caller's tenant does not exist for the caller (NotFound, never 403, so ids of other
tenants cannot be probed), listings are filtered by ``user_id``, and sessions the caller
creates belong to its tenant.

Session ids are global, so "create (or fork into) id X" would answer 409 when another
tenant holds X and 201 when X is free: a probe. To close it, a tenant's sessions live in
its own id namespace, ``<tenant>:``: an id the tenant chooses must start with it (any
other id is refused with the same 422, taken or not), ids the server generates for it
get the prefix, and imported sessions are stored under ``<tenant>:<id in the file>``.
Tenant names cannot contain ``:`` (``parse_tokens`` refuses them), so no namespace lies
inside another's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..aio import AsyncStore
from ..errors import InvalidInput, NotFound
from ..model import Session, TreeNode, new_id
from .auth import (
    ADMIN,
    COOKIE_NAME,
    NAMESPACE_SEPARATOR,
    Forbidden,
    Principal,
    Tokens,
    Unauthorized,
)

__all__ = ["Caller", "Scoped", "principal"]

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_bearer = HTTPBearer(auto_error=False, description="A token given to `sessiondb serve`.")


async def principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller's principal. Raises Unauthorized (no/unknown token) or Forbidden (a
    read-only principal calling a writing method)."""
    tokens: Tokens = request.app.state.tokens
    if not tokens:
        return ADMIN
    found: Principal | None = None
    if credentials is not None and credentials.scheme.lower() == "bearer":
        found = tokens.lookup(credentials.credentials)
        if found is None:
            raise Unauthorized("unknown bearer token")
    else:
        cookie = request.cookies.get(COOKIE_NAME)
        if cookie:
            found = tokens.lookup(cookie)
            if found is not None:
                # A cookie rides along on cross-site requests: it only ever reads.
                found = Principal(found.tenant, "ro")
    if found is None:
        raise Unauthorized("this server needs 'Authorization: Bearer <token>'")
    if request.method not in _READ_METHODS and not found.can_write:
        raise Forbidden("this token is read-only")
    return found


@dataclass(frozen=True, slots=True)
class Scoped:
    """The store as one principal sees it."""

    db: AsyncStore
    who: Principal

    @property
    def tenant(self) -> str | None:
        """The caller's tenant (None: every tenant)."""
        return self.who.tenant

    def visible(self, session: Session) -> bool:
        """True when the caller may see ``session``."""
        return self.who.tenant is None or session.user_id == self.who.tenant

    async def session(self, session_id: str) -> Session:
        """The session if the caller may see it. Raises NotFound otherwise."""
        session = await self.db.get_session(session_id)
        if not self.visible(session):
            raise NotFound.session(session_id)
        return session

    async def check(self, session_id: str) -> None:
        """Raise NotFound if the caller may not see the session. An unscoped caller is not
        checked here: the store call that follows raises NotFound itself, and skipping the
        extra lookup keeps appends and reads at one query."""
        if self.who.tenant is not None:
            await self.session(session_id)

    def user_filter(self, user_id: str | None) -> tuple[bool, str | None]:
        """(possible, user_id to filter by): a tenant asking for another user's sessions
        gets nothing."""
        if self.who.tenant is None:
            return True, user_id
        if user_id is not None and user_id != self.who.tenant:
            return False, None
        return True, self.who.tenant

    def owner_for_new(self, user_id: str | None) -> str | None:
        """The ``user_id`` a session created by the caller gets. Raises InvalidInput when
        a tenant names another user."""
        if self.who.tenant is None:
            return user_id
        if user_id is not None and user_id != self.who.tenant:
            raise InvalidInput.about(
                "user_id", f"a token of tenant {self.who.tenant!r} cannot use it"
            )
        return self.who.tenant

    @property
    def namespace(self) -> str | None:
        """The prefix of the ids of the caller's sessions (None: any id)."""
        return None if self.who.tenant is None else self.who.tenant + NAMESPACE_SEPARATOR

    def id_for_new(self, requested: str | None) -> str | None:
        """The id a session the caller creates (or forks) gets; None lets the store
        generate one. Raises InvalidInput when a tenant asks for an id outside its
        namespace: the same answer whether or not that id is taken, so the ids of other
        tenants' sessions cannot be probed."""
        prefix = self.namespace
        if prefix is None:
            return requested
        if requested is None:
            return prefix + new_id()
        if not requested.startswith(prefix) or requested == prefix:
            raise InvalidInput(
                f"id: a token of tenant {self.who.tenant!r} can only use ids that start "
                f"with {prefix!r} (or leave the id out to get one)"
            )
        return requested

    def imported_id(self, original: str) -> str:
        """Where a tenant's import stores the session ``original`` of the file: the id
        itself when it is already in the caller's namespace, else prefixed with it (the
        same every time, so importing a file again adds nothing)."""
        prefix = self.namespace
        if prefix is None or original.startswith(prefix):
            return original
        return prefix + original

    def prune(self, node: TreeNode) -> TreeNode:
        """``node`` without the subtrees the caller may not see."""
        kept = [self.prune(c) for c in node.children if self.visible(c.session)]
        return TreeNode(session=node.session, children=kept)


async def _scoped(request: Request, who: Annotated[Principal, Depends(principal)]) -> Scoped:
    return Scoped(db=request.app.state.db, who=who)


Caller = Annotated[Scoped, Depends(_scoped)]
