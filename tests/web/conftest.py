"""Fixtures for the web app's browser tests: the real server and Chromium through Playwright.

The server is ``stenograph serve`` in a subprocess (temporary data directory, free port), waited
for on ``/health`` and stopped with SIGINT. Chromium is Debian's ``/usr/bin/chromium``
(``STENOGRAPH_CHROMIUM`` overrides it); Playwright's own browser downloads are never used.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.helpers import stop_process

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
CHROMIUM = os.environ.get("STENOGRAPH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_DEADLINE_S = 90.0

# Auto-waiting assertions: generous, the machine is shared and models load on first use.
expect.set_options(timeout=20_000)


def corpus_dir() -> Path:
    return Path(os.environ.get("STENOGRAPH_CORPUS_DIR", REPO.parent / "shared" / "audio"))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    data_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes]

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30.0)

    def log_tail(self, n: int = 60) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])


@contextmanager
def running_server(**env_extra: str) -> Iterator[Server]:
    """``stenograph serve`` on a free port with a fresh data directory; stopped with SIGINT."""
    data_dir = Path(tempfile.mkdtemp(prefix="stenograph-web-"))
    port = free_port()
    log_path = data_dir / "server.log"
    env = {
        **os.environ,
        "STENOGRAPH_DATA_DIR": str(data_dir),
        "STENOGRAPH_CONCURRENCY": os.environ.get("STENOGRAPH_WEB_TEST_CONCURRENCY", "2"),
        # The same server whether or not `make run` installed the default LLM into this venv.
        "STENOGRAPH_LLM_DEFAULT_MODEL": "false",
    }
    env.pop("STENOGRAPH_API_TOKEN", None)
    env.update(env_extra)
    cmd = [
        sys.executable,
        "-c",
        "from stenograph.cli import main; main()",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    srv = Server(url=url, data_dir=data_dir, log_path=log_path, process=process)
    deadline = time.monotonic() + SERVER_START_DEADLINE_S
    ready = False
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            try:
                if client.get(f"{url}/health").status_code == 200:
                    ready = True
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)  # polling the server's start-up, not synchronising the browser
    if not ready:
        process.kill()
        process.wait(10)
        tail = srv.log_tail()
        shutil.rmtree(data_dir, ignore_errors=True)
        pytest.fail(f"stenograph serve did not answer /health within {SERVER_START_DEADLINE_S:.0f} s:\n{tail}")
    try:
        yield srv
    finally:
        with suppress(subprocess.TimeoutExpired):
            stop_process(process, timeout=45, sig=signal.SIGINT)
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    """The real Stenograph server (API, web app and its workers) on a free port; webhooks may reach the
    tests' receivers on loopback."""
    with running_server(STENOGRAPH_WEBHOOK_ALLOW_PRIVATE="true") as srv:
        yield srv


@pytest.fixture(scope="session")
def playwright() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright: Any) -> Iterator[Any]:
    b = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        yield b
    finally:
        b.close()


@dataclass
class Watched:
    """A page with the console errors, page errors and requests it produced."""

    page: Any
    base_url: str
    console_errors: list[str] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)

    def goto(self, hash_route: str = "") -> None:
        self.page.goto(f"{self.base_url}/{hash_route}")

    def errors_except(self, *allowed: str) -> list[str]:
        return [e for e in self.console_errors if not any(a in e for a in allowed)]


def _watch(page: Any, base_url: str) -> Watched:
    w = Watched(page=page, base_url=base_url)
    page.on("console", lambda m: w.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: w.console_errors.append(f"uncaught: {e}"))
    page.on("request", lambda r: w.requests.append((r.method, r.url)))
    page.set_default_timeout(20_000)
    return w


@pytest.fixture
def web(browser: Any, server: Server) -> Iterator[Watched]:
    """A fresh desktop-sized page on the server's web app."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=server.url)
    page = context.new_page()
    try:
        yield _watch(page, server.url)
    finally:
        context.close()


@pytest.fixture
def narrow_web(browser: Any, server: Server) -> Iterator[Watched]:
    """A fresh page 360 px wide (a small phone)."""
    context = browser.new_context(
        viewport={"width": 360, "height": 740}, base_url=server.url, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    try:
        yield _watch(page, server.url)
    finally:
        context.close()


@pytest.fixture(scope="session")
def jfk_wav() -> Path:
    path = corpus_dir() / "jfk.wav"
    if not path.exists():
        pytest.skip(f"speech corpus clip {path} is absent (set STENOGRAPH_CORPUS_DIR to the corpus folder)")
    return path


SPOKEN_TEXT = "The quick brown fox jumps over the lazy dog. We write down what people say."
#: Words Whisper tiny.en reliably hears in the espeak-ng rendering of SPOKEN_TEXT.
SPOKEN_WORDS = ("quick", "lazy", "people")


@pytest.fixture(scope="session")
def espeak_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clip synthesised with espeak-ng (16 kHz mono WAV via ffmpeg when available)."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        pytest.skip("espeak-ng is not installed (apt-get install -y espeak-ng)")
    out_dir = tmp_path_factory.mktemp("espeak")
    raw = out_dir / "espeak-raw.wav"
    subprocess.run([espeak, "-v", "en-us", "-s", "140", "-w", str(raw), SPOKEN_TEXT], check=True)
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        return raw
    out = out_dir / "quick-brown-fox.wav"
    subprocess.run(
        [ffmpeg, "-loglevel", "error", "-y", "-i", str(raw), "-ar", "16000", "-ac", "1", str(out)], check=True
    )
    return out


def shot(page: Any, name: str) -> Path:
    """Save a full-page screenshot under test-artifacts/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
