"""Language check: what identifying a recording's language costs once the multilingual model is loaded.

For each corpus clip (every language), :func:`~stenograph.steps.transcription.model_choice.choose_model` as a
transcription of the default settings (tiny.en, no model named) runs it: Silero VAD over the first 30 s of
audio (more when it holds no speech) and one encoder pass of Whisper base over at most 10 s of speech.
Wall time and CPU time (all threads) are reported: on a shared machine the wall time mostly measures the
others' load. The goal (issue 14): at most 1 s per recording
after the load. Also reported: whether each clip's language was identified as the manifest's.
"""

from __future__ import annotations

import csv
import time
from typing import Any

from bench.common import corpus_dir

#: The goal: seconds per recording, the model already loaded.
DETECTION_GOAL_S = 1.0


def run(quick: bool = False) -> dict[str, Any]:
    """``{"clips", "load_s", "max_s", "mean_s", "correct", "per_clip": {file: {...}}}``."""
    import numpy as np
    from faster_whisper import decode_audio

    from stenograph.settings import build_settings
    from stenograph.steps.transcription.model_choice import choose_model
    from stenograph.steps.transcription.whisper_models import load_whisper

    corpus = corpus_dir()
    if not (corpus / "MANIFEST.tsv").is_file():
        return {"skipped": "speech corpus not found"}
    with (corpus / "MANIFEST.tsv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    settings = build_settings(llm="none")
    tiny = load_whisper(settings)
    began = time.monotonic()
    load_whisper(settings.model_copy(update={"whisper_model": "base"}))
    load_s = time.monotonic() - began
    per_clip: dict[str, dict[str, Any]] = {}
    for row in rows[:4] if quick else rows:
        audio = decode_audio(str(corpus / row["file"]), sampling_rate=16000).astype(np.float32)
        cpu = time.process_time()
        choice = choose_model(
            settings, tiny, check="switch", language=None, task="transcribe", first_audio=lambda a=audio: a, warnings=[]
        )
        per_clip[row["file"]] = {
            "language": row["language"],
            "detected": choice.detected,
            "model": choice.name,
            "seconds": round(choice.detection_s or 0.0, 3),
            "cpu_s": round(time.process_time() - cpu, 3),
        }
    times = [clip["seconds"] for clip in per_clip.values()]
    return {
        "clips": len(per_clip),
        "load_s": round(load_s, 2),
        "max_s": max(times),
        "mean_s": round(sum(times) / len(times), 3),
        "max_cpu_s": max(clip["cpu_s"] for clip in per_clip.values()),
        "goal_s": DETECTION_GOAL_S,
        "correct": sum(clip["detected"] == clip["language"] for clip in per_clip.values()),
        "per_clip": per_clip,
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2, ensure_ascii=False))
