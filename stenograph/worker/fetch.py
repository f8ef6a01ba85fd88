"""A recording's file for a task: from the data directory, or fetched from the API server.

Workers on the API server's machine (or sharing its data directory) read uploads in
``data_dir/recordings``. A worker on another machine has no such file: with ``STENOGRAPH_SERVER_URL`` set it
downloads ``GET {server_url}/recordings/{id}/media`` with ``Authorization: Bearer <STENOGRAPH_API_TOKEN>``,
streamed in chunks to a temporary file in ``data_dir/fetched`` and renamed into place once its size is
verified. The copy is named after the task (``<task id>-<stored name>``), so that a retry of the same task
on this worker reuses it and no two tasks share one; :meth:`LocalRecording.discard` removes it when the
task ends, whatever its outcome.

Errors follow the queue's retry rules: a refused token, a recording the server no longer has, or a file
whose size disagrees with the recording's are :class:`~stenograph.errors.PermanentError`; a server that
cannot be reached, times out, answers 5xx or cuts the transfer short is a
:class:`~stenograph.errors.RetryableError`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from stenograph.datadir import data_dir_id
from stenograph.errors import ConfigurationError, PermanentError, RetryableError, TaskCancelled, WrongWorker
from stenograph.settings import Settings

log = logging.getLogger("stenograph.fetch")

#: Bytes read from the response and written to disk at once.
CHUNK_BYTES = 1024 * 1024
#: Seconds to connect, and to wait for each chunk of the response, before the attempt is retried.
CONNECT_TIMEOUT_SECONDS = 10.0
READ_TIMEOUT_SECONDS = 60.0
#: Seconds between two progress reports during a download.
PROGRESS_EVERY_SECONDS = 1.0
#: Seconds a task keeps trying an API server that fails transiently before its attempt fails (a server
#: restart then costs no attempt); the waits between tries double from 1 s up to 30 s.
PATIENCE_SECONDS = 300.0
FIRST_WAIT_SECONDS = 1.0
MAX_WAIT_SECONDS = 30.0
#: HTTP statuses worth another attempt besides 5xx: request timeout, too many requests.
RETRYABLE_STATUSES = frozenset({408, 429})


def cache_dir(settings: Settings) -> Path:
    """The folder of fetched recordings: ``data_dir/fetched``."""
    return settings.data_dir / "fetched"


def stored_path(settings: Settings, stored_name: str) -> Path:
    """Where the API server keeps an upload: ``data_dir/recordings/<stored name>``."""
    return settings.uploads_dir / stored_name


@dataclass(frozen=True)
class LocalRecording:
    """A recording's file on this machine.

    Attributes:
        path: the file to read.
        fetched: True when it was downloaded from the API server (``path`` is then this task's copy).
    """

    path: Path
    fetched: bool

    def discard(self) -> None:
        """Delete the fetched copy (nothing for a file of the data directory). Never raises."""
        if self.fetched:
            with contextlib.suppress(OSError):
                self.path.unlink(missing_ok=True)


def local_recording(
    settings: Settings,
    recording: dict[str, Any],
    *,
    task_id: int,
    should_stop: Callable[[], bool] = lambda: False,
    on_progress: Callable[[int, int | None], None] | None = None,
    on_wait: Callable[[str], None] | None = None,
    patience_s: float = PATIENCE_SECONDS,
    transport: httpx.BaseTransport | None = None,
) -> LocalRecording:
    """The file of ``recording`` (a row of the recordings table: ``id``, ``stored_name``, ``size_bytes``).

    The data directory's file when present; else this task's fetched copy when already complete (a retry);
    else a download from ``settings.server_url``.

    Args:
        settings: ``data_dir``, ``server_url`` and ``api_token`` are used.
        recording: the recording's row.
        task_id: the task the file is for (names the fetched copy).
        should_stop: polled between chunks; True stops the download.
        on_progress: called with (bytes received, bytes expected or None) at most once a second.
        on_wait: called with a message each time a failed download is to be tried again.
        patience_s: seconds to keep trying a server that cannot be reached, times out, answers 5xx or
            cuts the transfer short (waits of 1, 2, 4... up to 30 s between tries) before raising.
        transport: an httpx transport (tests pass ``httpx.MockTransport``); default the network.

    Raises:
        WrongWorker: the file is in another data directory (the recording's ``store_id``) and no server URL
            is set: another worker must run the task.
        PermanentError: the file is missing and no server URL is set; or the server refused the token,
            has no such recording, or sent a file of another size than the recording's.
        RetryableError: the server could not be reached, timed out, answered 5xx (or 408/429), cut the
            transfer short, or the file could not be written here, for longer than ``patience_s``.
        TaskCancelled: ``should_stop`` became true during the download or a wait.
    """
    stored_name = str(recording["stored_name"])
    local = stored_path(settings, stored_name)
    if local.is_file():
        return LocalRecording(local, fetched=False)
    if not settings.server_url:
        raise _not_here(settings, recording, local)
    expected = recording.get("size_bytes")
    target = cache_dir(settings) / f"{task_id}-{stored_name}"
    if target.is_file() and (not expected or target.stat().st_size == expected):
        return LocalRecording(target, fetched=True)
    began = time.monotonic()
    size = _download_patiently(
        settings,
        int(recording["id"]),
        target,
        expected_bytes=int(expected) if expected else None,
        should_stop=should_stop,
        on_progress=on_progress,
        on_wait=on_wait,
        patience_s=patience_s,
        transport=transport,
    )
    log.info(
        "fetched recording %s from %s: %d bytes in %.1f s",
        recording["id"],
        settings.server_url,
        size,
        time.monotonic() - began,
    )
    return LocalRecording(target, fetched=True)


def _not_here(settings: Settings, recording: dict[str, Any], local: Path) -> WrongWorker | PermanentError:
    """The error for a recording whose file ``local`` is missing on a worker with no server URL to fetch it.

    :class:`~stenograph.errors.WrongWorker` when the recording's ``store_id`` names another data directory
    (a worker of that one must run the task); else :class:`~stenograph.errors.PermanentError` (``missing_file``).
    """
    home = data_dir_id(settings.data_dir)
    elsewhere = recording.get("store_id")
    if elsewhere and elsewhere != home:
        return WrongWorker(
            f"the file of recording {recording['id']} is in another data directory (id {elsewhere}) than this "
            f"worker's ({settings.data_dir}, id {home}); a worker of that data directory, or one with "
            "STENOGRAPH_SERVER_URL (--server-url) to fetch files from the API server, must run it",
            affinity=elsewhere,
        )
    return PermanentError(
        f"the file of recording {recording['id']} is not in this worker's data directory ({local}); "
        "a worker on another machine than the API server needs STENOGRAPH_SERVER_URL (or --server-url) "
        "to fetch recordings from it",
        kind="missing_file",
    )


def _download_patiently(
    settings: Settings,
    recording_id: int,
    target: Path,
    *,
    expected_bytes: int | None,
    should_stop: Callable[[], bool],
    on_progress: Callable[[int, int | None], None] | None,
    on_wait: Callable[[str], None] | None,
    patience_s: float,
    transport: httpx.BaseTransport | None,
) -> int:
    """:func:`download` to ``target``, tried again after each :class:`~stenograph.errors.RetryableError`
    (waits of 1, 2, 4... up to 30 s, reported to ``on_wait``) for up to ``patience_s`` seconds in all.

    Returns:
        The bytes written.

    Raises:
        RetryableError: the last try's, once ``patience_s`` has run out.
        PermanentError: as :func:`download`, at once.
        TaskCancelled: ``should_stop`` became true during a download or a wait.
    """
    began = time.monotonic()
    delay = FIRST_WAIT_SECONDS
    while True:
        try:
            return download(
                settings,
                recording_id,
                target,
                expected_bytes=expected_bytes,
                should_stop=should_stop,
                on_progress=on_progress,
                transport=transport,
            )
        except RetryableError as exc:
            # A restarting API server should not use up the task's attempts: wait for it (with backoff)
            # up to ``patience_s``, then leave the retry to the queue.
            left = patience_s - (time.monotonic() - began)
            if left <= 0:
                raise
            delay = min(delay, left)
            log.warning("%s; trying again in %.0f s", exc, delay)
            if on_wait is not None:
                on_wait(f"waiting for the API server ({exc}); trying again in {delay:.0f} s")
            _pause(delay, should_stop)
            delay = min(delay * 2, MAX_WAIT_SECONDS)


def check_server(settings: Settings, transport: httpx.BaseTransport | None = None) -> None:
    """A worker's start-up check of ``settings.server_url``: a Stenograph API answers there, accepts the
    token, and uses the same kind of database as this worker. A server that cannot be reached now is only
    logged (it may be restarting; fetches wait for it). Nothing is checked without a server URL.

    Raises:
        ConfigurationError: no Stenograph API at the URL, the token is refused, or the server's database
            is PostgreSQL while this worker's is SQLite (its own queue, which the server never sees).
    """
    if not settings.server_url:
        return
    base = settings.server_url.rstrip("/")
    headers = {"Authorization": f"Bearer {settings.api_token}"} if settings.api_token else {}
    timeout = httpx.Timeout(READ_TIMEOUT_SECONDS, connect=CONNECT_TIMEOUT_SECONDS)
    try:
        with httpx.Client(headers=headers, timeout=timeout, transport=transport) as client:
            health = client.get(f"{base}/health")
            body = health.json() if health.status_code == 200 else None
            if not isinstance(body, dict) or body.get("status") != "ok":
                raise ConfigurationError(
                    f"no Stenograph API answers at {base} (GET /health: HTTP {health.status_code}); "
                    "check STENOGRAPH_SERVER_URL (--server-url)"
                )
            if body.get("database") == "postgresql" and settings.is_sqlite:
                raise ConfigurationError(
                    f"the API server at {base} keeps its tasks in PostgreSQL but this worker uses SQLite "
                    f"({settings.resolved_database_url}), a queue of its own the server never sees: give the "
                    "worker the server's database (--database-url or STENOGRAPH_DATABASE_URL)"
                )
            status = client.get(f"{base}/workers").status_code
    except httpx.RequestError as exc:
        log.warning("the API server at %s does not answer now (%s); recordings are fetched when it does", base, exc)
        return
    except ValueError as exc:  # a body that is not JSON: not our API
        raise ConfigurationError(f"no Stenograph API answers at {base}: {exc}; check STENOGRAPH_SERVER_URL") from exc
    if status in (401, 403):
        hint = "it must be the server's" if headers else "the worker sends none: set it to the server's"
        raise ConfigurationError(f"the API server at {base} refused STENOGRAPH_API_TOKEN (HTTP {status}): {hint}")


def media_url(server_url: str, recording_id: int) -> str:
    """``{server_url}/recordings/{id}/media`` (the server URL may carry a path prefix)."""
    return f"{server_url.rstrip('/')}/recordings/{recording_id}/media"


def download(
    settings: Settings,
    recording_id: int,
    target: Path,
    *,
    expected_bytes: int | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    on_progress: Callable[[int, int | None], None] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> int:
    """Download the recording's file from ``settings.server_url`` to ``target``; returns its size in bytes.

    The body is written to a temporary file beside ``target`` and renamed to it only once complete, so
    ``target`` is either absent or whole. Its size must match the response's Content-Length and
    ``expected_bytes`` (the size stored at upload) when they are known.

    Raises:
        ValueError: ``settings.server_url`` is not set.
        PermanentError, RetryableError, TaskCancelled: as :func:`local_recording`.
    """
    if not settings.server_url:
        raise ValueError("settings.server_url is not set")
    url = media_url(settings.server_url, recording_id)
    headers = {"Authorization": f"Bearer {settings.api_token}"} if settings.api_token else {}
    timeout = httpx.Timeout(READ_TIMEOUT_SECONDS, connect=CONNECT_TIMEOUT_SECONDS)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RetryableError(f"cannot create {target.parent} for fetched recordings: {exc}", kind="disk_error") from exc
    try:
        with (
            httpx.Client(headers=headers, timeout=timeout, transport=transport, follow_redirects=False) as client,
            client.stream("GET", url) as response,
        ):
            _check_status(response, url, recording_id, token_sent=bool(headers))
            declared = _content_length(response)
            if declared is not None and expected_bytes is not None and declared != expected_bytes:
                raise PermanentError(
                    f"{url} sends {declared} bytes but recording {recording_id} was uploaded with "
                    f"{expected_bytes}: the worker and the API server do not see the same recording "
                    "(same database?)",
                    kind="fetch_mismatch",
                )
            return _save(response, target, declared or expected_bytes, should_stop, on_progress, url)
    except httpx.RequestError as exc:
        raise RetryableError(
            f"cannot fetch recording {recording_id} from {url}: {type(exc).__name__}: {exc}", kind="server_unreachable"
        ) from exc


def _check_status(response: httpx.Response, url: str, recording_id: int, *, token_sent: bool) -> None:
    status = response.status_code
    if status == 200:
        return
    if status in (401, 403):
        hint = (
            "the worker's STENOGRAPH_API_TOKEN must be the server's"
            if token_sent
            else "the worker sends none: set STENOGRAPH_API_TOKEN to the server's token"
        )
        raise PermanentError(
            f"the API server refused the worker's token (HTTP {status} from {url}): {hint}", kind="unauthorized"
        )
    if status == 404:
        if _stenograph_error(response) == "not_found":
            raise PermanentError(
                f"the API server has no file for recording {recording_id} (HTTP 404 from {url})", kind="missing_file"
            )
        raise PermanentError(
            f"no Stenograph API answers at {url} (HTTP 404): check STENOGRAPH_SERVER_URL", kind="bad_server_url"
        )
    if response.is_redirect:
        where = response.headers.get("location", "?")
        raise PermanentError(
            f"{url} redirects to {where} (HTTP {status}); the token is not sent across a redirect: set "
            "STENOGRAPH_SERVER_URL to the address that answers",
            kind="bad_server_url",
        )
    if status >= 500 or status in RETRYABLE_STATUSES:
        raise RetryableError(
            f"the API server could not send recording {recording_id}: HTTP {status} from {url}", kind="server_error"
        )
    raise PermanentError(f"unexpected HTTP {status} from {url} fetching recording {recording_id}", kind="fetch_failed")


def _content_length(response: httpx.Response) -> int | None:
    value = response.headers.get("content-length")
    if value is None or response.headers.get("content-encoding") not in (None, "identity"):
        return None  # a compressed body's length is not the file's
    try:
        return int(value)
    except ValueError:
        return None


def _save(
    response: httpx.Response,
    target: Path,
    expected: int | None,
    should_stop: Callable[[], bool],
    on_progress: Callable[[int, int | None], None] | None,
    url: str,
) -> int:
    """Stream the body into a temporary file beside ``target``, check its size, rename it to ``target``."""
    received = 0
    last_report = time.monotonic()
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            for chunk in response.iter_bytes(CHUNK_BYTES):
                if should_stop():
                    raise TaskCancelled("cancelled while fetching the recording from the API server")
                out.write(chunk)
                received += len(chunk)
                now = time.monotonic()
                if on_progress is not None and now - last_report >= PROGRESS_EVERY_SECONDS:
                    on_progress(received, expected)
                    last_report = now
        if expected is not None and received < expected:
            raise RetryableError(
                f"the transfer from {url} stopped after {received} of {expected} bytes", kind="fetch_incomplete"
            )
        if expected is not None and received > expected:
            message = f"{url} sent {received} bytes, more than the {expected} expected"
            raise PermanentError(message, kind="fetch_mismatch")
        os.replace(temporary, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise RetryableError(f"cannot write the fetched recording to {target}: {exc}", kind="disk_error") from exc
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    if on_progress is not None:
        on_progress(received, expected)
    return received


def _stenograph_error(response: httpx.Response) -> str | None:
    """The ``detail.code`` of a Stenograph API error body (``{"detail": {"code": ...}}``), else None."""
    try:
        response.read()
        detail = response.json().get("detail")
    except (ValueError, AttributeError, httpx.HTTPError):
        return None
    return detail.get("code") if isinstance(detail, dict) else None


def _pause(seconds: float, should_stop: Callable[[], bool]) -> None:
    """Wait ``seconds``, looking at ``should_stop`` every 0.2 s.

    Raises:
        TaskCancelled: ``should_stop`` became true.
    """
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if should_stop():
            raise TaskCancelled("cancelled while waiting for the API server")
        time.sleep(min(0.2, left))
    if should_stop():
        raise TaskCancelled("cancelled while waiting for the API server")
