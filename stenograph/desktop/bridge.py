"""The js_api of the window: native open-file and save-export dialogs, reached from the page as
``window.pywebview.api.open_files()`` and ``window.pywebview.api.save_export(id, "srt")``.

pywebview runs these methods in a thread of its own and hands their return value to the page's promise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import httpx

#: The media the open dialog offers (pywebview's "Description (*.a;*.b)" filter syntax), then everything.
MEDIA_FILTER = (
    "Audio and video (*.wav;*.mp3;*.m4a;*.ogg;*.opus;*.flac;*.webm;*.mp4;*.mkv;*.mov)",
    "All files (*.*)",
)
EXPORT_FORMATS = ("txt", "srt", "vtt", "json")


def raise_refusal(response: httpx.Response, what: str) -> None:
    """Raise for a 4xx or 5xx answer, with the server's own words: ``"415 talk.exe: <detail.message>"``
    (the page shows what follows the status; the reason phrase when the body has no message).

    Raises:
        httpx.HTTPStatusError: the answer was not a success.
    """
    if response.is_success:
        return
    try:
        body = response.json()
    except ValueError:
        body = None
    detail = body.get("detail") if isinstance(body, dict) else None
    message = detail.get("message") if isinstance(detail, dict) else detail
    text = message if isinstance(message, str) and message.strip() else response.reason_phrase
    raise httpx.HTTPStatusError(f"{response.status_code} {what}: {text}", request=response.request, response=response)


class DialogWindow(Protocol):
    """The part of ``webview.Window`` the bridge uses."""

    def create_file_dialog(
        self,
        dialog_type: int = ...,
        directory: str = ...,
        allow_multiple: bool = ...,
        save_filename: str = ...,
        file_types: tuple[str, ...] = ...,
    ) -> Any:
        """Paths chosen (a sequence, or None when cancelled)."""


class DesktopApi:
    """Methods the page may call; ``client``: an httpx client on the API's base URL."""

    def __init__(self, client: httpx.Client, open_dialog: int = 10, save_dialog: int = 30) -> None:
        self._client = client
        self._window: DialogWindow | None = None
        self._open_dialog = open_dialog  # webview.OPEN_DIALOG, webview.SAVE_DIALOG
        self._save_dialog = save_dialog

    def attach(self, window: DialogWindow) -> None:
        """The window whose dialogs to open (set once it exists)."""
        self._window = window

    def open_files(self, fields: dict[str, Any] | None = None) -> list[int]:
        """Ask for media files in a native dialog and upload each: the new recordings' ids ([] if cancelled).

        ``fields``: the upload's form fields as the Upload page sends them (``steps``, ``language``...);
        empty and null values are left out.

        Raises:
            httpx.HTTPStatusError: the API refused a file (413, 415, 507...): ``"415 name: the server's message"``;
            the files before it are uploaded.
        """
        assert self._window is not None, "attach() a window first"
        chosen = self._window.create_file_dialog(self._open_dialog, allow_multiple=True, file_types=MEDIA_FILTER)
        form = {str(k): str(v) for k, v in (fields or {}).items() if v is not None and v != ""}
        ids: list[int] = []
        for name in chosen or ():
            path = Path(name)
            with path.open("rb") as handle:
                response = self._client.post(
                    "/recordings", files={"file": (path.name, handle)}, data=form, timeout=None
                )
            raise_refusal(response, path.name)
            ids.extend(int(item["id"]) for item in response.json()["data"])
        return ids

    def save_export(self, recording_id: int, format: str = "srt") -> str | None:
        """Ask where to save the transcript of ``recording_id`` as ``format`` (txt, srt, vtt, json) in a
        native save dialog, and write it there: the path written, None when cancelled.

        Raises:
            ValueError: an unknown format. httpx.HTTPStatusError: no such recording or transcript.
        """
        assert self._window is not None, "attach() a window first"
        if format not in EXPORT_FORMATS:
            raise ValueError(f"format must be one of {', '.join(EXPORT_FORMATS)}")
        response = self._client.get(
            f"/recordings/{int(recording_id)}/transcript", params={"format": format, "download": "true"}
        )
        raise_refusal(response, f"recording {int(recording_id)}")
        recording = self._client.get(f"/recordings/{int(recording_id)}").json()
        suggested = f"{Path(str(recording.get('name', 'transcript'))).stem}.{format}"
        chosen = self._window.create_file_dialog(self._save_dialog, save_filename=suggested)
        if not chosen:
            return None
        target = Path(chosen if isinstance(chosen, str) else chosen[0])
        temporary = target.with_name(f".{target.name}.part")
        temporary.write_bytes(response.content)
        temporary.replace(target)
        return str(target)
