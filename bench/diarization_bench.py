"""Diarization benchmark (``make bench ONLY=diarization``): error rate, real-time factor and peak memory.

Figures:

- ``der_percent_{2,3,4}spk`` and ``der_percent_all``: DER (collar 0.25 s each side, overlap scored; see
  ``tests/diarization/der.py``) over the corpus conversations of ``tests/diarization/conversations.py``
  (10 per speaker count; 3 in the quick mode), ``der_percent_stereo`` on the stereo clip mixed to mono, and
  ``count_wrong``: conversations whose number of speakers was not found exactly. Goal: DER <= 10 %, no count wrong.
- ``rtf_1h``: seconds per audio second on a 1-hour recording (5 minutes in the quick mode), model load included,
  in a fresh process; ``transcription_rtf_base_mean`` beside it when the transcription section was measured.
  Goal: at most 0.05.
- ``peak_rss_mib_1h`` / ``_3h`` (quick: 5 and 15 minutes): the child process's peak resident memory, the
  float32 audio array included, and ``peak_beyond_audio_mib_*`` without it; goal: 3 h peak <= 1.2 x 1 h peak.

- ``profile_*``: the voice-profile threshold chosen on 5 s pieces of the German and Spanish readings (midway
  between the 5th percentile of same-speaker similarities and the highest other-speaker one), then false and
  missed matches over all pairs of the other corpus voices' first 5 s (the LJ and the Sense and Sensibility
  pairs are the same-speaker ones). Goal: both matched, no false match.

The long recordings are conversations (seeds 100...) joined one after the other until the length is reached.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import REPO, corpus_dir

RTF_GOAL = 0.05
MEMORY_GOAL_RATIO = 1.2


def _engine(models_dir: Path) -> Any:
    from stenograph.steps.diarization.engine import PyannoteGe2eDiarizer
    from stenograph.steps.diarization.models import assemble_models

    return PyannoteGe2eDiarizer(assemble_models(models_dir))


def der_figures(models_dir: Path, per_count: int) -> dict[str, Any]:
    """DER per speaker count and overall, the stereo clip's, and the conversations whose count was wrong."""
    from tests.diarization.conversations import build_conversation, stereo_conversation
    from tests.diarization.der import diarization_error

    engine = _engine(models_dir)
    figures: dict[str, Any] = {}
    errors, reference, wrong = 0.0, 0.0, []
    for speakers in (2, 3, 4):
        err = ref = 0.0
        for seed in range(per_count):
            conversation = build_conversation(corpus_dir(), speakers, seed)
            result = engine.diarize(conversation.audio)
            score = diarization_error(conversation.reference, [(t.start, t.end, t.speaker) for t in result.turns])
            err += score.missed + score.false_alarm + score.confusion
            ref += score.reference
            if len(result.speakers) != speakers:
                wrong.append(f"{conversation.name}: {len(result.speakers)}")
        figures[f"der_percent_{speakers}spk"] = round(100 * err / ref, 2)
        errors, reference = errors + err, reference + ref
    figures["der_percent_all"] = round(100 * errors / reference, 2)
    stereo = stereo_conversation(corpus_dir())
    result = engine.diarize(stereo.audio)
    score = diarization_error(stereo.reference, [(t.start, t.end, t.speaker) for t in result.turns])
    figures["der_percent_stereo"] = round(100 * score.der, 2)
    figures["count_wrong"] = wrong
    figures["conversations"] = 3 * per_count
    return figures


def profile_figures(models_dir: Path) -> dict[str, Any]:
    """The profile threshold and the false / missed matches it gives (see the module's docstring)."""
    import itertools

    from stenograph.steps.diarization.embedding import Ge2eEncoder
    from stenograph.steps.diarization.models import assemble_models
    from tests.diarization.conversations import decode, trim

    encoder = Ge2eEncoder(assemble_models(models_dir).embedding, max_partials=4)
    rate = 16_000

    def pieces(name: str) -> list[np.ndarray]:
        audio = trim(decode(corpus_dir() / name))
        return [audio[i : i + 5 * rate] for i in range(0, len(audio) - 5 * rate + 1, 5 * rate)]

    german, spanish = pieces("aeneas-de.mp3"), pieces("aeneas-es.mp3")
    vectors = encoder.embed(german + spanish)
    similarity = vectors @ vectors.T
    n, cut = len(vectors), len(german)
    same = [similarity[i, j] for i in range(n) for j in range(i + 1, n) if (i < cut) == (j < cut)]
    other = [similarity[i, j] for i in range(cut) for j in range(cut, n)]
    threshold = float((np.percentile(same, 5) + max(other)) / 2)
    clips = {
        "jfk": "jfk.wav",
        "librispeech": "librispeech-1995-1837-0001.wav",
        "timit": "LDC93S1.wav",
        "lj_1": "LJ001-0001.wav",
        "lj_7": "LJ001-0007.wav",
        "sense_870": "sense_and_sensibility_01_austen_64kb-0870.wav",
        "sense_920": "sense_and_sensibility_01_austen_64kb-0920.wav",
        "mandarin": "aishell-BAC009S0724W0121.wav",
        "russian": "deepspeech-ru.wav",
    }
    found = encoder.embed([trim(decode(corpus_dir() / name))[: 5 * rate] for name in clips.values()])
    false = missed = 0
    names = list(clips)
    for (i, a), (j, b) in itertools.combinations(enumerate(names), 2):
        matched = float(found[i] @ found[j]) >= threshold
        same_voice = a.split("_")[0] == b.split("_")[0]
        missed += same_voice and not matched
        false += matched and not same_voice
    return {
        "profile_threshold": round(threshold, 3),
        "profile_same_p5": round(float(np.percentile(same, 5)), 3),
        "profile_other_max": round(float(max(other)), 3),
        "profile_false_matches": false,
        "profile_missed_matches": missed,
        "profile_pairs": len(names) * (len(names) - 1) // 2,
    }


def long_recording(seconds: float) -> np.ndarray:
    """Conversations (seeds 100, 101...) joined until ``seconds`` of audio, float32 16 kHz."""
    from tests.diarization.conversations import build_conversation

    pieces, total, seed = [], 0, 100
    while total < seconds * 16_000:
        piece = build_conversation(corpus_dir(), 2 + seed % 3, seed).audio
        pieces.append(piece)
        total += len(piece)
        seed += 1
    return np.concatenate(pieces)[: int(seconds * 16_000)]


def child(seconds: float, models_dir: Path) -> dict[str, Any]:
    """Run in a fresh process: build the recording, then load the engine and diarize it (timed)."""
    audio = long_recording(seconds)
    started = time.monotonic()
    result = _engine(models_dir).diarize(audio)
    wall = time.monotonic() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "seconds": seconds,
        "wall_s": round(wall, 1),
        "rtf": round(wall / seconds, 4),
        "speakers": len(result.speakers),
        "peak_rss_mib": round(peak, 1),
        "audio_mib": round(audio.nbytes / 2**20, 1),
    }


def _run_child(seconds: float, models_dir: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.diarization_bench", "--child", str(seconds), str(models_dir)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def run(quick: bool = False) -> dict[str, Any]:
    """Every figure of the module's docstring (quick: fewer conversations, 5 and 15 minute recordings)."""
    with tempfile.TemporaryDirectory() as folder:
        models_dir = Path(folder)
        figures = der_figures(models_dir, 3 if quick else 10)
        figures.update(profile_figures(models_dir))
        short, long = (300.0, 900.0) if quick else (3600.0, 10800.0)
        one, three = _run_child(short, models_dir), _run_child(long, models_dir)
    label = ("5min", "15min") if quick else ("1h", "3h")
    figures[f"rtf_{label[0]}"] = one["rtf"]
    figures[f"rtf_{label[1]}"] = three["rtf"]
    for name, found in zip(label, (one, three), strict=True):
        figures[f"peak_rss_mib_{name}"] = found["peak_rss_mib"]
        figures[f"peak_beyond_audio_mib_{name}"] = round(found["peak_rss_mib"] - found["audio_mib"], 1)
    figures["peak_ratio"] = round(three["peak_rss_mib"] / one["peak_rss_mib"], 3)
    figures["peak_beyond_audio_ratio"] = round(
        figures[f"peak_beyond_audio_mib_{label[1]}"] / figures[f"peak_beyond_audio_mib_{label[0]}"], 3
    )
    saved = REPO / "bench" / "results" / "latest.json"
    if saved.exists():
        transcription = json.loads(saved.read_text()).get("transcription", {})
        if "rtf_base_mean" in transcription:
            figures["transcription_rtf_base_mean"] = transcription["rtf_base_mean"]
    figures["rtf_goal"] = RTF_GOAL
    figures["memory_goal_ratio"] = MEMORY_GOAL_RATIO
    return figures


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        print(json.dumps(child(float(sys.argv[2]), Path(sys.argv[3]))))
    else:
        print(json.dumps(run(quick="--quick" in sys.argv), indent=1))
