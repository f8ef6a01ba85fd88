"""A watched folder and its own pipeline options, and how ``STENOGRAPH_WATCH_DIRS`` and the folders stored
through the Settings page are merged (the settings' folders first; a stored folder with the same path is
left out, as the glossary of the settings is used besides the stored one)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, field_validator

from stenograph.errors import echo

#: Export formats: transcript files, and ``md`` for the summary's Markdown (written when a summary exists).
EXPORT_FORMATS: tuple[str, ...] = ("txt", "srt", "vtt", "json", "md")


class WatchFolder(BaseModel):
    """One watched folder: an absolute ``path`` and, optionally, the steps, language and summary template
    its files get instead of the defaults."""

    path: Path = Field(description="Absolute path of the folder (watched with its subfolders).")
    steps: list[str] | None = Field(default=None, description="Steps of its files; default STENOGRAPH_PIPELINE_STEPS.")
    language: str | None = Field(default=None, description="Spoken language of its files; default detected.")
    template: str | None = Field(default=None, description="Summary template of its files.")

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        expanded = value.expanduser()
        if not expanded.is_absolute():
            raise ValueError(f"{echo(str(value))}: a watched folder is an absolute path")
        return expanded

    @field_validator("steps", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    def options(self) -> dict[str, Any]:
        """The fields of :meth:`~stenograph.steps.submit.PipelineRequest.build` this folder sets."""
        chosen = {"steps": self.steps, "language": self.language, "template": self.template}
        return {key: value for key, value in chosen.items() if value}


def parse_folders(value: Iterable[Any]) -> list[WatchFolder]:
    """Folders of strings (paths) or mappings (:class:`WatchFolder` fields).

    Raises:
        pydantic.ValidationError: a relative path or a field of the wrong type.
    """
    return [
        WatchFolder(path=item) if isinstance(item, str | Path) else WatchFolder.model_validate(item) for item in value
    ]


def merge_folders(from_settings: Sequence[WatchFolder], stored: Sequence[WatchFolder]) -> list[WatchFolder]:
    """The folders watched: the settings' ones, then the stored ones whose path is not among them."""
    merged: dict[Path, WatchFolder] = {}
    for folder in [*from_settings, *stored]:
        merged.setdefault(folder.path.resolve(), folder)
    return list(merged.values())
