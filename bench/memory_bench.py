"""Peak memory of a worker's slot process transcribing a 1 h and a 3 h recording (goal: the 3 h peak at
most the 1 h peak + 200 MiB). The recordings are quiet noise with a speech clip every 5 minutes, so VAD,
decoding and Whisper all run while the benchmark stays short."""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from bench.common import (
    bench_settings,
    corpus_dir,
    descendants,
    peak_rss_mib,
    start_workers,
    stop_workers,
    submit_file,
    wait_for,
)

BLOCK_S = 300


def make_recording(folder: Path, hours: int) -> Path:
    """``hours`` of 5-minute blocks: jfk.wav (11 s) then brown noise at about -50 dBFS."""
    block = folder / "block.wav"
    if not block.exists():
        speech = folder / "speech.wav"
        subprocess.run(
            ["sox", str(corpus_dir() / "jfk.wav"), "-r", "16000", "-c", "1", "-b", "16", str(speech)], check=True
        )
        noise = folder / "noise.wav"
        subprocess.run(
            [
                "sox",
                "-n",
                "-r",
                "16000",
                "-c",
                "1",
                "-b",
                "16",
                str(noise),
                "synth",
                str(BLOCK_S - 11),
                "brownnoise",
                "vol",
                "0.003",
            ],
            check=True,
        )
        subprocess.run(["sox", str(speech), str(noise), str(block)], check=True)
    out = folder / f"{hours}h.wav"
    subprocess.run(["sox", str(block), str(out), "repeat", str(hours * 3600 // BLOCK_S - 1)], check=True)
    return out


def peak_for(path: Path) -> dict[str, float]:
    with bench_settings(poll_interval=1.0) as (settings, queue), tempfile.TemporaryDirectory() as logs:
        log = Path(logs) / "w.log"
        [worker] = start_workers(settings, 1, log)
        try:
            wait_for(lambda: " ready: " in log.read_text(), timeout=120)
            task_id = submit_file(settings, queue, path, link=True)
            slots = [pid for pid in descendants(worker.pid) if pid != worker.pid]
            peaks: dict[int, float] = {}

            def done() -> bool:
                for pid in slots:
                    with contextlib.suppress(OSError):
                        peaks[pid] = peak_rss_mib(pid)
                return queue.get(task_id).status in ("completed", "failed")

            wait_for(done, timeout=7200, interval=1.0)
            record = queue.get(task_id)
            return {
                "peak_rss_mib": max(peaks.values()),
                "seconds": record.duration_s or 0.0,
                "status_ok": float(record.status == "completed"),
            }
        finally:
            stop_workers([worker])


def run(quick: bool = False) -> dict[str, Any]:
    """The section's figures (``quick`` is accepted for a uniform interface; this section has one scale)."""
    if not (corpus_dir() / "jfk.wav").exists():
        return {"skipped": "speech corpus not found"}
    with tempfile.TemporaryDirectory(prefix="stenograph-memory-") as scratch:
        folder = Path(scratch)
        one = peak_for(make_recording(folder, 1))
        three = peak_for(make_recording(folder, 3))
    return {
        "peak_rss_1h_mib": one["peak_rss_mib"],
        "peak_rss_3h_mib": three["peak_rss_mib"],
        "peak_growth_3h_minus_1h_mib": three["peak_rss_mib"] - one["peak_rss_mib"],
        "transcription_1h_s": one["seconds"],
        "transcription_3h_s": three["seconds"],
        "both_completed": bool(one["status_ok"] and three["status_ok"]),
    }
