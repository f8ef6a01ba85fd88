"""``make bench`` / ``python -m bench [queue] [transcription] [memory] [llm]``: prints the figures and writes
them to ``bench-results/latest.json``."""

from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

SECTIONS = {
    "queue": "bench.queue_bench",
    "transcription": "bench.transcription_bench",
    "memory": "bench.memory_bench",
    "llm": "bench.llm_bench",
}


def main(argv: list[str]) -> int:
    chosen = argv or list(SECTIONS)
    unknown = [name for name in chosen if name not in SECTIONS]
    if unknown:
        print(f"unknown sections {unknown}; choose from {', '.join(SECTIONS)}", file=sys.stderr)
        return 2
    console = Console()
    results: dict[str, dict[str, object]] = {}
    for name in chosen:
        started = time.monotonic()
        console.rule(f"benchmark: {name}")
        try:
            figures = importlib.import_module(SECTIONS[name]).run()
        except Exception as exc:  # one section failing must not hide the others' figures
            figures = {"error": f"{type(exc).__name__}: {exc}"}
        figures["section_seconds"] = round(time.monotonic() - started, 1)
        results[name] = figures
        table = Table(show_header=True)
        table.add_column("figure")
        table.add_column("value", justify="right")
        for key, value in figures.items():
            table.add_row(key, f"{value:.3f}" if isinstance(value, float) else str(value))
        console.print(table)
    out = Path("bench-results")
    out.mkdir(exist_ok=True)
    latest = out / "latest.json"
    merged = json.loads(latest.read_text()) if latest.exists() else {}
    merged.update(results)  # sections run separately add up
    latest.write_text(json.dumps(merged, indent=2, default=str))
    console.print(f"figures written to {out / 'latest.json'}")
    return 1 if any("error" in figures for figures in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
