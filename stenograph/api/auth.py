"""API token authentication.

When ``STENOGRAPH_API_TOKEN`` is set, every request but ``/health`` must present it: as
``Authorization: Bearer <token>``, or as the HTTP-only cookie that ``POST /auth/login`` (JSON
``{"token": ...}``) or ``GET /?token=...`` sets, since a browser cannot add headers to server-sent-event
or media requests. The cookie holds an HMAC of the token, never the token itself.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import secrets
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from pydantic import BaseModel

from stenograph.api.errors import APIError, error_body

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


def is_authorised(request: Request, token: str) -> bool:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer ") and secrets.compare_digest(header[7:].strip(), token):
        return True
    cookie = request.cookies.get(COOKIE)
    return cookie is not None and secrets.compare_digest(cookie, session_value(token))


def install_auth(app: FastAPI, token: str | None) -> None:
    """Require ``token`` on every request but the open paths (nothing when ``token`` is None)."""
    router = APIRouter(tags=["auth"])

    @router.post("/auth/login", operation_id="login")
    def login(body: Login, response: Response) -> dict[str, bool]:
        if token is None:
            return {"ok": True}
        if not secrets.compare_digest(body.token, token):
            raise APIError(401, "unauthorized", "wrong API token")
        response.set_cookie(COOKIE, session_value(token), httponly=True, samesite="strict")
        return {"ok": True}

    @router.post("/auth/form", include_in_schema=False, response_model=None)
    async def form_login(request: Request) -> Response:
        """The sign-in page's form (POST, so the token stays out of URLs and logs)."""
        form = await request.form()
        given = str(form.get("token") or "")
        if token is None or secrets.compare_digest(given, token):
            redirect = RedirectResponse("/", status_code=303)
            if token is not None:
                redirect.set_cookie(COOKIE, session_value(token), httponly=True, samesite="strict")
            return redirect
        return HTMLResponse(login_page("Wrong API token: try again."), status_code=401)

    app.include_router(router)
    if token is None:
        return

    @app.middleware("http")
    async def _check_token(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if request.url.path in OPEN_PATHS or is_authorised(request, token):
            return await call_next(request)
        given = request.query_params.get("token")
        if request.url.path == "/" and given is not None and secrets.compare_digest(given, token):
            redirect = RedirectResponse("/", status_code=303)
            redirect.set_cookie(COOKIE, session_value(token), httponly=True, samesite="strict")
            return redirect
        if request.url.path == "/" and "text/html" in request.headers.get("accept", ""):
            return HTMLResponse(login_page(), status_code=401)
        return JSONResponse(
            error_body("unauthorized", "this server needs its API token: Authorization: Bearer <token>"),
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
