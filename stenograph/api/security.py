"""What the server refuses before any route runs, and the headers it adds to every answer.

- A foreign ``Host`` header (DNS rebinding: a site whose name resolves to 127.0.0.1 reads the API as
  its own origin) answers 403 ``forbidden_host``. Loopback names (``localhost``, ``*.localhost``,
  127.0.0.0/8, ``[::1]``) with any port, ``STENOGRAPH_HOST`` and ``STENOGRAPH_ALLOWED_HOSTS`` are answered.
  As with Jupyter's ``allow_remote_access``, a server bound to a public or wildcard address (which needs a
  token) answers any Host unless ``STENOGRAPH_ALLOWED_HOSTS`` says otherwise.
- A state-changing request (any method but GET, HEAD and OPTIONS) from another origin answers 403
  ``cross_origin``: its ``Origin`` is not the server's own (``scheme://host[:port]`` naming the request's
  ``Host``) nor an allowed host, or is ``null``, or it has no ``Origin`` and a ``Sec-Fetch-Site`` of
  ``cross-site`` or ``same-site``. Browsers send these headers; curl, SDKs and workers send neither and pass.
- Every answer carries a Content-Security-Policy (scripts, styles, images, media and connections from
  the server itself only: a remote image in a summary is never fetched), ``X-Content-Type-Options:
  nosniff`` and ``Referrer-Policy: no-referrer``.

Also here: the uvicorn access-log filter that hides ``?token=`` values.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stenograph.api.errors import error_body
from stenograph.settings import Settings, binds_loopback_only

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

#: The policy of every answer that sets none of its own. Vue's global build compiles the app's string
#: templates at run time, hence 'unsafe-eval'; Vue and the app set style attributes, hence 'unsafe-inline'.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; "
    "style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-eval'; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)


def split_host(value: str) -> tuple[str, int | None] | None:
    """``"Example.com.:8000"`` -> ``("example.com", 8000)``; ``"[::1]"`` -> ``("::1", None)``.

    Returns None when ``value`` is not a host with an optional port.
    """
    if not value or any(c in value for c in "/?#@ \\"):
        return None
    try:
        parts = urlsplit(f"//{value}")
        port = parts.port
    except ValueError:
        return None
    name = (parts.hostname or "").rstrip(".")  # "localhost." is localhost
    if not name:
        return None
    return name.lower(), port


def is_loopback_name(name: str) -> bool:
    """True for ``localhost``, ``*.localhost`` and loopback addresses, by spelling (never resolved)."""
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class HostPolicy:
    """Which ``Host`` and ``Origin`` headers the server answers, from its settings.

    ``public_bind``: whether the server binds beyond loopback; None resolves ``settings.host`` (DNS).
    """

    def __init__(self, settings: Settings, *, public_bind: bool | None = None) -> None:
        if public_bind is None:
            public_bind = not binds_loopback_only(settings.host, settings.port)
        allowed = settings.allowed_hosts
        self.any_host = ("*" in allowed) if allowed is not None else public_bind
        #: Names of ``STENOGRAPH_ALLOWED_HOSTS``: trusted as Host and as an Origin's host, on any port.
        self.allowed_names = frozenset(name for name in allowed or [] if name != "*")
        own = settings.host.strip().strip("[]").lower()
        #: Names answered as Host (an Origin on the server's own name but another port is another origin).
        self.names = self.allowed_names | ({own} if own else set())

    def host_allowed(self, host_header: str | None) -> bool:
        """Whether a request with this ``Host`` header is answered (a request without one is: no browser
        sends that)."""
        if host_header is None:
            return True
        parsed = split_host(host_header)
        if parsed is None:
            return False
        name = parsed[0]
        return self.any_host or is_loopback_name(name) or name in self.names

    def is_cross_origin(self, headers: Headers) -> bool:
        """Whether a request with these headers comes from a page of another origin (see the module)."""
        origin = headers.get("origin")
        if origin is None:
            return headers.get("sec-fetch-site", "").lower() in ("cross-site", "same-site")
        parts = urlsplit(origin.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query:
            return True  # "null" (sandboxed frames, file: pages, redirects), or not an origin at all
        try:
            origin_port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            return True
        origin_name = parts.hostname.lower().rstrip(".")
        host = split_host(headers.get("host", ""))
        if host is not None:
            host_port = host[1] or (443 if parts.scheme == "https" else 80)
            if (origin_name, origin_port) == (host[0], host_port):
                return False
        return origin_name not in self.allowed_names


def _refusal(code: str, message: str) -> JSONResponse:
    return JSONResponse(error_body(code, message), status_code=403)


class SecurityMiddleware:
    """ASGI middleware: the Host and Origin checks and the security headers (see the module)."""

    def __init__(self, app: ASGIApp, policy: HostPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[tuple[bytes, bytes]] = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", CONTENT_SECURITY_POLICY.encode()))
                headers.extend(header for header in SECURITY_HEADERS if header[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        headers = Headers(scope=scope)
        if not self.policy.host_allowed(headers.get("host")):
            shown = (headers.get("host") or "")[:100]
            response = _refusal(
                "forbidden_host",
                f"this server does not answer for the host {shown!r}: add it to STENOGRAPH_ALLOWED_HOSTS "
                "(comma separated, * for any) to reach it under that name",
            )
            await response(scope, receive, send_with_headers)
            return
        if scope["method"] not in SAFE_METHODS and self.policy.is_cross_origin(headers):
            origin = (headers.get("origin") or headers.get("sec-fetch-site") or "")[:100]
            response = _refusal(
                "cross_origin",
                f"{scope['method']} from another origin ({origin}) is refused; to let a site you trust call "
                "this server, add its host to STENOGRAPH_ALLOWED_HOSTS",
            )
            await response(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)


# --- logs ---------------------------------------------------------------------------------------

_TOKEN_QUERY = re.compile(r"([?&]token=)[^&#\s\"]*", re.IGNORECASE)


def redact_token(text: str) -> str:
    """``/?token=abc&x=1`` -> ``/?token=***&x=1``."""
    return _TOKEN_QUERY.sub(r"\1***", text)


class RedactTokenFilter(logging.Filter):
    """Hides the value of a ``token`` query parameter in log records (uvicorn's access log writes the
    path with its query: ``args == (client, method, path_with_query, http_version, status)``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact_token(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: redact_token(v) if isinstance(v, str) else v for k, v in record.args.items()}
        if isinstance(record.msg, str) and "token=" in record.msg.lower():
            record.msg = redact_token(record.msg)
        return True


def install_log_redaction(logger_names: Iterable[str] = ("uvicorn.access", "uvicorn.error")) -> None:
    """Add :class:`RedactTokenFilter` to these loggers once (idempotent; dictConfig keeps it)."""
    for name in logger_names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokenFilter) for f in logger.filters):
            logger.addFilter(RedactTokenFilter())
