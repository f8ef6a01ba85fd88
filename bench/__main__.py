"""``make bench`` = ``python -m bench``: every figure in one run, on this machine, then one report.

Usage::

    python -m bench                        # every section (queue, transcription, memory, llm, language,
                                           # invented_words, diarization)
    python -m bench --only queue           # one part (make bench ONLY=queue); a comma list for several
    python -m bench --quick                # the quick mode (make bench QUICK=1): queue and transcription
                                           # at a small scale, about 2 minutes
    python -m bench --report [--quick]     # print the saved figures' report again, and as Markdown

The figures go to ``bench/results/latest.json`` (``quick.json`` in the quick mode), merged with the sections
already there so parts run one at a time add up, and the chart to ``latest.png`` (``quick.png``) beside it.
The report (:mod:`bench.report`) prints the queue table with ratios against Stenograph on SQLite, each other
section's figures, and the goals with PASS/FAIL and the measured ratio.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from bench.common import REPO
from bench.report import draw_chart, markdown_summary, print_report

SECTIONS = {
    "queue": "bench.queue_bench",
    "transcription": "bench.transcription_bench",
    "memory": "bench.memory_bench",
    "llm": "bench.llm_bench",
    "language": "bench.language_bench",
    "invented_words": "bench.invented_words_bench",
    "diarization": "bench.diarization_bench",
}
#: Sections of the quick mode when none is named (memory and llm take minutes at any scale).
QUICK_SECTIONS = ["queue", "transcription"]
RESULTS = REPO / "bench" / "results"


def machine() -> str:
    """'N CPUs, model name' of this machine."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs, {model}"


def git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("sections", nargs="*", help=f"sections to run: {', '.join(SECTIONS)} (default: all)")
    parser.add_argument("--only", default="", help="comma-separated sections (same as the positional names)")
    parser.add_argument("--quick", action="store_true", help="small scale, about 2 minutes")
    parser.add_argument(
        "--report", action="store_true", help="run nothing: print the report of the saved figures, and Markdown"
    )
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse(argv)
    chosen = [name for name in [*args.sections, *args.only.split(",")] if name.strip()]
    chosen = chosen or (QUICK_SECTIONS if args.quick else list(SECTIONS))
    unknown = [name for name in chosen if name not in SECTIONS]
    if unknown:
        print(f"unknown sections {unknown}; choose from {', '.join(SECTIONS)}", file=sys.stderr)
        return 2
    console = Console(width=max(Console().width, 180))
    if args.report:
        saved = RESULTS / ("quick.json" if args.quick else "latest.json")
        merged = json.loads(saved.read_text())
        print_report(console, merged)
        print(markdown_summary(merged))
        return 0
    run_started = time.monotonic()
    results: dict[str, dict[str, Any]] = {}
    for name in chosen:
        started = time.monotonic()
        console.rule(f"benchmark: {name}{' (quick)' if args.quick else ''}")
        figures: dict[str, Any]
        try:
            figures = importlib.import_module(SECTIONS[name]).run(quick=args.quick)
        except Exception as exc:  # one section failing must not hide the others' figures
            figures = {"error": f"{type(exc).__name__}: {exc}"}
        figures["section_seconds"] = round(time.monotonic() - started, 1)
        figures["measured_at"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        results[name] = figures
    stem = "quick" if args.quick else "latest"
    RESULTS.mkdir(parents=True, exist_ok=True)
    latest = RESULTS / f"{stem}.json"
    merged: dict[str, Any] = json.loads(latest.read_text()) if latest.exists() else {}
    merged.update(results)  # sections run separately add up
    merged["meta"] = {
        "machine": machine(),
        "python": platform.python_version(),
        "commit": git_commit(),
        "quick": args.quick,
        "measured_at": datetime.datetime.now().astimezone().isoformat(timespec="minutes"),
        "sections_run_last": chosen,
        "run_seconds": round(time.monotonic() - run_started, 1),
    }
    latest.write_text(json.dumps(merged, indent=1, default=str) + "\n")
    print_report(console, merged)
    chart = draw_chart(merged, RESULTS / f"{stem}.png")
    written = f"figures written to {latest.relative_to(REPO)}"
    console.print(written + (f", chart to {chart.relative_to(REPO)}" if chart else ""))
    console.print(f"this run took {time.monotonic() - run_started:.0f} s")
    return 1 if any("error" in figures for figures in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
