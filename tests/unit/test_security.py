"""The security rules as pure logic: what a bind really binds, Host and Origin rules, the sign-in limiter,
token comparison and the access-log redaction."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from starlette.datastructures import Headers

from stenograph.api.auth import FailureLimiter, same_secret
from stenograph.api.security import HostPolicy, RedactTokenFilter, is_loopback_name, split_host
from stenograph.cli import bind_refusal
from stenograph.settings import MIN_TOKEN_LENGTH, binds_loopback_only, build_settings, is_loopback_host

GOOD_TOKEN = "t" * MIN_TOKEN_LENGTH


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("", False),
        ("  ", False),
        ("0.0.0.0", False),
        ("::", False),
        ("10.0.0.2", False),
        ("name-that-does-not-resolve.invalid", False),
    ],
)
def test_binds_loopback_only_follows_what_the_socket_binds(host: str, loopback: bool) -> None:
    assert binds_loopback_only(host, 8000) is loopback


def test_an_empty_host_is_not_loopback_by_spelling_either() -> None:
    assert is_loopback_host("") is False


def test_a_name_is_loopback_only_when_every_address_is(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    def fake(host: str, port: int, *args: object, **kwargs: object) -> list[tuple[object, ...]]:
        assert host == "mixed.example"
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.0.2.7", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    assert binds_loopback_only("mixed.example", 8000) is False


@pytest.mark.parametrize(
    ("host", "token", "refused"),
    [
        ("127.0.0.1", None, None),
        ("localhost", "x", None),  # loopback: any token, even short
        ("", None, "STENOGRAPH_API_TOKEN"),
        ("0.0.0.0", None, "STENOGRAPH_API_TOKEN"),
        ("0.0.0.0", "short", f"at least {MIN_TOKEN_LENGTH}"),
        ("", "short", f"at least {MIN_TOKEN_LENGTH}"),
        ("0.0.0.0", GOOD_TOKEN, None),
        ("", GOOD_TOKEN, None),
    ],
)
def test_bind_refusal(tmp_path: Path, host: str, token: str | None, refused: str | None) -> None:
    reason = bind_refusal(build_settings(data_dir=tmp_path, host=host, api_token=token))
    if refused is None:
        assert reason is None
    else:
        assert reason is not None and refused in reason


def test_an_empty_token_is_refused(tmp_path: Path) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="set but empty"):
        build_settings(data_dir=tmp_path, api_token=" ")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("localhost:8000", ("localhost", 8000)),
        ("Example.COM", ("example.com", None)),
        ("localhost.:8000", ("localhost", 8000)),
        ("[::1]:9", ("::1", 9)),
        ("127.0.0.1", ("127.0.0.1", None)),
        ("", None),
        ("a:b", None),
        ("evil/x", None),
        ("user@host", None),
    ],
)
def test_split_host(value: str, expected: tuple[str, int | None] | None) -> None:
    assert split_host(value) == expected


def test_loopback_names() -> None:
    assert all(is_loopback_name(n) for n in ("localhost", "app.localhost", "127.9.9.9", "::1"))
    assert not any(is_loopback_name(n) for n in ("localhost.example", "0.0.0.0", "attacker.example"))


def policy(tmp_path: Path, *, public: bool, **overrides: object) -> HostPolicy:
    return HostPolicy(build_settings(data_dir=tmp_path, **overrides), public_bind=public)


def test_loopback_bind_answers_loopback_names_and_configured_hosts_only(tmp_path: Path) -> None:
    rules = policy(tmp_path, public=False, allowed_hosts="stenograph.lan, Other.Lan")
    for host in ("localhost:8000", "127.0.0.1:1", "[::1]:8000", "x.localhost", "stenograph.lan", "other.lan:80"):
        assert rules.host_allowed(host), host
    for host in ("attacker.example", "attacker.example:8000", "127.0.0.1.nip.io", "", "bad host"):
        assert not rules.host_allowed(host), host
    assert rules.host_allowed(None)  # no Host header: no browser sends that


def test_public_bind_answers_any_host_unless_allowed_hosts_is_set(tmp_path: Path) -> None:
    assert policy(tmp_path, public=True, host="0.0.0.0").host_allowed("anything.example")
    strict = policy(tmp_path, public=True, host="0.0.0.0", allowed_hosts="api.lan")
    assert strict.host_allowed("api.lan:8000") and not strict.host_allowed("anything.example")
    assert policy(tmp_path, public=False, allowed_hosts="*").host_allowed("anything.example")


def test_configured_host_is_answered(tmp_path: Path) -> None:
    assert policy(tmp_path, public=True, host="192.0.2.5", allowed_hosts="").host_allowed("192.0.2.5:8000")


def cross(rules: HostPolicy, **headers: str) -> bool:
    return rules.is_cross_origin(Headers({k.replace("_", "-"): v for k, v in headers.items()}))


def test_origin_rules(tmp_path: Path) -> None:
    rules = policy(tmp_path, public=False, allowed_hosts="trusted.lan")
    assert not cross(rules, host="127.0.0.1:8000")  # curl, SDKs, workers
    assert not cross(rules, host="127.0.0.1:8000", origin="http://127.0.0.1:8000", sec_fetch_site="same-origin")
    assert not cross(rules, host="localhost", origin="http://localhost:80")
    assert not cross(rules, host="localhost.:8000", origin="http://localhost.:8000")
    assert not cross(rules, host="localhost:443", origin="https://localhost")
    assert not cross(rules, host="127.0.0.1:8000", origin="http://trusted.lan:3000", sec_fetch_site="cross-site")
    assert not cross(rules, host="127.0.0.1:8000", sec_fetch_site="none")  # typed in the address bar
    assert cross(rules, host="127.0.0.1:8000", origin="http://127.0.0.1:9999")  # same site, another port
    assert cross(rules, host="127.0.0.1:8000", origin="http://localhost:8000")
    # The scheme is not compared: behind a TLS proxy the page is https and the request to the server http.
    assert not cross(rules, host="127.0.0.1:8000", origin="https://127.0.0.1:8000")
    assert cross(rules, host="127.0.0.1:8000", origin="http://evil.example")
    assert cross(rules, host="127.0.0.1:8000", origin="null")
    assert cross(rules, host="127.0.0.1:8000", origin="file://")
    assert cross(rules, host="127.0.0.1:8000", sec_fetch_site="cross-site")
    assert cross(rules, host="127.0.0.1:8000", sec_fetch_site="same-site")


def test_any_host_does_not_trust_any_origin(tmp_path: Path) -> None:
    rules = policy(tmp_path, public=True, host="0.0.0.0", allowed_hosts="*")
    assert cross(rules, host="api.lan:8000", origin="http://evil.example")
    assert not cross(rules, host="api.lan:8000", origin="http://api.lan:8000")


def test_failure_limiter_window() -> None:
    now = [1000.0]
    limiter = FailureLimiter(max_failures=3, window_seconds=60, clock=lambda: now[0])
    for _ in range(3):
        assert limiter.retry_after("a") is None
        limiter.failed("a")
        now[0] += 1
    wait = limiter.retry_after("a")
    assert wait is not None and wait == pytest.approx(57.0)
    assert limiter.retry_after("b") is None  # per client address
    now[0] += 57.01  # the first failure leaves the window
    assert limiter.retry_after("a") is None
    limiter.failed("a")
    assert limiter.retry_after("a") is not None
    limiter.succeeded("a")
    assert limiter.retry_after("a") is None


def test_failure_limiter_forgets_the_oldest_clients() -> None:
    limiter = FailureLimiter(max_failures=1, window_seconds=60, clock=lambda: 0.0, max_clients=2)
    for client in ("a", "b", "c"):
        limiter.failed(client)
    assert limiter.retry_after("a") is None
    assert limiter.retry_after("b") is not None and limiter.retry_after("c") is not None


def test_same_secret_takes_non_ascii() -> None:
    assert same_secret("é-token", "é-token")
    assert not same_secret("é", "token")
    assert not same_secret("\udcff", "token")  # a lone surrogate (undecodable input) is no crash


def uvicorn_record(path: str) -> logging.LogRecord:
    return logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5555", "GET", path, "1.1", 303),
        None,
    )


def test_access_log_redacts_the_token() -> None:
    record = uvicorn_record("/?token=s3cret-value&next=1")
    assert RedactTokenFilter().filter(record) is True
    message = record.getMessage()
    assert "s3cret-value" not in message
    assert message == '127.0.0.1:5555 - "GET /?token=***&next=1 HTTP/1.1" 303'
    untouched = uvicorn_record("/recordings?q=tokens")
    RedactTokenFilter().filter(untouched)
    assert "/recordings?q=tokens" in untouched.getMessage()
