"""Fetching a recording from the API server (``stenograph.worker.fetch``), against httpx.MockTransport."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from stenograph.datadir import data_dir_id
from stenograph.errors import ConfigurationError, PermanentError, RetryableError, TaskCancelled, WrongWorker
from stenograph.settings import Settings, build_settings
from stenograph.worker.fetch import cache_dir, check_server, local_recording

BODY = bytes(range(256)) * 4096 + b"tail"  # 1 MiB and 4 bytes: two chunks
SERVER = "http://api.test:8000/prefix"


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {"data_dir": tmp_path / "worker", "server_url": SERVER, "api_token": "s3cret"}
    values.update(overrides)
    return build_settings(**values)


def row(size: int | None = len(BODY)) -> dict[str, Any]:
    return {"id": 7, "stored_name": "abc123", "size_bytes": size}


class Server:
    """A MockTransport handler that records the requests it answers."""

    def __init__(self, answer: Callable[[httpx.Request], httpx.Response]) -> None:
        self.answer = answer
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer(request)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


def leftovers(settings: Settings) -> list[str]:
    folder = cache_dir(settings)
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_fetches_with_the_token_into_the_cache_then_discards(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    server = Server(lambda _request: httpx.Response(200, content=BODY))
    progress: list[tuple[int, int | None]] = []
    local = local_recording(
        settings, row(), task_id=3, transport=server.transport, on_progress=lambda *a: progress.append(a)
    )
    [request] = server.requests
    assert str(request.url) == f"{SERVER}/recordings/7/media"
    assert request.headers["authorization"] == "Bearer s3cret"
    assert local.fetched and local.path == cache_dir(settings) / "3-abc123"
    assert local.path.read_bytes() == BODY
    assert leftovers(settings) == ["3-abc123"]  # no temporary file left beside it
    assert progress[-1] == (len(BODY), len(BODY))

    again = local_recording(settings, row(), task_id=3, transport=server.transport)
    assert again.path == local.path and len(server.requests) == 1  # a retry of the task reuses its copy
    local.discard()
    assert leftovers(settings) == []


def test_a_file_in_the_data_directory_is_used_as_it_is(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    settings.uploads_dir.mkdir(parents=True)
    (settings.uploads_dir / "abc123").write_bytes(b"local")
    server = Server(lambda _request: httpx.Response(500))
    local = local_recording(settings, row(), task_id=3, transport=server.transport)
    assert local.path == settings.uploads_dir / "abc123" and not local.fetched and server.requests == []
    local.discard()
    assert local.path.exists()  # never deletes the data directory's file


def test_missing_file_without_a_server_url_is_a_permanent_error_naming_the_path(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, server_url=None)
    with pytest.raises(PermanentError, match="STENOGRAPH_SERVER_URL") as caught:
        local_recording(settings, row(), task_id=3)
    assert str(settings.uploads_dir / "abc123") in str(caught.value)


def test_a_file_of_another_data_directory_is_for_another_worker(tmp_path: Path) -> None:
    """Not a failure: the worker gives the task back (uncharged) for the workers of that data directory."""
    settings = make_settings(tmp_path, server_url=None)
    with pytest.raises(WrongWorker, match="another data directory") as caught:
        local_recording(settings, {**row(), "store_id": "theirs"}, task_id=3)
    assert caught.value.affinity == "theirs"
    ours = data_dir_id(settings.data_dir)
    with pytest.raises(PermanentError, match="STENOGRAPH_SERVER_URL"):  # ours, and missing: a real failure
        local_recording(settings, {**row(), "store_id": ours}, task_id=3)


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_token_is_permanent(tmp_path: Path, status: int) -> None:
    settings = make_settings(tmp_path)
    server = Server(lambda _request: httpx.Response(status, json={"detail": "unauthorized"}))
    with pytest.raises(PermanentError, match="the API server refused the worker's token") as caught:
        local_recording(settings, row(), task_id=3, transport=server.transport)
    assert caught.value.kind == "unauthorized" and not caught.value.retryable
    assert leftovers(settings) == []


def test_no_token_says_to_set_one(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, api_token=None)
    server = Server(lambda _request: httpx.Response(401))
    with pytest.raises(PermanentError, match="set STENOGRAPH_API_TOKEN"):
        local_recording(settings, row(), task_id=3, transport=server.transport)
    assert "authorization" not in server.requests[0].headers


def test_a_server_error_is_retryable(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    server = Server(lambda _request: httpx.Response(500, text="boom"))
    with pytest.raises(RetryableError, match="HTTP 500") as caught:
        local_recording(settings, row(), task_id=3, patience_s=0, transport=server.transport)
    assert caught.value.retryable
    assert leftovers(settings) == []


def test_an_unreachable_server_is_retryable(tmp_path: Path) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(RetryableError, match="ConnectError"):
        local_recording(make_settings(tmp_path), row(), task_id=3, patience_s=0, transport=Server(refuse).transport)


def test_a_recording_gone_from_the_server_is_permanent(tmp_path: Path) -> None:
    gone = {"detail": {"code": "not_found", "message": "no recording 7"}}  # the API's own 404
    server = Server(lambda _request: httpx.Response(404, json=gone))
    with pytest.raises(PermanentError, match="no file for recording 7") as caught:
        local_recording(make_settings(tmp_path), row(), task_id=3, transport=server.transport)
    assert caught.value.kind == "missing_file"


def test_a_url_where_no_stenograph_api_answers_says_so(tmp_path: Path) -> None:
    server = Server(lambda _request: httpx.Response(404, json={"detail": "Not Found"}))  # a wrong path prefix
    with pytest.raises(PermanentError, match="no Stenograph API answers") as caught:
        local_recording(make_settings(tmp_path), row(), task_id=3, transport=server.transport)
    assert caught.value.kind == "bad_server_url"


def test_a_redirect_is_not_followed_with_the_token(tmp_path: Path) -> None:
    server = Server(lambda _request: httpx.Response(302, headers={"location": "https://elsewhere.test/x"}))
    with pytest.raises(PermanentError, match=re.escape("redirects to https://elsewhere.test/x")):
        local_recording(make_settings(tmp_path), row(), task_id=3, transport=server.transport)
    assert len(server.requests) == 1


def test_a_restarting_server_is_waited_for_without_failing_the_attempt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("stenograph.worker.fetch.FIRST_WAIT_SECONDS", 0.01)
    answers = iter([httpx.Response(503), httpx.Response(502), httpx.Response(200, content=BODY)])
    server = Server(lambda _request: next(answers))
    waits: list[str] = []
    local = local_recording(
        make_settings(tmp_path), row(), task_id=3, transport=server.transport, on_wait=waits.append, patience_s=60
    )
    assert local.path.read_bytes() == BODY
    assert len(server.requests) == 3
    assert len(waits) == 2 and all("waiting for the API server" in w and "HTTP 50" in w for w in waits)


def test_patience_ends_in_a_retryable_error_and_a_cancel_stops_the_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("stenograph.worker.fetch.FIRST_WAIT_SECONDS", 0.01)
    server = Server(lambda _request: httpx.Response(503))
    with pytest.raises(RetryableError, match="HTTP 503"):
        local_recording(make_settings(tmp_path), row(), task_id=3, transport=server.transport, patience_s=0.05)
    assert len(server.requests) >= 2
    stop = iter([False, True])  # the first check (before the download) passes; the wait's first check stops
    with pytest.raises(TaskCancelled, match="waiting for the API server"):
        local_recording(
            make_settings(tmp_path), row(), task_id=3, transport=server.transport, should_stop=lambda: next(stop, True)
        )


def truncated(body: bytes, declared: int) -> Callable[[httpx.Request], httpx.Response]:
    """A response that declares ``declared`` bytes but sends ``body``: a connection cut mid-transfer."""

    def chunks() -> Iterator[bytes]:
        yield body

    return lambda _request: httpx.Response(200, headers={"content-length": str(declared)}, content=chunks())


def test_a_truncated_body_is_retryable_and_leaves_nothing(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    server = Server(truncated(BODY[:1000], len(BODY)))
    with pytest.raises(RetryableError, match=f"stopped after 1000 of {len(BODY)} bytes"):
        local_recording(settings, row(), task_id=3, patience_s=0, transport=server.transport)
    assert leftovers(settings) == []


def test_a_short_body_without_length_is_checked_against_the_stored_size(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)

    def chunks() -> Iterator[bytes]:
        yield BODY[:10]

    server = Server(lambda _request: httpx.Response(200, content=chunks()))  # chunked: no Content-Length
    with pytest.raises(RetryableError, match=f"stopped after 10 of {len(BODY)} bytes"):
        local_recording(settings, row(), task_id=3, patience_s=0, transport=server.transport)
    assert leftovers(settings) == []


def test_a_size_other_than_the_uploaded_one_is_permanent(tmp_path: Path) -> None:
    server = Server(lambda _request: httpx.Response(200, content=b"x" * 10))
    with pytest.raises(PermanentError, match="uploaded with"):
        local_recording(make_settings(tmp_path), row(), task_id=3, transport=server.transport)


def test_a_cancel_stops_the_download(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    server = Server(lambda _request: httpx.Response(200, content=BODY))
    with pytest.raises(TaskCancelled):
        local_recording(settings, row(), task_id=3, transport=server.transport, should_stop=lambda: True)
    assert leftovers(settings) == []


def test_a_stale_partial_copy_is_fetched_again(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    cache_dir(settings).mkdir(parents=True)
    (cache_dir(settings) / "3-abc123").write_bytes(b"half")
    server = Server(lambda _request: httpx.Response(200, content=BODY))
    local = local_recording(settings, row(), task_id=3, transport=server.transport)
    assert local.path.read_bytes() == BODY and len(server.requests) == 1


def api(database: str = "postgresql", workers_status: int = 200) -> Callable[[httpx.Request], httpx.Response]:
    """A Stenograph API: /health open, /workers behind the token."""

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/health"):
            return httpx.Response(200, json={"status": "ok", "database": database})
        if request.url.path.endswith("/workers"):
            return httpx.Response(workers_status, json={})
        return httpx.Response(404, json={"detail": "Not Found"})

    return answer


def test_the_start_check_accepts_a_good_server(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, database_url="postgresql+psycopg://u@db/x")
    server = Server(api())
    check_server(settings, transport=server.transport)
    assert [r.url.path for r in server.requests] == ["/prefix/health", "/prefix/workers"]
    assert server.requests[1].headers["authorization"] == "Bearer s3cret"


@pytest.mark.parametrize(
    ("answer", "overrides", "message"),
    [
        (api(workers_status=401), {"database_url": "postgresql+psycopg://u@db/x"}, "refused STENOGRAPH_API_TOKEN"),
        (lambda _r: httpx.Response(404, json={"detail": "Not Found"}), {}, "no Stenograph API answers"),
        (lambda _r: httpx.Response(200, text="<html>a proxy</html>"), {}, "no Stenograph API answers"),
        (api(), {}, "this worker uses SQLite"),  # the server's queue is elsewhere: this one would sit idle
    ],
)
def test_the_start_check_refuses_a_misconfigured_worker(
    tmp_path: Path, answer: Callable[[httpx.Request], httpx.Response], overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        check_server(make_settings(tmp_path, **overrides), transport=Server(answer).transport)


def test_the_start_check_only_warns_when_the_server_is_down(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    check_server(make_settings(tmp_path), transport=Server(refuse).transport)
    assert "does not answer now" in caplog.text
