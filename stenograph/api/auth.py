"""API token authentication.

When ``STENOGRAPH_API_TOKEN`` is set, every request but ``/health`` must present it: as
``Authorization: Bearer <token>``, or as the HTTP-only cookie that ``POST /auth/login`` (JSON
``{"token": ...}``) or ``GET /?token=...`` sets, since a browser cannot add headers to server-sent-event
or media requests. The cookie holds an HMAC of the token, never the token itself.

Tokens are compared as UTF-8 bytes in constant time (a non-ASCII guess is a plain 401). Failed attempts
(a wrong token in the header, cookie, ``?token=``, ``/auth/login`` or ``/auth/form``) are limited per client
address by :class:`FailureLimiter`: past the limit, token guesses answer 429 ``too_many_attempts`` with
``Retry-After`` without being checked, so the answer tells nothing about the token; a valid session cookie
(an HMAC the server issued, not guessable) is still served.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from pydantic import BaseModel

from stenograph.api.errors import APIError, error_body
from stenograph.api.schemas import ErrorBody, LoginResult

COOKIE = "stenograph_session"
OPEN_PATHS = frozenset({"/health", "/auth/login", "/auth/form"})

LOGIN_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Stenograph: sign in</title>
<link rel="icon" href="data:,"></head><body style="font-family:system-ui;max-width:24rem;margin:3rem auto;padding:1rem">
<h1>Stenograph</h1><p>This server needs its API token.</p>{error}
<form method="post" action="/auth/form"><label for="token">API token</label><br>
<input id="token" name="token" type="password" autocomplete="current-password" required style="width:100%">
<p><button type="submit">Sign in</button></p></form></body></html>"""


class Login(BaseModel):
    token: str


def login_page(error: str = "") -> str:
    notice = f'<p role="alert" style="color:#b00020">{html.escape(error)}</p>' if error else ""
    return LOGIN_PAGE.replace("{error}", notice)


def session_value(token: str) -> str:
    return hmac.new(token.encode(), b"stenograph-session", hashlib.sha256).hexdigest()


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison of UTF-8 bytes (``secrets.compare_digest`` raises on non-ASCII ``str``)."""
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass"))


class FailureLimiter:
    """At most ``max_failures`` failed authentication attempts per client address within ``window_seconds``
    (a sliding window), on ``clock`` (seconds, monotonic). Thread-safe; remembers at most ``max_clients``
    addresses (the longest unseen is forgotten first)."""

    def __init__(
        self,
        max_failures: int = 10,
        window_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 10_000,
    ) -> None:
        self.max_failures = max_failures
        self.window_seconds = window_seconds
        self.clock = clock
        self.max_clients = max_clients
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float] | None:
        times = self._failures.get(client)
        if times is None:
            return None
        while times and times[0] <= now - self.window_seconds:
            times.popleft()
        if not times:
            del self._failures[client]
            return None
        return times

    def retry_after(self, client: str) -> float | None:
        """Seconds until ``client`` may try again, or None when it may now."""
        with self._lock:
            now = self.clock()
            times = self._recent(client, now)
            if times is None or len(times) < self.max_failures:
                return None
            return max(times[-self.max_failures] + self.window_seconds - now, 0.001)

    def failed(self, client: str) -> None:
        """Count one failed attempt of ``client``."""
        with self._lock:
            now = self.clock()
            times = self._recent(client, now) or deque()
            times.append(now)
            self._failures[client] = times
            self._failures.move_to_end(client)
            while len(self._failures) > self.max_clients:
                self._failures.popitem(last=False)

    def succeeded(self, client: str) -> None:
        """Forget ``client``'s failures (it signed in)."""
        with self._lock:
            self._failures.pop(client, None)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def too_many(seconds: float, *, page: bool = False) -> Response:
    """The 429 answer, ``Retry-After`` in whole seconds (a sign-in page when ``page``)."""
    wait = max(1, math.ceil(seconds))
    headers = {"Retry-After": str(wait)}
    message = f"too many failed sign-in attempts from this address: try again in {wait} s"
    if page:
        return HTMLResponse(login_page(message[0].upper() + message[1:] + "."), status_code=429, headers=headers)
    return JSONResponse(error_body("too_many_attempts", message), status_code=429, headers=headers)


def install_auth(app: FastAPI, token: str | None, limiter: FailureLimiter | None = None) -> None:
    """Require ``token`` on every request but the open paths (nothing when ``token`` is None); failed
    attempts are limited by ``limiter`` (a default :class:`FailureLimiter` when None)."""
    limits = limiter or FailureLimiter()
    app.include_router(_auth_router(token, limits))
    if token is None:
        return
    app.middleware("http")(_token_check(token, limits))


def _set_session(response: Response, token: str) -> None:
    """Set the HTTP-only session cookie (an HMAC of ``token``) on ``response``."""
    response.set_cookie(COOKIE, session_value(token), httponly=True, samesite="strict")


def _auth_router(token: str | None, limits: FailureLimiter) -> APIRouter:
    """The sign-in routes: ``POST /auth/login`` (JSON) and ``POST /auth/form`` (the sign-in page's form);
    both accept anything when ``token`` is None."""
    router = APIRouter(tags=["auth"])

    @router.post(
        "/auth/login",
        operation_id="login",
        response_model=LoginResult,
        responses={
            401: {"model": ErrorBody, "description": "Wrong API token."},
            429: {"model": ErrorBody, "description": "Too many failed attempts; see Retry-After."},
        },
    )
    def login(body: Login, request: Request, response: Response) -> LoginResult | Response:
        """Sign in with the API token: sets the HTTP-only session cookie (server-sent events and media)."""
        if token is None:
            return LoginResult(ok=True)
        client = client_address(request)
        wait = limits.retry_after(client)
        if wait is not None:
            return too_many(wait)
        if not same_secret(body.token, token):
            limits.failed(client)
            raise APIError(401, "unauthorized", "wrong API token")
        limits.succeeded(client)
        _set_session(response, token)
        return LoginResult(ok=True)

    @router.post("/auth/form", include_in_schema=False, response_model=None)
    async def form_login(request: Request) -> Response:
        """The sign-in page's form (POST, so the token stays out of URLs and logs)."""
        form = await request.form()
        given = str(form.get("token") or "")
        if token is None:
            return RedirectResponse("/", status_code=303)
        client = client_address(request)
        wait = limits.retry_after(client)
        if wait is not None:
            return too_many(wait, page=True)
        if same_secret(given, token):
            limits.succeeded(client)
            redirect = RedirectResponse("/", status_code=303)
            _set_session(redirect, token)
            return redirect
        limits.failed(client)
        return HTMLResponse(login_page("Wrong API token: try again."), status_code=401)

    return router


def _token_check(
    token: str, limits: FailureLimiter
) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    """The HTTP middleware that lets a request through with the session cookie, ``Authorization: Bearer
    <token>`` or (``GET /`` only) ``?token=``, which then sets the cookie and redirects to ``/``; else 401
    (the sign-in page for a browser asking for ``/``), or 429 while ``limits`` holds back the client."""
    expected_cookie = session_value(token)

    async def _check_token(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if request.url.path in OPEN_PATHS:
            return await call_next(request)
        cookie = request.cookies.get(COOKIE)
        if cookie is not None and same_secret(cookie, expected_cookie):
            return await call_next(request)
        header = request.headers.get("authorization", "")
        bearer = header[7:].strip() if header.lower().startswith("bearer ") else None
        given = request.query_params.get("token") if request.url.path == "/" else None
        client = client_address(request)
        attempted = cookie is not None or bearer is not None or given is not None
        if attempted:
            wait = limits.retry_after(client)
            if wait is not None:
                return too_many(wait)
        if bearer is not None and same_secret(bearer, token):
            return await call_next(request)
        if given is not None and same_secret(given, token):
            limits.succeeded(client)
            redirect = RedirectResponse("/", status_code=303)
            _set_session(redirect, token)
            return redirect
        if attempted:
            limits.failed(client)
        if request.url.path == "/" and "text/html" in request.headers.get("accept", ""):
            return HTMLResponse(login_page(), status_code=401)
        return JSONResponse(
            error_body("unauthorized", "this server needs its API token: Authorization: Bearer <token>"),
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )

    return _check_token
