"""Import from a URL (docs/url-import.md): the download step against a local HTTP server (a direct media
link, an HTML page embedding one, the upload size limit, refused schemes and addresses), and one import
end to end through the API and a worker process (download, then a real transcription)."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from stenograph.api.app import create_app
from stenograph.errors import PermanentError, TaskCancelled
from stenograph.net_guard import RefusedAddress, check_url, guarded_resolution
from stenograph.queue import TaskQueue
from stenograph.recordings.store import TranscriptStore
from stenograph.settings import Settings
from stenograph.steps.base import StepContext, run_step
from stenograph.steps.registry import get_step
from tests.audio_factory import AudioFactory
from tests.download.media_server import serving
from tests.helpers import start_worker, stop_process, wait_for
from tests.steps.conftest import FakeTask

PAGE = """<!doctype html><html><head><title>Weekly meeting</title></head>
<body><h1>Weekly meeting</h1><video controls src="speech.mp4"></video></body></html>"""


@pytest.fixture
def site(audio: AudioFactory, tmp_path: Path) -> Iterator[str]:
    """A local site: ``/speech.wav``, ``/speech.mp4`` (audio only) and ``/page.html`` embedding the mp4."""
    import subprocess

    folder = tmp_path / "site"
    folder.mkdir()
    wav = audio.speech_wav("Hello from the imported recording.", name="imported")
    shutil.copy(wav, folder / "speech.wav")
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(wav), "-c:a", "aac", str(folder / "speech.mp4")], check=True
    )
    (folder / "page.html").write_text(PAGE, encoding="utf-8")
    with serving(folder) as base:
        yield base


def download(
    settings: Settings, engine: Any, url: str, *, cancelled: bool = False
) -> tuple[dict[str, Any], dict[str, Any], FakeTask]:
    """Run the download step in this process for a new recording of ``url``; returns (result, recording)."""
    store = TranscriptStore(engine)
    recording_id = store.create_recording(
        name=url, stored_name="imported-1", size_bytes=0, duration_s=None, media={}, options={}, source_url=url
    )
    task = TaskQueue(engine, settings).enqueue("download", {"recording_id": recording_id, "url": url})
    fake = FakeTask(settings, task_id=task.id, task_type="download", cancelled=cancelled)
    result = run_step(get_step("download"), StepContext(fake, store=store), {"recording_id": recording_id, "url": url})
    return result, store.recording(recording_id), fake


def test_a_direct_media_link_is_downloaded_probed_and_recorded(make_settings: Any, engine: Any, site: str) -> None:
    settings = make_settings(url_import_allow_private=True)
    settings.uploads_dir.mkdir(parents=True, exist_ok=True)
    result, recording, fake = download(settings, engine, f"{site}/speech.wav")
    stored = settings.uploads_dir / "imported-1"
    assert stored.stat().st_size == recording["size_bytes"] == result["size_bytes"] > 1000
    assert recording["media"]["audio_codec"] == "pcm_s16le" and recording["duration_s"] > 1
    assert recording["source_url"] == f"{site}/speech.wav" and recording["source_title"] == "speech"
    assert recording["name"] == "speech"  # named by its title once downloaded
    assert any(fraction > 0 for fraction, _ in fake.progress)
    assert not list(settings.uploads_dir.glob("*.download*"))  # no partial file left


def test_a_page_that_embeds_media_is_imported_through_the_generic_extractor(
    make_settings: Any, engine: Any, site: str
) -> None:
    settings = make_settings(url_import_allow_private=True)
    settings.uploads_dir.mkdir(parents=True, exist_ok=True)
    result, recording, _ = download(settings, engine, f"{site}/page.html")
    assert result["extractor"] in ("Generic", "HTML5MediaEmbed")  # the generic path's HTML5 <video> finder
    assert recording["media"]["audio_codec"] == "aac"
    assert recording["source_title"].startswith("Weekly meeting")  # yt-dlp names the page's first media "(1)"


def test_a_download_over_the_upload_limit_fails_for_good(make_settings: Any, engine: Any, site: str) -> None:
    settings = make_settings(url_import_allow_private=True, max_upload_bytes=1000)
    settings.uploads_dir.mkdir(parents=True, exist_ok=True)
    with pytest.raises(PermanentError, match="upload limit"):
        download(settings, engine, f"{site}/speech.wav")
    assert not list(settings.uploads_dir.iterdir())  # neither the file nor a partial one


def test_a_cancelled_download_stops_and_a_missing_page_fails_for_good(
    make_settings: Any, engine: Any, site: str
) -> None:
    settings = make_settings(url_import_allow_private=True)
    settings.uploads_dir.mkdir(parents=True, exist_ok=True)
    with pytest.raises(TaskCancelled):
        download(settings, engine, f"{site}/speech.wav", cancelled=True)
    with pytest.raises(PermanentError, match="404"):
        download(settings, engine, f"{site}/missing.wav")
    assert not list(settings.uploads_dir.iterdir())


def test_loopback_is_refused_at_connection_time_unless_allowed(make_settings: Any, engine: Any, site: str) -> None:
    """Without the setting the step's own connection is refused (the address is checked after name
    resolution, at each connection: a redirect is one more connection)."""
    settings = make_settings()
    settings.uploads_dir.mkdir(parents=True, exist_ok=True)
    with pytest.raises(PermanentError, match="loopback, private or reserved"):
        download(settings, engine, f"{site}/redirect?to={site}/speech.wav")
    with guarded_resolution(allow_private=False), pytest.raises(RefusedAddress):
        socket.getaddrinfo("localhost", 80)
    with guarded_resolution(allow_private=False), pytest.raises(RefusedAddress):
        socket.getaddrinfo("10.1.2.3", 80)
    assert socket.getaddrinfo("localhost", 80)  # outside the block (another thread's database) untouched
    for url in ("file:///etc/passwd", "ftp://example.org/a.mp3", "javascript:alert(1)", "http://"):
        with pytest.raises(RefusedAddress):
            check_url(url)


def test_an_import_through_the_api_is_downloaded_then_transcribed(
    make_settings: Any, site: str, tmp_path: Path
) -> None:
    settings = make_settings(url_import_allow_private=True)
    with TestClient(create_app(settings), base_url="http://localhost") as client:
        refused = client.post("/recordings", files={"url": (None, "file:///etc/passwd")})
        assert refused.status_code == 422 and "http" in refused.json()["detail"]["message"]
        strict = make_settings()
        with TestClient(create_app(strict, migrate=False), base_url="http://localhost") as other:
            private = other.post("/recordings", files={"url": (None, f"{site}/speech.wav")})
            assert private.status_code == 422 and "private" in private.json()["detail"]["message"]
        answer = client.post(
            "/recordings", files={"url": (None, f"{site}/page.html"), "steps": (None, "transcription")}
        )
        assert answer.status_code == 201, answer.text
        (created,) = answer.json()["data"]
        assert created["source_url"] == f"{site}/page.html"
        assert [t["type"] for t in created["tasks"]] == ["download", "transcription"]
        assert created["tasks"][1]["depends_on"] == created["tasks"][0]["id"]
        worker = start_worker(settings, tmp_path / "worker.log")
        try:
            done = wait_for(
                lambda: (
                    (r := client.get(f"/recordings/{created['id']}").json())["steps"].get("transcription")
                    in ("completed", "failed")
                    and r
                ),
                timeout=150,
                what="the import's transcription",
            )
        finally:
            stop_process(worker)
        assert done["steps"] == {"download": "completed", "transcription": "completed"}, done
        assert done["source_title"].startswith("Weekly meeting") and done["name"] == done["source_title"]
        text = client.get(f"/recordings/{created['id']}/transcript").json()
        words = " ".join(segment["text"] for segment in text["segments"]).lower()
        assert "imported" in words or "recording" in words, words


def test_every_redirect_is_checked_after_name_resolution(
    make_settings: Any, engine: Any, site: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The local server stands for a public one (127.0.0.1 passes the guard here): a redirect to it is
    followed, and a redirect to another loopback address (127.0.0.2) is refused at its connection."""
    from stenograph import net_guard as guard

    original = guard.check_address

    def public_here(address: str, setting: str = guard.IMPORT_SETTING) -> None:
        if address != "127.0.0.1":
            original(address, setting)

    monkeypatch.setattr(guard, "check_address", public_here)
    settings = make_settings()  # private addresses refused
    settings.uploads_dir.mkdir(parents=True, exist_ok=True)
    port = site.rsplit(":", 1)[1]
    result, _, _ = download(settings, engine, f"{site}/redirect?to={site}/speech.wav")
    assert result["size_bytes"] > 1000
    with pytest.raises(PermanentError, match=r"127\.0\.0\.2 is a loopback, private or reserved address"):
        download(settings, engine, f"{site}/redirect?to=http://127.0.0.2:{port}/speech.wav")


def test_a_host_name_too_long_for_the_idna_codec_is_a_422_refused_url(make_settings: Any) -> None:
    """A 3000-character label (the IDNA codec raises UnicodeError on it, in name resolution too) and a name
    over 253 characters are refused URLs, through the API as well (422 refused_url, not 500)."""
    long_label = "http://" + "a" * 3000 + ".com/"
    long_name = "http://" + ".".join(["a" * 60] * 5) + ".com/"
    for url in (long_label, long_name):
        with pytest.raises(RefusedAddress, match="host"):
            check_url(url)
    assert check_url("https://bücher.example/a.mp3") == "https://bücher.example/a.mp3"
    with TestClient(create_app(make_settings()), base_url="http://localhost") as client:
        answer = client.post("/recordings", files={"url": (None, long_label)})
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"]["code"] == "refused_url"


def test_a_redirect_to_a_file_url_fails_for_good_with_a_clear_message(
    make_settings: Any, engine: Any, site: str
) -> None:
    settings = make_settings(url_import_allow_private=True)
    settings.uploads_dir.mkdir(parents=True, exist_ok=True)
    with pytest.raises(PermanentError, match="refused: redirect to a file: URL") as refused:
        download(settings, engine, f"{site}/redirect?to=file:///etc/passwd")
    assert refused.value.kind == "refused_url" and not refused.value.retryable
    assert not list(settings.uploads_dir.iterdir())
