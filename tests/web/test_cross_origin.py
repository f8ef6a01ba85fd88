"""Other sites against the real server in Chromium: a page on another origin cannot write (no-cors
uploads and cancels), a summary's remote image is never fetched, and the CSP leaves the app and the API
docs working."""

from __future__ import annotations

import base64
import io
import math
import struct
import threading
import wave
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import insert

from stenograph.db import create_db_engine
from stenograph.db.models import Task
from stenograph.recordings.store import TranscriptStore
from stenograph.settings import build_settings
from tests.helpers import wait_for

from .conftest import Server, Watched

pytestmark = pytest.mark.web

CSP_WORDS = ("Content Security Policy", "Refused to")
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


def tone_wav(seconds: float = 1.0, rate: int = 16_000) -> bytes:
    """A 440 Hz tone, a recording the server accepts."""
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        frames = (int(8000 * math.sin(2 * math.pi * 440 * n / rate)) for n in range(int(seconds * rate)))
        wav.writeframes(b"".join(struct.pack("<h", f) for f in frames))
    return out.getvalue()


@dataclass
class OtherSite:
    """An HTTP server on another port (another origin): serves ``pages`` and records every request."""

    pages: dict[str, str] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def other_site() -> Iterator[OtherSite]:
    site = OtherSite()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            site.requests.append(self.path)
            body = site.pages.get(self.path.split("?")[0])
            if body is None:
                self.send_response(200)
                self.send_header("Content-Type", "image/gif")
                self.end_headers()
                self.wfile.write(base64.b64decode("R0lGODlhAQABAAAAACw="))
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    site.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        httpd.shutdown()
        httpd.server_close()


ATTACK_PAGE = """<!doctype html><html><head><title>attacking</title></head><body><script>
(async () => {
  const api = "%(api)s";
  const bytes = Uint8Array.from(atob("%(wav)s"), (c) => c.charCodeAt(0));
  const form = new FormData();
  form.append("file", new Blob([bytes], { type: "audio/wav" }), "cross-origin.wav");
  form.append("steps", "transcription");
  const outcome = [];
  for (const [path, body] of [["/recordings", form], ["/tasks/%(task)s/cancel", null]]) {
    try {
      await fetch(api + path, { method: "POST", mode: "no-cors", body });
      outcome.push("sent");
    } catch (err) {
      outcome.push("error " + err);
    }
  }
  document.title = "done " + outcome.join(",");
})();
</script></body></html>"""


def test_a_page_of_another_origin_cannot_upload_or_cancel(browser: Any, server: Server, other_site: OtherSite) -> None:
    with server.client() as api:
        task = api.post("/tasks/test/summary", json={"seconds": 600}).json()
        before = api.get("/recordings").json()["count"]
        other_site.pages["/attack.html"] = ATTACK_PAGE % {
            "api": server.url,
            "wav": base64.b64encode(tone_wav()).decode(),
            "task": task["id"],
        }
        context = browser.new_context()
        try:
            page = context.new_page()
            page.goto(f"{other_site.url}/attack.html")
            expect(page).to_have_title("done sent,sent")  # the browser sent both (no-cors hides the answers)
        finally:
            context.close()
        # Both requests reached the server and were refused there.
        wait_for(
            lambda: f'"POST /tasks/{task["id"]}/cancel HTTP/1.1" 403' in server.log_tail(400),
            timeout=20,
            what="the refused cancel in the access log",
        )
        assert '"POST /recordings HTTP/1.1" 403' in server.log_tail(400)
        assert api.get("/recordings").json()["count"] == before
        now = api.get(f"/tasks/{task['id']}").json()
        assert now["status"] in ("pending", "running") and not now["cancel_requested"], now
        # A DNS-rebinding request (a foreign Host) is refused too.
        rebound = api.get("/tasks", headers={"Host": "attacker.example"})
        assert rebound.status_code == 403 and rebound.json()["detail"]["code"] == "forbidden_host"
        # No Origin (curl, SDKs): allowed — 200 for a pending task, 202 (requested) once a worker runs it.
        assert api.post(f"/tasks/{task['id']}/cancel").status_code in (200, 202)


def save_completed_summary(
    engine: Any, store: TranscriptStore, recording_id: int, markdown: str, data: dict[str, Any], *, method: str
) -> None:
    """A completed summary task of ``recording_id`` (``result.method``: ``method``) and its stored summary."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        task_id = conn.execute(
            insert(Task)
            .values(
                type="summary",
                status="completed",
                params={},
                result={"method": method},
                recording_id=recording_id,
                run_after=now,
                created_at=now,
                updated_at=now,
                finished_at=now,
                progress=1.0,
            )
            .returning(Task.id)
        ).scalar_one()
    store.save_summary(recording_id, version_id=None, task_id=task_id, markdown=markdown, data=data)


def add_summarised_recording(server: Server, markdown: str) -> int:
    """A recording with a completed summary step and its summary, written to the server's database."""
    engine = create_db_engine(build_settings(data_dir=server.data_dir))
    try:
        store = TranscriptStore(engine)
        recording_id = store.create_recording(
            name="remote-image.wav", stored_name="missing.wav", size_bytes=1, duration_s=1.0, media={}, options={}
        )
        save_completed_summary(engine, store, recording_id, markdown, {}, method="extractive")
        return recording_id
    finally:
        engine.dispose()


def test_a_summarys_remote_image_is_never_fetched(web: Watched, server: Server, other_site: OtherSite) -> None:
    markdown = (
        "# Notes\n\nSee the chart.\n\n"
        f"![tracking pixel]({other_site.url}/markdown.gif)\n\n"
        f'<img src="{other_site.url}/raw-html.gif" alt="raw">\n\n'
        "![local](data:image/gif;base64,R0lGODlhAQABAAAAACw=)\n"
    )
    recording_id = add_summarised_recording(server, markdown)
    page = web.page
    web.goto(f"#/recordings/{recording_id}")
    summary = page.get_by_test_id("summary")
    expect(summary.get_by_role("heading", name="Notes")).to_be_visible()
    expect(summary.get_by_test_id("remote-image")).to_have_count(2)
    expect(summary.get_by_test_id("remote-image").first).to_contain_text("Image not loaded")
    expect(summary.locator("img")).to_have_count(1)  # the data: image stays
    page.wait_for_function("() => [...document.images].every((img) => img.complete)")
    assert other_site.requests == []
    # The CSP alone stops an image that gets past the sanitiser.
    violation = page.evaluate(
        """(src) => new Promise((resolve) => {
          document.addEventListener("securitypolicyviolation", (e) => resolve(e.violatedDirective), { once: true });
          const img = document.createElement("img");
          img.src = src;
          document.body.append(img);
        })""",
        f"{other_site.url}/injected.gif",
    )
    assert violation.startswith("img-src")
    assert other_site.requests == []


def test_the_app_and_api_docs_work_under_the_csp(web: Watched, server: Server) -> None:
    web.goto("#/processing")
    expect(web.page.get_by_test_id("page-processing")).to_have_attribute("data-live", "yes")
    web.goto("#/upload")
    expect(web.page.get_by_test_id("page-upload")).to_be_visible()
    assert [e for e in web.console_errors if any(w in e for w in CSP_WORDS)] == []
    headers = httpx.get(f"{server.url}/", timeout=10).headers
    assert "script-src 'self' 'unsafe-eval'" in headers["content-security-policy"]

    web.page.goto(f"{server.url}/docs")
    expect(web.page.locator(".swagger-ui .info .title")).to_contain_text("Stenograph")
    expect(web.page.locator(".opblock").first).to_be_visible()
    web.page.goto(f"{server.url}/redoc")
    expect(web.page.get_by_role("heading", name="Stenograph").first).to_be_visible()
    # ReDoc's footer always shows Redocly's logo from their CDN: the CSP blocks it, and nothing else.
    blocked = [e for e in web.console_errors if any(w in e for w in CSP_WORDS)]
    assert all(REDOC_LOGO in e and "blocked" in e for e in blocked), blocked
    outside = [url for _, url in web.requests if not url.startswith((server.url, "data:", "blob:"))]
    assert set(outside) <= {REDOC_LOGO}, outside
