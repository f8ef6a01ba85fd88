"""``/watch-folders``: the watched folders (docs/watch-folders.md), stored like the glossary and merged with
``STENOGRAPH_WATCH_DIRS``, and the files taken or skipped from them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from stenograph.api.schemas import ERROR_RESPONSES
from stenograph.api.state import ServiceDep
from stenograph.service.watch import WatchFoldersView

router = APIRouter(prefix="/watch-folders", tags=["watch folders"], responses=ERROR_RESPONSES)


class FolderBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="Absolute path of an existing folder, watched with its subfolders.", max_length=4096)
    steps: list[str] | None = Field(default=None, description="Steps of its files; default the pipeline's.")
    language: str | None = Field(default=None, description="Spoken language of its files; default detected.")
    template: str | None = Field(default=None, description="Summary template of its files.")


class WatchFoldersBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    folders: list[FolderBody] = Field(description="The folders stored (STENOGRAPH_WATCH_DIRS' are kept as well).")


class WatchedFilePublic(BaseModel):
    sha256: str
    path: str = Field(description="Where the content was last seen.")
    status: str = Field(description="submitted, skipped (not media: reason) or taking.")
    recording_id: int | None
    reason: str | None


class WatchFoldersPublic(BaseModel):
    folders: list[dict[str, Any]] = Field(description="The stored folders.")
    from_settings: list[dict[str, Any]] = Field(description="STENOGRAPH_WATCH_DIRS' folders, watched as well.")
    files: list[WatchedFilePublic] = Field(description="Files taken or skipped, newest first (at most 200).")


def _public(view: WatchFoldersView, service: ServiceDep) -> WatchFoldersPublic:
    files = [
        WatchedFilePublic(sha256=f.sha256, path=f.path, status=f.status, recording_id=f.recording_id, reason=f.reason)
        for f in reversed(service.watched_files()[-200:])
    ]
    return WatchFoldersPublic(
        folders=[f.model_dump(mode="json") for f in view.folders],
        from_settings=[f.model_dump(mode="json") for f in view.from_settings],
        files=files,
    )


@router.get("", operation_id="get_watch_folders", response_model=WatchFoldersPublic)
def get_watch_folders(service: ServiceDep) -> WatchFoldersPublic:
    """The watched folders and the files taken from them."""
    return _public(service.watch_folders(), service)


@router.put("", operation_id="set_watch_folders", response_model=WatchFoldersPublic)
def set_watch_folders(body: WatchFoldersBody, request: Request, service: ServiceDep) -> WatchFoldersPublic:
    """Replace the stored folders and watch them from now on. 422: a relative path, one that is not an
    existing folder, or options an upload could not have."""
    view = service.set_watch_folders([folder.model_dump(exclude_none=True) for folder in body.folders])
    request.app.state.watch.reload(service.watched_folders())
    return _public(view, service)
