"""Which URLs Stenograph itself connects to, for an import (``url=``) or a webhook delivery: http and https
only, and no address on loopback, private, link-local (cloud metadata, 169.254.169.254), multicast or
reserved ranges, unless a setting allows them: ``STENOGRAPH_URL_IMPORT_ALLOW_PRIVATE`` for imports,
``STENOGRAPH_WEBHOOK_ALLOW_PRIVATE`` for webhooks (a local n8n or home server needs it; the tests set both).

The address is checked after name resolution, at every connection (redirects included):
:func:`guarded_resolution` wraps :func:`socket.getaddrinfo` for the calling thread, so every HTTP stack
(yt-dlp's urllib handler, urllib3, httpx) gets only the addresses that pass, and a name that resolves to a
refused address fails. The address checked is the address connected, so a DNS answer that changes between
a check and the connection (DNS rebinding) gains nothing. :func:`check_resolved` answers early (at the
submission, at a webhook's registration); the connection checks again. The OWASP SSRF Prevention Cheat
Sheet describes the attack and this defence.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "IMPORT_SETTING",
    "WEBHOOK_SETTING",
    "RefusedAddress",
    "check_address",
    "check_resolved",
    "check_url",
    "find_refusal",
    "guarded_resolution",
]

#: The setting that lets imports reach private addresses (named in the refusals).
IMPORT_SETTING = "STENOGRAPH_URL_IMPORT_ALLOW_PRIVATE"
#: The setting that lets webhook deliveries reach private addresses.
WEBHOOK_SETTING = "STENOGRAPH_WEBHOOK_ALLOW_PRIVATE"

_local = threading.local()
_original_getaddrinfo = socket.getaddrinfo


class RefusedAddress(OSError):
    """A URL or an address Stenograph may not connect to."""


def check_url(url: str, *, purpose: str = "can be imported") -> str:
    """``url`` stripped, when its scheme is http or https and it names a host. ``purpose`` completes the
    refusal "only http:// and https:// URLs ...".

    Raises:
        RefusedAddress: another scheme (``file:``, ``ftp:`` ...), no host, a host that is no valid name
            (a label over 63 characters, a name over 253: RFC 1035; one the IDNA codec refuses).
    """
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise RefusedAddress(f"only http:// and https:// URLs {purpose}, not {parts.scheme or 'no'} scheme")
    if not parts.hostname:
        raise RefusedAddress("the URL names no host")
    try:
        encoded = parts.hostname.encode("idna")  # what name resolution does with it
    except UnicodeError as exc:
        raise RefusedAddress(f"the URL's host is not a valid host name: {exc}") from exc
    if len(encoded) > 253:  # RFC 1035 section 2.3.4
        raise RefusedAddress("the URL's host name is longer than 253 characters")
    return url


def check_address(address: str, setting: str = IMPORT_SETTING) -> None:
    """Raises RefusedAddress unless ``address`` (an IP address) is a public one; the message names
    ``setting``, which allows the others."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if not ip.is_global or ip.is_multicast:
        raise RefusedAddress(
            f"{address} is a loopback, private or reserved address: set {setting}=true to reach this network"
        )


def check_resolved(url: str, setting: str = IMPORT_SETTING) -> None:
    """Refuse a URL whose host resolves to no public address now (an early answer; the connection checks
    again).

    Raises:
        RefusedAddress: it resolves to none, or only to refused ones.
    """
    parts = urlsplit(url)
    try:
        answers = _original_getaddrinfo(parts.hostname, parts.port or 443, 0, socket.SOCK_STREAM)
    except OSError as exc:
        raise RefusedAddress(f"{parts.hostname} does not resolve: {exc}") from exc
    for answer in answers:
        check_address(str(answer[4][0]), setting)


def find_refusal(exc: BaseException) -> RefusedAddress | None:
    """The :class:`RefusedAddress` among ``exc``'s causes (an HTTP stack wraps it in its connection error),
    or None."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, RefusedAddress):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _guarded_getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
    answers = _original_getaddrinfo(host, port, *args, **kwargs)
    if not getattr(_local, "active", False):
        return answers
    kept = []
    refusal: RefusedAddress | None = None
    for answer in answers:
        try:
            check_address(str(answer[4][0]), _local.setting)
        except RefusedAddress as exc:
            refusal = exc
        else:
            kept.append(answer)
    if not kept:
        raise refusal or RefusedAddress(f"{host} resolves to no address")
    return kept


@contextlib.contextmanager
def guarded_resolution(allow_private: bool, setting: str = IMPORT_SETTING) -> Iterator[None]:
    """Within the block, this thread's name resolutions give public addresses only (all when
    ``allow_private``); a refusal names ``setting``."""
    if allow_private:
        yield
        return
    if socket.getaddrinfo is not _guarded_getaddrinfo:
        socket.getaddrinfo = _guarded_getaddrinfo
    _local.active, _local.setting = True, setting
    try:
        yield
    finally:
        _local.active = False
