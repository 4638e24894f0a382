"""Which rows a read or a delete may touch: always one tenant, optionally narrower.

Every store method takes a :class:`Scope`, and a scope cannot be built without a tenant, so no
API can reach across tenants. Identifiers are checked against a strict pattern before they go
into a filter expression: a tenant id such as ``"a' OR tenant != 'a"`` is refused, not quoted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from memory.schema import KINDS, Kind
from vigil.errors import ConfigError

__all__ = ["Scope", "check_id"]

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$")


def check_id(value: str, what: str) -> str:
    """``value`` if it is a safe identifier, else a ConfigError naming ``what``."""
    if not isinstance(value, str) or not _ID.match(value):
        raise ConfigError(
            f"invalid {what} id {value!r}",
            hint="ids are 1-128 characters of letters, digits and _ . : @ -",
        )
    return value


def _in(column: str, values: Sequence[str], what: str) -> str:
    quoted = ", ".join(f"'{check_id(v, what)}'" for v in values)
    return f"{column} IN ({quoted})"


@dataclass(frozen=True, slots=True, kw_only=True)
class Scope:
    """A tenant plus optional streams, sessions, speakers, kinds and a media-time range.

    Session ids are unique per tenant (not per stream), so a session filter spans streams.
    ``since``/``until`` bound ``media_t1``; ``wall_since``/``wall_until`` bound wall time.
    """

    tenant: str
    streams: tuple[str, ...] = ()
    sessions: tuple[str, ...] = ()
    speakers: tuple[str, ...] = ()
    kinds: tuple[Kind, ...] = ()
    exclude_sessions: tuple[str, ...] = ()
    since: float | None = None
    until: float | None = None
    wall_since: float | None = None
    wall_until: float | None = None

    def __post_init__(self) -> None:
        check_id(self.tenant, "tenant")
        for kind in self.kinds:
            if kind not in KINDS:
                raise ConfigError(f"unknown memory kind {kind!r}", hint=f"one of {KINDS}")

    def where(self) -> str:
        """The SQL filter for LanceDB (tenant first, so it is never missing)."""
        clauses = [f"tenant = '{self.tenant}'"]
        for column, values, what in (
            ("stream", self.streams, "stream"),
            ("session", self.sessions, "session"),
            ("speaker", self.speakers, "speaker"),
        ):
            if values:
                clauses.append(_in(column, values, what))
        if self.kinds:
            clauses.append(_in("kind", self.kinds, "kind"))
        if self.exclude_sessions:
            clauses.append(f"NOT ({_in('session', self.exclude_sessions, 'session')})")
        for column, op, bound in (
            ("media_t1", ">=", self.since),
            ("media_t1", "<=", self.until),
            ("wall_time", ">=", self.wall_since),
            ("wall_time", "<=", self.wall_until),
        ):
            if bound is not None:
                clauses.append(f"{column} {op} {float(bound)!r}")
        return " AND ".join(clauses)
