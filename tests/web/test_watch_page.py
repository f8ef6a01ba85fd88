"""The Settings page's Watched folders section on the real ``stenograph serve``: adding a folder there
makes the API process watch it, a file dropped in becomes a recording (with the folder's steps), and the
section lists the file taken; removing the folder stops the watching."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.audio_factory import AudioFactory
from tests.helpers import wait_for

from .conftest import Server, Watched

pytestmark = pytest.mark.web


def test_a_folder_added_on_the_settings_page_is_watched_by_serve(
    web: Watched, server: Server, tmp_path: Path, audio: AudioFactory
) -> None:
    inbox = tmp_path / "dropbox"
    inbox.mkdir()
    page = web.page
    web.goto("#/settings")
    page.get_by_test_id("watch-add").click()
    folder = page.get_by_test_id("watch-folder").last
    folder.get_by_test_id("watch-path").fill(str(inbox))
    folder.get_by_test_id("watch-steps").fill("transcription")
    page.get_by_test_id("watch-save").click()
    with server.client() as client:
        wait_for(lambda: client.get("/watch-folders").json()["folders"], timeout=20, what="the folder to be saved")
        shutil.copyfile(audio.make("wav_s16_16k"), inbox / "dropped.wav")

        def taken() -> list[dict[str, object]]:
            return [r for r in client.get("/recordings").json()["data"] if r["name"] == "dropped.wav"]

        [recording] = wait_for(taken, timeout=60, interval=0.2, what="the dropped file to be taken")
        assert list(recording["steps"]) == ["transcription"]  # type: ignore[call-overload]
        page.reload()  # the section lists the file taken
        expect(page.get_by_test_id("watched-file").first).to_have_attribute("data-status", "submitted")
        page.get_by_test_id("watch-folder").last.get_by_test_id("watch-remove").click()
        page.get_by_test_id("watch-save").click()
        wait_for(lambda: client.get("/watch-folders").json()["folders"] == [], timeout=20, what="the removal")
    assert web.errors_except() == []
