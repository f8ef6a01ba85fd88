"""``stenograph transcribe FILE...``: enqueue files, show a progress bar per file, write the transcripts.

Through the local database by default (a worker is started for the command when none is live), or
through a running server with ``--server-url`` (env ``STENOGRAPH_SERVER_URL``). Exits 1 when any file
failed, naming it and why.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, cast

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from stenograph.settings import Settings

Format = Literal["srt", "vtt", "txt", "json"]
console = Console(stderr=True)
POLL_SECONDS = 0.5


@dataclass
class Job:
    """One file's way through the queue."""

    source: Path
    recording_id: int | None = None
    task_id: int | None = None
    bar: TaskID | None = None
    error: str | None = None
    output: Path | None = None
    done: bool = False

    @property
    def waiting(self) -> bool:
        return self.task_id is not None and not self.done


def output_paths(directory: Path, sources: list[Path], fmt: str) -> list[Path]:
    """One output per input: ``talk.srt``; inputs sharing a stem keep their extension (``talk.mp3.srt``,
    ``talk.wav.srt``), and any remaining clash gets a number, so no output overwrites another."""
    stems = [s.stem for s in sources]
    taken: set[Path] = set()
    paths = []
    for source in sources:
        name = source.name if stems.count(source.stem) > 1 else source.stem
        candidate, number = directory / f"{name}.{fmt}", 2
        while candidate in taken:
            candidate, number = directory / f"{name}-{number}.{fmt}", number + 1
        taken.add(candidate)
        paths.append(candidate)
    return paths


def transcribe(
    files: Annotated[list[Path], typer.Argument(help="Audio or video files.")],
    format: Annotated[str, typer.Option("--format", "-f", help="srt, vtt, txt or json.")] = "srt",
    output_dir: Annotated[Path, typer.Option("--output-dir", "-o", help="Where the transcripts go.")] = Path("."),
    language: Annotated[str | None, typer.Option(help="Language code (default: detect).")] = None,
    model: Annotated[str | None, typer.Option(help="Whisper model name or path (default: the setting).")] = None,
    word_timestamps: Annotated[
        bool,
        typer.Option(
            "--word-timestamps/--no-word-timestamps",
            help="Time each word (subtitle cues are then cut at word times; off: cut by characters, faster).",
        ),
    ] = True,
    task: Annotated[
        str, typer.Option(help="transcribe, or translate (Whisper's translation into English; multilingual model).")
    ] = "transcribe",
    server_url: Annotated[
        str | None, typer.Option(envvar="STENOGRAPH_SERVER_URL", help="A running Stenograph server to use.")
    ] = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Data directory (local mode).")] = None,
) -> None:
    """Transcribe files through the queue and write one transcript per file."""
    from stenograph.cli import _settings

    if format not in ("srt", "vtt", "txt", "json"):
        console.print(f"[red]--format must be srt, vtt, txt or json, not {format!r}[/red]")
        raise typer.Exit(2)
    settings = _settings(data_dir=data_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    jobs = [Job(Path(f)) for f in files]
    for job, path in zip(jobs, output_paths(output_dir, [j.source for j in jobs], format), strict=True):
        job.output = path
        if not job.source.is_file():
            job.error = "no such file"
    if server_url:
        _run_remote(
            jobs,
            server_url.rstrip("/"),
            settings,
            format,
            output_dir,
            language,
            model,
            words=word_timestamps,
            task=task,
        )
    else:
        _run_local(jobs, settings, format, output_dir, language, model, words=word_timestamps, task=task)
    failed = [job for job in jobs if job.error]
    for job in jobs:
        if job.error:
            console.print(f"[red]✗ {job.source}: {job.error}[/red]")
        else:
            console.print(f"[green]✓ {job.source} → {job.output}[/green]")
    raise typer.Exit(1 if failed else 0)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[state]}"),
        console=console,
    )


def _version(task: str) -> str:
    """The transcript version a run of ``task`` writes."""
    return "translation" if task.strip().lower() == "translate" else "original"


def _run_local(
    jobs: list[Job],
    settings: Settings,
    fmt: str,
    output_dir: Path,
    language: str | None,
    model: str | None,
    *,
    words: bool = True,
    task: str = "transcribe",
) -> None:
    from stenograph.service import ServiceError, Stenograph, StoredFile, render_transcript
    from stenograph.steps.submit import new_stored_name

    service = Stenograph.open(settings)
    try:
        request = service.pipeline(
            steps=["transcription"], language=language, model=model, word_timestamps=words, task=task
        )
    except ServiceError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    settings.uploads_dir.mkdir(parents=True, exist_ok=True)
    for job in jobs:
        if job.error:
            continue
        stored = settings.uploads_dir / new_stored_name()
        shutil.copyfile(job.source, stored)
        upload = StoredFile(job.source.name, stored, stored.stat().st_size)
        try:
            [recording] = service.submit_uploads([upload], request)
        except ServiceError as exc:
            job.error = exc.reason
            continue
        assert recording.tasks
        job.recording_id, job.task_id = recording.id, recording.tasks[0].record.id
    worker = None
    if any(job.task_id for job in jobs) and not service.any_worker_live():
        worker = _start_worker(settings)
    try:
        with _progress() as progress:
            for job in jobs:
                if job.task_id:
                    job.bar = progress.add_task(job.source.name, total=1.0, state="pending")
            while any(job.waiting for job in jobs):
                for job in jobs:
                    if not job.waiting or job.bar is None or job.task_id is None:
                        continue
                    record = service.task_record(job.task_id)
                    progress.update(job.bar, completed=min(record.progress, 0.99), state=record.status)
                    if record.status == "completed":
                        assert job.recording_id is not None and job.output is not None
                        job.done = True
                        transcript = service.transcript(job.recording_id, _version(task))
                        job.output.write_text(render_transcript(transcript, cast(Format, fmt)), encoding="utf-8")
                        progress.update(job.bar, completed=1.0, state="completed")
                    elif record.status in ("failed", "cancelled"):
                        job.done = True
                        job.error = record.error_message or record.status
                        progress.update(job.bar, completed=1.0, state=record.status)
                time.sleep(POLL_SECONDS)
    finally:
        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            worker.wait(settings.shutdown_grace_seconds + 10)
        service.close()


def _start_worker(settings: Settings) -> subprocess.Popen[bytes]:
    from stenograph.supervisor import settings_environment

    log = open(os.devnull, "wb")  # noqa: SIM115 - lives as long as the worker
    return subprocess.Popen(
        [sys.executable, "-m", "stenograph.worker"], env=settings_environment(settings), stdout=log, stderr=log
    )


def _run_remote(
    jobs: list[Job],
    url: str,
    settings: Settings,
    fmt: str,
    output_dir: Path,
    language: str | None,
    model: str | None,
    *,
    words: bool = True,
    task: str = "transcribe",
) -> None:
    headers = {"Authorization": f"Bearer {settings.api_token}"} if settings.api_token else {}
    with httpx.Client(base_url=url, headers=headers, timeout=httpx.Timeout(30, read=None)) as client:
        for job in jobs:
            if job.error:
                continue
            data = {"steps": "transcription", "word_timestamps": "true" if words else "false"}
            if language:
                data["language"] = language
            if model:
                data["model"] = model
            if task != "transcribe":
                data["task"] = task
            try:
                with job.source.open("rb") as handle:
                    response = client.post("/recordings", data=data, files={"file": (job.source.name, handle)})
            except httpx.HTTPError as exc:
                job.error = f"cannot reach {url}: {exc}"
                continue
            if response.status_code != 201:
                job.error = _message(response)
                continue
            recording = response.json()["data"][0]
            job.recording_id = recording["id"]
            job.task_id = recording["tasks"][0]["id"]
        with _progress() as progress:
            for job in jobs:
                if job.task_id:
                    job.bar = progress.add_task(job.source.name, total=1.0, state="pending")
            while any(job.waiting for job in jobs):
                for job in jobs:
                    if not job.waiting or job.bar is None:
                        continue
                    state = client.get(f"/tasks/{job.task_id}").json()
                    progress.update(job.bar, completed=min(state["progress"], 0.99), state=state["status"])
                    if state["status"] == "completed":
                        job.done = True
                        body = client.get(
                            f"/recordings/{job.recording_id}/transcript",
                            params={"format": fmt, "version": _version(task), "download": fmt == "json"},
                        )
                        if body.status_code != 200:
                            job.error = f"could not fetch the transcript: {_message(body)}"
                        else:
                            assert job.output is not None
                            job.output.write_text(body.text, encoding="utf-8")
                        progress.update(job.bar, completed=1.0, state="completed")
                    elif state["status"] in ("failed", "cancelled"):
                        job.done = True
                        job.error = (state.get("error") or {}).get("message") or state["status"]
                        progress.update(job.bar, completed=1.0, state=state["status"])
                time.sleep(POLL_SECONDS)


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json()["detail"]["message"])
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code}"
