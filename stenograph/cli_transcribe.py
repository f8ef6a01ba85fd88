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
#: Task statuses that end a task.
ENDED = ("completed", "failed", "cancelled")


@dataclass
class Job:
    """One file's way through the queue."""

    source: Path
    recording_id: int | None = None
    #: The task whose end ends the job: the speakers task when diarizing, else the transcription.
    task_id: int | None = None
    #: The transcription's task (its transcript is written when the speakers task fails).
    transcription_id: int | None = None
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
    diarize: Annotated[bool, typer.Option("--diarize/--no-diarize", help="Label who spoke when.")] = True,
    num_speakers: Annotated[
        int | None, typer.Option("--num-speakers", min=1, max=32, help="How many speakers (default: found).")
    ] = None,
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
    options = {
        "steps": "transcription,diarization,speakers" if diarize else "transcription",
        "word_timestamps": "true" if word_timestamps else "false",
    }
    if language:
        options["language"] = language
    if model:
        options["model"] = model
    if task.strip().lower() != "transcribe":
        options["task"] = task
    if diarize and num_speakers:
        options["num_speakers"] = str(num_speakers)
    if server_url:
        _run_remote(jobs, server_url.rstrip("/"), settings, format, options)
    else:
        _run_local(jobs, settings, format, options)
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


def _fallback(job: Job, status: str, message: str | None) -> str | None:
    """The version to write when the job's last task ended with ``status``: the newest when it completed;
    the original when only the speakers step failed (a warning says why); None when the transcription failed."""
    if status == "completed":
        return "latest"
    if job.transcription_id != job.task_id:
        console.print(f"[yellow]! {job.source}: no speakers ({message or status}); writing the transcript[/yellow]")
        return "original"
    return None


def _run_local(jobs: list[Job], settings: Settings, fmt: str, options: dict[str, str]) -> None:
    from stenograph.service import ServiceError, Stenograph, StoredFile, render_transcript
    from stenograph.steps.submit import new_stored_name

    service = Stenograph.open(settings)
    try:
        request = service.pipeline(**options)
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
        job.recording_id, job.task_id = recording.id, recording.tasks[-1].record.id
        job.transcription_id = recording.tasks[0].record.id
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
                    first = service.task_record(job.transcription_id or job.task_id)
                    shown = first if first.status != "completed" else record
                    progress.update(job.bar, completed=min(shown.progress, 0.99), state=f"{shown.type} {shown.status}")
                    if record.status not in ENDED or first.status not in ENDED:
                        continue  # a speakers task failed with its diarization waits for the transcript
                    assert job.recording_id is not None and job.output is not None
                    job.done = True
                    version = (
                        _fallback(job, record.status, record.error_message) if first.status == "completed" else None
                    )
                    if version is None:
                        job.error = first.error_message or record.error_message or record.status
                    else:
                        transcript = service.transcript(job.recording_id, version)
                        job.output.write_text(render_transcript(transcript, cast(Format, fmt)), encoding="utf-8")
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


def _run_remote(jobs: list[Job], url: str, settings: Settings, fmt: str, options: dict[str, str]) -> None:
    headers = {"Authorization": f"Bearer {settings.api_token}"} if settings.api_token else {}
    with httpx.Client(base_url=url, headers=headers, timeout=httpx.Timeout(30, read=None)) as client:
        for job in jobs:
            if job.error:
                continue
            data = dict(options)
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
            job.task_id = recording["tasks"][-1]["id"]
            job.transcription_id = recording["tasks"][0]["id"]
        with _progress() as progress:
            for job in jobs:
                if job.task_id:
                    job.bar = progress.add_task(job.source.name, total=1.0, state="pending")
            while any(job.waiting for job in jobs):
                for job in jobs:
                    if not job.waiting or job.bar is None:
                        continue
                    task = client.get(f"/tasks/{job.task_id}").json()
                    first = client.get(f"/tasks/{job.transcription_id}").json() if job.transcription_id else task
                    shown = first if first["status"] != "completed" else task
                    progress.update(job.bar, completed=min(shown["progress"], 0.99), state=shown["status"])
                    if task["status"] in ("failed", "cancelled") and first["status"] not in ENDED:
                        continue  # a speakers task failed with its diarization waits for the transcript
                    version = None
                    if task["status"] in ("failed", "cancelled") and first["status"] == "completed":
                        version = _fallback(job, task["status"], (task.get("error") or {}).get("message"))
                    if task["status"] == "completed" or version is not None:
                        job.done = True
                        body = client.get(
                            f"/recordings/{job.recording_id}/transcript",
                            params={"format": fmt, "version": version or "latest", "download": fmt == "json"},
                        )
                        if body.status_code != 200:
                            job.error = f"could not fetch the transcript: {_message(body)}"
                        else:
                            assert job.output is not None
                            job.output.write_text(body.text, encoding="utf-8")
                        progress.update(job.bar, completed=1.0, state="completed")
                    elif task["status"] in ("failed", "cancelled"):
                        job.done = True
                        job.error = (first.get("error") or task.get("error") or {}).get("message") or task["status"]
                        progress.update(job.bar, completed=1.0, state=task["status"])
                time.sleep(POLL_SECONDS)


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json()["detail"]["message"])
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code}"
