"""Who is calling: bearer tokens mapped to tenants, and how often each tenant may call.

Tokens are compared in constant time and never logged or echoed; a request without a token,
or with one the service does not know, gets 401 whatever it asked for, so that a caller cannot
probe which sessions exist. Browsers cannot set headers on a WebSocket, so WebSockets and
server-sent events may also carry the token as ``?token=``.
"""

from __future__ import annotations

import hmac
import time
from collections import defaultdict, deque

from fastapi import HTTPException, Request, WebSocket, status

__all__ = ["RateLimiter", "Tokens"]


class Tokens:
    def __init__(self, tokens: dict[str, str]) -> None:
        self._tokens = dict(tokens)

    def tenant(self, token: str | None) -> str | None:
        """The tenant of ``token``, or None."""
        if not token:
            return None
        found = None
        for known, tenant in self._tokens.items():
            if hmac.compare_digest(known.encode(), token.encode()):
                found = tenant
        return found

    def of(self, connection: Request | WebSocket) -> str:
        """The caller's tenant, or 401."""
        header = connection.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            token = connection.query_params.get("token", "")
        tenant = self.tenant(token.strip())
        if tenant is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "missing or unknown token: send 'Authorization: Bearer <token>' (a token of "
                "service.tokens)",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return tenant


class RateLimiter:
    """At most ``per_minute`` calls per tenant in any 60 s window."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._calls: dict[str, deque[float]] = defaultdict(deque)

    def check(self, tenant: str) -> None:
        now = time.monotonic()
        calls = self._calls[tenant]
        while calls and now - calls[0] >= 60.0:
            calls.popleft()
        if len(calls) >= self.per_minute:
            retry = 60.0 - (now - calls[0])
            raise HTTPException(
                status.HTTP_429_TOO_MANY_REQUESTS,
                f"more than {self.per_minute} requests a minute (service.requests_per_minute); "
                f"retry in {retry:.0f} s",
                headers={"Retry-After": str(max(1, round(retry)))},
            )
        calls.append(now)
