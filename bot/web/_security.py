"""What every response of the web view carries, and the limit on redeeming sign-in links."""

from __future__ import annotations

import time
from collections import OrderedDict, deque

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# No inline script or style anywhere (the pages have no script at all): a page someone
# managed to inject into runs nothing, and no other site can frame it or receive its forms.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'"
)
HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    # Not `no-referrer`: browsers then send `Origin: null` with the forms, and the Origin
    # check could not tell this site from another. Other sites still learn nothing.
    (b"referrer-policy", b"same-origin"),
)

HSTS = (b"strict-transport-security", b"max-age=31536000")


class SecurityHeaders:
    """The security headers on every response; `Cache-Control: no-store` on everything but
    the static files, since pages hold families' answers."""

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        # Where the cookie is Secure (served over https): browsers keep to https for a year.
        self.headers = HEADERS + ((HSTS,) if hsts else ())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() not in {header for header, _ in self.headers}
                ]
                headers += self.headers
                if not static:
                    headers = [(n, v) for n, v in headers if n.lower() != b"cache-control"]
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class RateLimiter:
    """At most `attempts` failures per `window` seconds per key (a client address), in memory.
    Only failures count: an office of colleagues behind one address signs in as often as it
    likes, while guessing at links is stopped. Bounded: the keys seen longest ago are
    forgotten first, so a flood of addresses cannot grow it."""

    def __init__(self, attempts: int = 10, window: float = 600.0, capacity: int = 10_000):
        self.attempts = attempts
        self.window = window
        self.capacity = capacity
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()

    def allow(self, key: str, now: float | None = None) -> bool:
        """Whether `key` may try again (fewer than `attempts` failures in the window)."""
        now = time.monotonic() if now is None else now
        times = self._seen.get(key)
        if times is None:
            return True
        while times and now - times[0] >= self.window:
            times.popleft()
        if not times:
            del self._seen[key]
        return len(times) < self.attempts

    def failed(self, key: str, now: float | None = None) -> None:
        """Count a failure of `key`."""
        now = time.monotonic() if now is None else now
        times = self._seen.pop(key, None) or deque()
        times.append(now)
        self._seen[key] = times
        while len(self._seen) > self.capacity:
            self._seen.popitem(last=False)
