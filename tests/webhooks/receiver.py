"""A local webhook receiver for the tests: an HTTP server thread that answers each POST as its script says
(``fail``: 500, ``hang``: no answer until released, ``ok``: 204) and checks each one's Standard Webhooks
signature with the reference library."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    answer: str

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    secret: str
    script: list[str] = field(default_factory=list)  # one action per request; then ``after``
    after: str = "ok"
    received: list[Received] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_action(self) -> str:
        with self.lock:
            return self.script.pop(0) if self.script else self.after

    def delivered(self) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.answer == "ok"]


@contextmanager
def receiving(secret: str, script: list[str] | None = None) -> Iterator[Receiver]:
    receiver = Receiver(secret, list(script or []))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            headers = {key.lower(): value for key, value in self.headers.items()}
            try:
                Webhook(receiver.secret).verify(body, headers, json_parse=False)
                verified = True
            except WebhookVerificationError:
                verified = False
            action = receiver.next_action() if verified else "fail"
            with receiver.lock:
                receiver.received.append(Received(self.path, headers, body, verified, action))
            if action == "hang":
                receiver.release.wait(30)  # the sender's timeout is far shorter
                return
            self.send_response(204 if action == "ok" else 500)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release.set()
        server.shutdown()
        server.server_close()
