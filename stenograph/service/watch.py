"""Use cases of watched folders: the folders (of the settings and of the Settings page, merged like the
glossary), changing the stored ones, and the files taken or skipped (docs/watch-folders.md)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from stenograph.errors import ConfigurationError
from stenograph.service.base import ServiceBase
from stenograph.service.errors import ServiceError
from stenograph.steps.submit import PipelineRequest
from stenograph.watch.config import WatchFolder, merge_folders, parse_folders
from stenograph.watch.known import Known, KnownFiles, set_stored_folders, stored_folders

#: Most folders stored through the Settings page.
MAX_WATCH_FOLDERS = 50


@dataclass(frozen=True)
class WatchFoldersView:
    """The stored folders, and those of ``STENOGRAPH_WATCH_DIRS`` (watched as well, first)."""

    folders: list[WatchFolder]
    from_settings: list[WatchFolder]


class WatchUseCases(ServiceBase):
    def watch_folders(self) -> WatchFoldersView:
        """The stored folders and the settings' ones."""
        return WatchFoldersView(parse_folders(stored_folders(self.engine)), list(self.settings.watch_dirs))

    def watched_folders(self) -> list[WatchFolder]:
        """The folders to watch: the settings' ones, then the stored ones with another path."""
        view = self.watch_folders()
        return merge_folders(view.from_settings, view.folders)

    def set_watch_folders(self, folders: Sequence[dict[str, Any]]) -> WatchFoldersView:
        """Replace the stored folders (a front end then reloads its watcher).

        Raises:
            ServiceError: (invalid) more than :data:`MAX_WATCH_FOLDERS`, a relative path, a path that is not an
                existing folder, or options an upload could not have (``invalid_options``).
        """
        if len(folders) > MAX_WATCH_FOLDERS:
            raise ServiceError("invalid", "invalid_watch_folders", f"at most {MAX_WATCH_FOLDERS} watched folders")
        try:
            parsed = parse_folders(folders)
        except ValidationError as exc:
            raise ServiceError("invalid", "invalid_watch_folders", str(exc.errors()[0]["msg"])) from exc
        for folder in parsed:
            if not folder.path.is_dir():
                raise ServiceError("invalid", "invalid_watch_folders", f"{folder.path} is not an existing folder")
            try:
                PipelineRequest.build(self.settings, **folder.options())
            except ConfigurationError as exc:
                raise ServiceError("invalid", "invalid_options", f"{folder.path}: {exc}") from exc
        set_stored_folders(self.engine, [folder.model_dump(mode="json") for folder in parsed])
        return self.watch_folders()

    def watched_files(self) -> list[Known]:
        """Every file taken or skipped, oldest first."""
        return KnownFiles(self.engine).all()
