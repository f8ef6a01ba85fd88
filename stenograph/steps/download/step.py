"""The download step: fetch an imported recording's media from its URL with yt-dlp (docs/url-import.md).

Params: ``{"recording_id", "url"}``. A submission of a URL creates the recording without a file; this step,
ahead of the transcription (which requires it when it is in the pipeline), downloads the best audio (or
the best format) of a site's page, a page that embeds a media file (yt-dlp's generic extractor) or a
direct media link into the data directory under the recording's stored name, probes it and records its
size, media and title. Progress is reported; a cancel stops it between chunks; network errors are
retried by the queue; over ``STENOGRAPH_MAX_UPLOAD_BYTES``, a refused address, a page without media or a
file that is not media fail for good. Only public addresses are fetched unless
``STENOGRAPH_URL_IMPORT_ALLOW_PRIVATE`` (:mod:`stenograph.net_guard`).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, StrictInt

from stenograph.errors import MediaError, PermanentError, RetryableError, TaskCancelled
from stenograph.steps.base import StepBase, StepContext, StepParams

if TYPE_CHECKING:
    from stenograph.steps.submit import PipelineRequest

__all__ = ["STEP", "DownloadParams", "DownloadStep"]

log = logging.getLogger("stenograph.download")

#: yt-dlp's messages that no retry changes.
#: What yt-dlp's requests handler says of a URL of a scheme it has no adapter for (``file:``, ``ftp:`` ...):
#: only a redirect brings one, since the URL itself passed :func:`~stenograph.net_guard.check_url`.
_NO_ADAPTER = re.compile(r"No connection adapters were found for '([A-Za-z][A-Za-z0-9+.-]*):")
_PERMANENT = ("Unsupported URL", "loopback, private or reserved", "resolves to no address", "HTTP Error 404")


class DownloadParams(StepParams):
    recording_id: StrictInt
    url: str


class DownloadStep(StepBase):
    name: str = "download"
    needs_media: bool = True  # it writes the file into this data directory
    params_model: type[BaseModel] = DownloadParams

    def task_params(self, request: PipelineRequest, recording_id: int | None) -> dict[str, Any]:
        return {"recording_id": recording_id, "url": request.url}

    def run(self, ctx: StepContext, params: DownloadParams) -> dict[str, Any]:
        """Download, probe and record the media.

        Returns:
            ``{"url", "title", "size_bytes", "duration_s", "extractor"}``.

        Raises:
            PermanentError: a refused URL or address, no media at the URL, over the upload limit, not media.
            RetryableError: a network error (the queue retries it).
            TaskCancelled: cancelled.
        """
        from stenograph.net_guard import RefusedAddress, check_url
        from stenograph.steps.submit import clean_name, media_json, probe_upload

        recording = ctx.recording(params.recording_id)
        try:
            url = check_url(params.url)
        except RefusedAddress as exc:
            raise PermanentError(str(exc), kind="refused_url") from exc
        target = ctx.settings.uploads_dir / recording["stored_name"]
        try:
            info, downloaded = _download(ctx, url, target)
            downloaded.replace(target)
        finally:  # a cancelled, refused or failed download leaves no partial file
            for partial in target.parent.glob(target.name + ".download*"):
                partial.unlink(missing_ok=True)
        try:
            media = probe_upload(target)
        except MediaError as exc:
            raise PermanentError(f"what {url} gave is not usable media: {exc}", kind="not_media") from exc
        title = str(info.get("title") or "") or None
        size = target.stat().st_size
        ctx.store.set_downloaded(
            recording["id"],
            size_bytes=size,
            duration_s=media.duration_s,
            media=media_json(media),
            title=title,
            name=clean_name(title) if title and recording["name"] in (url, clean_name(url)) else None,
        )
        return {
            "url": url,
            "title": title,
            "size_bytes": size,
            "duration_s": media.duration_s,
            "extractor": info.get("extractor_key"),
        }


def _download(ctx: StepContext, url: str, target: Path) -> tuple[dict[str, Any], Path]:
    """yt-dlp into ``target.part-<ext>``'s folder; returns the info dict and the file written.

    Raises:
        as :meth:`DownloadStep.run`.
    """
    import yt_dlp  # type: ignore[import-untyped]  # yt-dlp ships no type hints

    from stenograph.net_guard import guarded_resolution

    limit = ctx.settings.max_upload_bytes
    stem = target.with_name(target.name + ".download")

    def on_progress(status: dict[str, Any]) -> None:
        if ctx.cancelled:
            raise TaskCancelled("the download was cancelled")
        done = int(status.get("downloaded_bytes") or 0)
        if done > limit:
            raise PermanentError(f"the download passed the upload limit of {limit} bytes", kind="too_large")
        total = status.get("total_bytes") or status.get("total_bytes_estimate")
        if status.get("status") == "downloading" and total:
            ctx.report_progress(min(done / float(total), 0.99), f"downloading {done} of {int(total)} bytes")

    options: dict[str, Any] = {
        "format": "bestaudio/best",
        "outtmpl": {"default": str(stem) + ".%(ext)s"},
        "noplaylist": True,
        "playlist_items": "1",
        "max_filesize": limit,
        "progress_hooks": [on_progress],
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "cachedir": False,
        "overwrites": True,
        "retries": 2,
        "socket_timeout": 30,
        "logger": log,
    }
    try:
        with guarded_resolution(ctx.settings.url_import_allow_private), yt_dlp.YoutubeDL(options) as ydl:
            info = ydl.extract_info(url, download=True)
    except (yt_dlp.utils.DownloadError, yt_dlp.networking.exceptions.RequestError) as exc:
        message = str(exc)
        scheme = _NO_ADAPTER.search(message)
        if scheme is not None:  # the URL was checked http(s): a redirect led to another scheme
            raise PermanentError(
                f"refused: redirect to a {scheme.group(1).lower()}: URL while downloading {url}", kind="refused_url"
            ) from exc
        if any(marker in message for marker in _PERMANENT):
            raise PermanentError(f"cannot import {url}: {message}", kind="download_refused") from exc
        raise RetryableError(f"downloading {url} failed: {message}", kind="download_failed") from exc
    if info is None:
        raise PermanentError(f"{url} holds no media to import", kind="no_media")
    if info.get("entries") is not None:  # a playlist: its first item
        entries = [entry for entry in info["entries"] if entry]
        if not entries:
            raise PermanentError(f"{url} holds no media to import", kind="no_media")
        info = entries[0]
    written = [Path(d["filepath"]) for d in info.get("requested_downloads") or () if d.get("filepath")]
    written = [path for path in written if path.exists()]
    if not written:
        raise PermanentError(
            f"nothing was downloaded from {url}: larger than the upload limit of {limit} bytes, or no media",
            kind="too_large",
        )
    return dict(info), written[0]


STEP = DownloadStep()
