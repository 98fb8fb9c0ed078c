"""Bearer tokens -> principals (tenant + scope), and the HTTP-only errors they raise.

Without configured tokens the server is open (it binds to loopback by default) and every
request acts as the unscoped admin principal. With tokens, every request needs
``Authorization: Bearer <token>`` (the web UI may use the ``sessiondb_token`` cookie set by
its login page instead; a cookie only ever grants read access, so a forged cross-site
request cannot write). A principal with a tenant sees only sessions whose ``user_id`` is
that tenant, and the ids it gives its sessions start with ``<tenant>:`` (see ``deps``).

Token specs (``--token`` and ``$SESSIONDB_TOKENS``):

* ``secret``                          - full access to everything (no tenant, read-write)
* ``secret=tenant:rw,other=tenant2:ro`` - comma separated, scope ``rw`` or ``ro``;
  the tenant ``*`` means "all tenants"; a tenant name cannot contain ``:``
* a JSON object ``{"secret": {"tenant": "a", "scope": "ro"}}`` or ``{"secret": "a:ro"}``
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from ..errors import InvalidInput, SessionDBError

__all__ = [
    "ADMIN",
    "COOKIE_NAME",
    "NAMESPACE_SEPARATOR",
    "Forbidden",
    "PayloadTooLarge",
    "Principal",
    "Tokens",
    "Unauthorized",
    "parse_tokens",
]

COOKIE_NAME = "sessiondb_token"
# Between a tenant's name and the rest of its session ids ("alice:notes"). Not "/": ids
# are URL path segments.
NAMESPACE_SEPARATOR = ":"
Scope = Literal["ro", "rw"]


class Unauthorized(SessionDBError):
    """No bearer token, or one the server does not know (HTTP 401)."""


class Forbidden(SessionDBError):
    """The token is valid but its scope does not allow the request (HTTP 403)."""


class PayloadTooLarge(SessionDBError):
    """The request body is over the server's limit (HTTP 413)."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: ``tenant`` None means every tenant; ``scope`` ro or rw.

    Raises InvalidInput for a tenant name containing ``:``.
    """

    tenant: str | None
    scope: Scope

    def __post_init__(self) -> None:
        if self.tenant is not None and NAMESPACE_SEPARATOR in self.tenant:
            # Tenant "a" would own the ids "a:b:...", the namespace of tenant "a:b".
            raise InvalidInput(f"tenant {self.tenant!r}: cannot contain {NAMESPACE_SEPARATOR!r}")

    @property
    def can_write(self) -> bool:
        """True for a read-write principal."""
        return self.scope == "rw"


ADMIN = Principal(tenant=None, scope="rw")


class Tokens:
    """A token table; an empty table means "no authentication"."""

    def __init__(self, table: Mapping[str, Principal] | None = None) -> None:
        self._table = dict(table or {})

    def __bool__(self) -> bool:
        return bool(self._table)

    def __len__(self) -> int:
        return len(self._table)

    def __or__(self, other: Tokens) -> Tokens:
        """Both tables; ``other`` wins for a token in both."""
        return Tokens({**self._table, **other._table})

    def lookup(self, token: str) -> Principal | None:
        """The principal of ``token``, or None; compares in constant time per token."""
        found = None
        encoded = token.encode("utf-8", "surrogatepass")
        for known, principal in self._table.items():
            # Check every entry so timing does not reveal which token was close.
            if hmac.compare_digest(known.encode(), encoded):
                found = principal
        return found


def _principal(spec: object, token: str) -> Principal:
    if isinstance(spec, Mapping):
        tenant = spec.get("tenant")
        scope = spec.get("scope", "rw")
    elif isinstance(spec, str):
        tenant, _, scope = spec.partition(":")
        scope = scope or "rw"
    else:
        raise InvalidInput.about(f"token {token[:4]}...", "expected 'tenant:scope' or an object")
    if scope not in ("ro", "rw"):
        raise InvalidInput.about(
            f"token {token[:4]}...", f"scope must be 'ro' or 'rw', not {scope!r}"
        )
    if tenant is not None and not isinstance(tenant, str):
        raise InvalidInput.about(f"token {token[:4]}...", "tenant must be a string")
    return Principal(tenant=None if tenant in (None, "", "*") else tenant, scope=scope)


def parse_tokens(*specs: str | None) -> Tokens:
    """Build a token table from specs (see the module docstring); None/empty are skipped.

    Raises InvalidInput for a malformed spec.
    """
    table: dict[str, Principal] = {}
    for spec in specs:
        if not spec or not spec.strip():
            continue
        spec = spec.strip()
        if spec.startswith("{"):
            try:
                data = json.loads(spec)
            except ValueError as exc:
                raise InvalidInput.about("tokens", f"not valid JSON ({exc})") from None
            if not isinstance(data, dict):
                raise InvalidInput.about("tokens", "expected a JSON object token -> tenant")
            entries = list(data.items())
        elif "=" not in spec and "," not in spec:
            entries = [(spec, "*:rw")]
        else:
            entries = []
            for part in spec.split(","):
                token, sep, rest = part.strip().partition("=")
                if not sep:
                    raise InvalidInput.about("tokens", f"expected token=tenant:scope, got {part!r}")
                entries.append((token.strip(), rest.strip()))
        for token, value in entries:
            if not token or len(token) < 8:
                raise InvalidInput.about("tokens", "a token must be at least 8 characters long")
            table[token] = _principal(value, token)
    return Tokens(table)
