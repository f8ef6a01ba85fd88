"""Fetching a recording from the API server (``stenograph.pipeline.fetch``), against httpx.MockTransport."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from stenograph.errors import PermanentError, RetryableError, TaskCancelled
from stenograph.pipeline.fetch import cache_dir, local_recording
from stenograph.settings import Settings, build_settings

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
        local_recording(settings, row(), task_id=3, transport=server.transport)
    assert caught.value.retryable
    assert leftovers(settings) == []


def test_an_unreachable_server_is_retryable(tmp_path: Path) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(RetryableError, match="ConnectError"):
        local_recording(make_settings(tmp_path), row(), task_id=3, transport=Server(refuse).transport)


def test_a_recording_gone_from_the_server_is_permanent(tmp_path: Path) -> None:
    server = Server(lambda _request: httpx.Response(404))
    with pytest.raises(PermanentError, match="no file for recording 7"):
        local_recording(make_settings(tmp_path), row(), task_id=3, transport=server.transport)


def truncated(body: bytes, declared: int) -> Callable[[httpx.Request], httpx.Response]:
    """A response that declares ``declared`` bytes but sends ``body``: a connection cut mid-transfer."""

    def chunks() -> Iterator[bytes]:
        yield body

    return lambda _request: httpx.Response(200, headers={"content-length": str(declared)}, content=chunks())


def test_a_truncated_body_is_retryable_and_leaves_nothing(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    server = Server(truncated(BODY[:1000], len(BODY)))
    with pytest.raises(RetryableError, match=f"stopped after 1000 of {len(BODY)} bytes"):
        local_recording(settings, row(), task_id=3, transport=server.transport)
    assert leftovers(settings) == []


def test_a_short_body_without_length_is_checked_against_the_stored_size(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)

    def chunks() -> Iterator[bytes]:
        yield BODY[:10]

    server = Server(lambda _request: httpx.Response(200, content=chunks()))  # chunked: no Content-Length
    with pytest.raises(RetryableError, match=f"stopped after 10 of {len(BODY)} bytes"):
        local_recording(settings, row(), task_id=3, transport=server.transport)
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
