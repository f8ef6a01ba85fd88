"""Fixtures of the LLM tests: a fake HTTP server on a free loopback port; Gemma served and embedded."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.llm.helpers import FakeServer, Recorded

#: Context (tokens) the Gemma server and embedded engine run with in the slow tests.
GEMMA_TEST_CONTEXT = 4096


@pytest.fixture
def fake_server() -> Iterator[FakeServer]:
    """An HTTP server on 127.0.0.1:<free port>, answering from ``routes``; requests are recorded."""
    state: dict[str, FakeServer] = {}

    class Handler(BaseHTTPRequestHandler):
        def _handle(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            request = Recorded(method, self.path, body)
            server = state["server"]
            server.requests.append(request)
            status, payload = server.answer(request)
            if status == 0:  # hang until the test ends: the client's timeout must fire
                server.release.wait(30)
                return
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()  # bytes: sent as they are
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    server = FakeServer(url=f"http://127.0.0.1:{httpd.server_address[1]}")
    state["server"] = server
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture(scope="session")
def gemma_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Gemma 3 270M GGUF, assembled from its PyPI packages into a temporary data dir."""
    from stenograph.errors import ConfigurationError
    from stenograph.llm.models import gemma_gguf_path
    from stenograph.settings import build_settings

    try:
        return gemma_gguf_path(build_settings(data_dir=tmp_path_factory.mktemp("data")))
    except ConfigurationError as exc:
        pytest.skip(f"Gemma GGUF packages not installed: {exc}")


def _require_llama_cpp() -> None:
    from stenograph.llm.embedded import llama_cpp_available

    if not llama_cpp_available():
        pytest.skip("llama_cpp is not installed (pip install 'stenograph[embedded]')")


@pytest.fixture(scope="session")
def llama_server(gemma_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``python -m llama_cpp.server`` on Gemma, on a free loopback port; yields its ``/v1`` base URL.

    Waits until ``GET /v1/models`` answers, with a deadline; fails with the server's log if it dies.
    """
    _require_llama_cpp()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log_path = tmp_path_factory.mktemp("llama") / "server.log"
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(gemma_path), "--host", "127.0.0.1"]
    command += ["--port", str(port), "--n_ctx", str(GEMMA_TEST_CONTEXT), "--chat_format", "gemma"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 180
    try:
        with httpx.Client(timeout=2) as http:
            while True:
                if process.poll() is not None:
                    pytest.fail(f"llama_cpp.server exited {process.returncode}: {log_path.read_text()[-2000:]}")
                try:
                    if http.get(f"{base_url}/models").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"llama_cpp.server did not answer within 180 s: {log_path.read_text()[-2000:]}")
                # The readiness poll interval doubles as a check that the server is still alive.
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=0.25)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def gemma_embedded(gemma_path: Path) -> Iterator[Any]:
    """Gemma in process through llama-cpp-python, with the same context as the server fixture."""
    _require_llama_cpp()
    from stenograph.llm.embedded import EmbeddedLlamaClient

    client = EmbeddedLlamaClient(gemma_path, context_tokens=GEMMA_TEST_CONTEXT)
    yield client
    client.close()
