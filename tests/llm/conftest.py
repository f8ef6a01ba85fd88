"""Fixtures of the LLM tests: a fake HTTP server on a free loopback port."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.llm.helpers import FakeServer, Recorded


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
            data = json.dumps(payload).encode()
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
