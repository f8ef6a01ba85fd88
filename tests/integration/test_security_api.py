"""The security rules on the real application (``create_app``): Host, Origin, headers, /docs offline,
non-ASCII credentials, the sign-in limiter. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from urllib.parse import urljoin, urlsplit

import pytest
from fastapi.testclient import TestClient

from stenograph.api import create_app
from stenograph.settings import Settings

TOKEN = "integration-token-0123456789"
LOCAL = "http://127.0.0.1:8000"


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), base_url=LOCAL) as client:
        yield client


def test_a_foreign_host_is_refused(client: TestClient) -> None:
    refused = client.get("/tasks", headers={"Host": "attacker.example"})
    assert refused.status_code == 403
    detail = refused.json()["detail"]
    assert detail["code"] == "forbidden_host" and "STENOGRAPH_ALLOWED_HOSTS" in detail["message"]
    assert client.get("/", headers={"Host": "attacker.example:8000"}).status_code == 403
    for host in ("127.0.0.1:8000", "localhost:9", "[::1]:8000", "app.localhost"):
        assert client.get("/tasks", headers={"Host": host}).status_code == 200, host


def test_allowed_hosts_are_answered(make_settings: Callable[..., Settings]) -> None:
    with TestClient(create_app(make_settings(allowed_hosts="stenograph.lan")), base_url=LOCAL) as client:
        assert client.get("/tasks", headers={"Host": "stenograph.lan:8000"}).status_code == 200
        assert client.get("/tasks", headers={"Host": "other.lan"}).status_code == 403


def test_cross_origin_writes_are_refused_without_a_token(client: TestClient) -> None:
    task = client.post("/tasks/test/summary", json={"seconds": 600}).json()
    attacks = [
        {"Origin": "http://127.0.0.1:9999", "Sec-Fetch-Site": "same-site"},
        {"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
    ]
    for headers in attacks:
        cancel = client.post(f"/tasks/{task['id']}/cancel", headers=headers)
        assert cancel.status_code == 403, headers
        assert cancel.json()["detail"]["code"] == "cross_origin"
        upload = client.post("/recordings", headers=headers, files={"file": ("a.wav", b"RIFF....", "audio/wav")})
        assert upload.status_code == 403 and upload.json()["detail"]["code"] == "cross_origin"
        assert client.delete(f"/tasks/{task['id']}", headers=headers).status_code == 403
    assert client.get(f"/tasks/{task['id']}").json()["status"] == "pending"
    assert client.get("/recordings").json()["count"] == 0
    # Reading is not refused (the browser keeps a cross-origin answer from the page anyway).
    assert client.get("/tasks", headers={"Origin": "http://evil.example"}).status_code == 200
    # The web app itself (same origin) and clients that send no Origin (curl, SDKs, workers) may write.
    own = {"Origin": LOCAL, "Sec-Fetch-Site": "same-origin"}
    assert client.post(f"/tasks/{task['id']}/cancel", headers=own).status_code == 200
    assert client.post("/tasks/test/summary", json={"seconds": 1}).status_code == 201


def test_cross_origin_writes_are_refused_with_a_token(make_settings: Callable[..., Settings]) -> None:
    with TestClient(create_app(make_settings(api_token=TOKEN)), base_url=LOCAL) as client:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        refused = client.post("/tasks/test/summary", headers={**auth, "Origin": "http://evil.example"})
        assert refused.status_code == 403 and refused.json()["detail"]["code"] == "cross_origin"
        assert client.post("/tasks/test/summary", headers={**auth, "Origin": LOCAL}).status_code == 201


def test_every_answer_carries_the_security_headers(client: TestClient) -> None:
    for answer in (
        client.get("/"),
        client.get("/tasks"),
        client.get("/nope"),
        client.get("/", headers={"Host": "x.y"}),
    ):
        csp = answer.headers["content-security-policy"]
        assert "img-src 'self' data: blob:" in csp and "default-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp and "script-src 'self' 'unsafe-eval'" in csp
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_api_docs_load_nothing_from_outside(client: TestClient, page: str) -> None:
    answer = client.get(page)
    assert answer.status_code == 200 and "text/html" in answer.headers["content-type"]
    html = answer.text
    assert "cdn" not in html.lower() and "fonts.googleapis" not in html
    assert not re.search(r"https?://", html), "an absolute URL in the page"
    assert not re.search(r"<script>", html), "an inline script (the CSP forbids it)"
    assets = re.findall(r'(?:src|href|spec-url)="([^"]+)"', html)
    assert len(assets) >= 3, assets
    for asset in assets:
        url = urljoin(f"{LOCAL}{page}", asset)
        assert urlsplit(url).netloc == "127.0.0.1:8000", asset
        fetched = client.get(url)
        assert fetched.status_code == 200, asset
        assert not re.search(r"fonts\.googleapis|cdn\.jsdelivr|unpkg\.com", fetched.text[:200_000]), asset
    assert "/openapi.json" in assets or page == "/docs"


def test_swagger_start_up_script_is_a_file(client: TestClient) -> None:
    script = client.get("/docs/swagger-init.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert "SwaggerUIBundle(" in script.text and "/openapi.json" in script.text


NON_ASCII = "tökén-ünïcode"


def test_non_ascii_credentials_are_a_plain_401(make_settings: Callable[..., Settings]) -> None:
    with TestClient(create_app(make_settings(api_token=TOKEN)), base_url=LOCAL, follow_redirects=False) as client:
        header = client.get("/tasks", headers={"Authorization": f"Bearer {NON_ASCII}".encode()})
        assert header.status_code == 401 and header.json()["detail"]["code"] == "unauthorized"
        cookie = client.get("/tasks", headers={"Cookie": f"stenograph_session={NON_ASCII}".encode()})
        assert cookie.status_code == 401
        assert client.get("/", params={"token": NON_ASCII}).status_code == 401
        assert client.post("/auth/login", json={"token": NON_ASCII}).status_code == 401
        form = client.post("/auth/form", data={"token": NON_ASCII})
        assert form.status_code == 401 and "Wrong API token" in form.text


def test_a_unicode_token_is_refused_at_start(make_settings: Callable[..., Settings]) -> None:
    """HTTP headers carry ASCII: such a token could sign in through the form only, never through curl, httpx,
    the OpenAI SDK or a worker; so the settings refuse it, saying how to make one."""
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="printable ASCII"):
        make_settings(api_token="ünïcode-token-0123456789")


def test_failed_sign_ins_are_limited_per_address(make_settings: Callable[..., Settings]) -> None:
    now = [0.0]
    app = create_app(make_settings(api_token=TOKEN), auth_clock=lambda: now[0])
    with TestClient(app, base_url=LOCAL, follow_redirects=False) as client:
        wrong = [
            lambda: client.get("/tasks", headers={"Authorization": "Bearer wrong"}),
            lambda: client.get("/tasks", headers={"Cookie": "stenograph_session=wrong"}),
            lambda: client.get("/", params={"token": "wrong"}),
            lambda: client.post("/auth/login", json={"token": "wrong"}),
            lambda: client.post("/auth/form", data={"token": "wrong"}),
        ]
        for attempt in range(10):
            assert wrong[attempt % len(wrong)]().status_code == 401, attempt
            now[0] += 1.0
        for attempt in wrong:
            limited = attempt()
            assert limited.status_code == 429
            assert int(limited.headers["retry-after"]) == 50  # the first failure leaves the window at 60 s
        assert client.get("/tasks").json()["detail"]["code"] == "unauthorized"  # no credential: no attempt
        body = client.get("/tasks", headers={"Authorization": "Bearer wrong"}).json()["detail"]
        assert body["code"] == "too_many_attempts"
        # While limited, even the right token is not checked (429 would otherwise tell a right guess)...
        assert client.get("/tasks", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 429
        assert client.get("/health").status_code == 200
        now[0] += 50.5  # ... until failures leave the window
        assert client.get("/tasks", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        assert client.post("/auth/login", json={"token": TOKEN}).status_code == 200
        # A signed-in browser (its session cookie) is never limited.
        for _ in range(12):
            client.get("/tasks", headers={"Authorization": "Bearer wrong", "Cookie": "x=y"})
        with TestClient(app, base_url=LOCAL) as signed_in:
            assert signed_in.post("/auth/login", json={"token": TOKEN}).status_code == 429
            signed_in.cookies.set("stenograph_session", client.cookies["stenograph_session"])
            assert signed_in.get("/tasks").status_code == 200
