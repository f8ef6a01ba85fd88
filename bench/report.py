"""The benchmark's report: the queue table with ratios, the goals with PASS/FAIL, other sections' figures,
and the PNG chart (matplotlib, Agg backend)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

#: Every ratio in the queue table is this row's figure divided by the reference row's.
REFERENCE = "Stenograph (SQLite)"
#: The SqliteHuey row at the same durability as Stenograph (the goal's comparison).
HUEY_SAME_DURABILITY = "Huey SqliteHuey (synchronous=NORMAL)"
PICKUP_GOAL_MS = 50.0
THROUGHPUT_GOAL_RATIO = 2.0
OVERHEAD_GOAL_PERCENT = 3.0
MEMORY_GOAL_MIB = 200.0
#: Batched decoding becomes the default only within this many WER points of sequential decoding ...
BATCHED_WER_POINTS = 0.5
#: ... and at least this many times as fast.
BATCHED_SPEEDUP = 2.0
#: ``enqueue_many`` no-op tasks per second on SQLite, in batches of 1,000 (architecture issue).
ENQUEUE_MANY_GOAL_PER_S = 50_000.0
PROCRASTINATE = "procrastinate"


def _rows(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in results.get("queue", {}).get("rows", [])}


def drain(row: dict[str, Any] | None, workers: int) -> float | None:
    """Tasks per second of ``row`` drained with ``workers`` workers, or None when not measured."""
    figures = ((row or {}).get("throughput") or {}).get(str(workers)) or {}
    value = figures.get("drain_per_s")
    return float(value) if value is not None else None


def latency(row: dict[str, Any] | None, key: str) -> float | None:
    value = ((row or {}).get("latency") or {}).get(key)
    return float(value) if value is not None else None


def enqueue_rate(row: dict[str, Any]) -> float | None:
    rates = [f["enqueue_per_s"] for f in (row.get("throughput") or {}).values() if "enqueue_per_s" in f]
    return max(rates) if rates else None


def _cell(value: float | None, reference: float | None, digits: int = 0) -> str:
    if value is None:
        return "-"
    text = f"{value:,.{digits}f}"
    if reference:
        ratio = value / reference
        text += f" ({ratio:.0f}x)" if ratio >= 10 else f" ({ratio:.2g}x)"
    return text


def worker_counts(rows: dict[str, dict[str, Any]]) -> list[int]:
    counts = {int(n) for row in rows.values() for n in (row.get("throughput") or {})}
    return sorted(counts)


def queue_table(results: dict[str, Any]) -> Table:
    """One row per queue: enqueue rate, drain rate per worker count, pickup latency, durability, guarantees."""
    rows = _rows(results)
    ref = rows.get(REFERENCE)
    counts = worker_counts(rows)
    table = Table(
        title="Queue, no-op tasks (ratio in brackets = this row / Stenograph (SQLite))",
        show_lines=True,
        expand=True,
    )
    table.add_column("queue", ratio=2)
    table.add_column("durability", ratio=2)
    table.add_column("enqueue tasks/s", justify="right", ratio=1)
    for count in counts:
        table.add_column(f"drain tasks/s, {count} worker{'s' if count > 1 else ''}", justify="right", ratio=1)
    for key in ("p50", "p95", "p99"):
        table.add_column(f"pickup {key} ms", justify="right", ratio=1)
    table.add_column("default guarantees; workers", ratio=4)
    for name, row in rows.items():
        if "skipped" in row:
            table.add_row(name, "-", *["-"] * (1 + len(counts) + 3), f"skipped: {row['skipped']}")
            continue
        cells = [name, row.get("durability", "?"), _cell(enqueue_rate(row), enqueue_rate(ref) if ref else None)]
        for count in counts:
            figures = (row.get("throughput") or {}).get(str(count)) or {}
            if "error" in figures:
                cells.append(f"error: {figures['error'][:60]}")
            else:
                cells.append(_cell(drain(row, count), drain(ref, count)))
        if "error" in (row.get("latency") or {}):
            cells += [f"error: {row['latency']['error'][:60]}", "-", "-"]
        else:
            for key in ("p50_ms", "p95_ms", "p99_ms"):
                cells.append(_cell(latency(row, key), latency(ref, key), 1))
        samples = (row.get("latency") or {}).get("samples")
        cells.append(f"{row['guarantees']}; {row['workers_run_as']}; latency samples: {samples}")
        table.add_row(*cells)
    return table


def goals(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each goal with its measured ratio (measured / limit, or Stenograph / peer) and PASS, FAIL or N/A."""
    rows = _rows(results)
    ref, huey = rows.get(REFERENCE), rows.get(HUEY_SAME_DURABILITY)
    found: list[dict[str, Any]] = []

    def add(goal: str, ratio: float | None, passed: bool | None, detail: str) -> None:
        verdict = "N/A" if passed is None else ("PASS" if passed else "FAIL")
        found.append({"goal": goal, "ratio": ratio, "verdict": verdict, "detail": detail})

    if "queue" in results:
        for count in (1, 4):
            ours, theirs = drain(ref, count), drain(huey, count)
            ratio = ours / theirs if ours and theirs else None
            add(
                f"Stenograph (SQLite) drains >= {THROUGHPUT_GOAL_RATIO:g}x SqliteHuey, {count} worker(s), same "
                "durability (WAL + synchronous=NORMAL on both), keeping leases",
                ratio,
                None if ratio is None else ratio >= THROUGHPUT_GOAL_RATIO,
                f"{ours or float('nan'):,.0f} vs {theirs or float('nan'):,.0f} tasks/s",
            )
        for ours_name, peer_name in ((REFERENCE, HUEY_SAME_DURABILITY), ("Stenograph (PostgreSQL)", PROCRASTINATE)):
            ours_rate = enqueue_rate(rows.get(ours_name) or {})
            theirs_rate = enqueue_rate(rows.get(peer_name) or {})
            ratio = ours_rate / theirs_rate if ours_rate and theirs_rate else None
            add(
                f"{ours_name} single enqueues >= {peer_name}'s, same run, every event logged, workers woken",
                ratio,
                None if ratio is None else ratio >= 1.0,
                f"{ours_rate or float('nan'):,.0f} vs {theirs_rate or float('nan'):,.0f} per s",
            )
        many = ((ref or {}).get("enqueue_many") or {}).get("per_s")
        add(
            f"{REFERENCE} enqueue_many >= {ENQUEUE_MANY_GOAL_PER_S:,.0f} no-op tasks/s in batches of 1,000",
            None if many is None else many / ENQUEUE_MANY_GOAL_PER_S,
            None if many is None else many >= ENQUEUE_MANY_GOAL_PER_S,
            "not measured" if many is None else f"{many:,.0f} per s",
        )
        for name in (REFERENCE, "Stenograph (PostgreSQL)"):
            p50 = latency(rows.get(name), "p50_ms")
            add(
                f"{name} pickup p50 <= {PICKUP_GOAL_MS:g} ms",
                None if p50 is None else p50 / PICKUP_GOAL_MS,
                None if p50 is None else p50 <= PICKUP_GOAL_MS,
                "not measured" if p50 is None else f"{p50:.1f} ms",
            )
    transcription = results.get("transcription", {})
    if "queue_overhead_percent" in transcription:
        overhead = float(transcription["queue_overhead_percent"])
        add(
            f"transcription through Stenograph <= {OVERHEAD_GOAL_PERCENT:g}% slower than faster-whisper directly",
            transcription["corpus_queue_s"] / transcription["corpus_direct_s"],
            overhead <= OVERHEAD_GOAL_PERCENT,
            f"{overhead:+.1f}% ({transcription['corpus_queue_s']:.1f} s vs {transcription['corpus_direct_s']:.1f} s)",
        )
    if "batched_speedup" in transcription:
        delta, speedup = float(transcription["batched_wer_delta_points"]), float(transcription["batched_speedup"])
        passed = delta <= BATCHED_WER_POINTS and speedup >= BATCHED_SPEEDUP
        add(
            f"batched decoding as default: WER <= sequential's + {BATCHED_WER_POINTS:g} point and >= "
            f"{BATCHED_SPEEDUP:g}x its throughput (shuffled corpus recordings, same run)",
            speedup / BATCHED_SPEEDUP,
            passed,
            f"WER {transcription['batched_wer_batched_mean'] * 100:.2f} % vs "
            f"{transcription['batched_wer_sequential_mean'] * 100:.2f} % ({delta:+.2f} points), {speedup:.2f}x",
        )
    language = results.get("language", {})
    if "max_s" in language:
        worst, limit = float(language["max_s"]), float(language["goal_s"])
        add(
            f"language check <= {limit:g} s per recording after the load (VAD + Whisper base detect_language)",
            worst / limit,
            worst <= limit,
            f"max {worst:.2f} s, mean {language['mean_s']:.2f} s over {language['clips']} clips",
        )
    memory = results.get("memory", {})
    if "peak_growth_3h_minus_1h_mib" in memory:
        growth = float(memory["peak_growth_3h_minus_1h_mib"])
        add(
            f"memory: 3 h recording's peak <= 1 h peak + {MEMORY_GOAL_MIB:g} MiB",
            growth / MEMORY_GOAL_MIB,
            growth <= MEMORY_GOAL_MIB,
            f"{growth:+.0f} MiB",
        )
    diarization = results.get("diarization", {})
    if "der_percent_all" in diarization:
        der = float(diarization["der_percent_all"])
        add("diarization DER <= 10 % over the corpus conversations", der / 10, der <= 10, f"{der:.1f} %")
        rtf_key = next((k for k in ("rtf_1h", "rtf_5min") if k in diarization), None)
        if rtf_key:
            rtf = float(diarization[rtf_key])
            add(f"diarization RTF <= 0.05 ({rtf_key[4:]}, model load included)", rtf / 0.05, rtf <= 0.05, f"{rtf:.3f}")
        ratio = float(diarization.get("peak_ratio", 0.0)) or None
        add(
            "diarization: 3 h peak memory <= 1.2 x 1 h peak",
            None if ratio is None else ratio / 1.2,
            None if ratio is None else ratio <= 1.2,
            "not measured" if ratio is None else f"x{ratio:.2f}",
        )
    return found


def batched_rows(transcription: dict[str, Any]) -> list[list[str]]:
    """Per repetition of the batched-decoding benchmark: recording seconds, WER (%) and RTF of sequential and
    batched decoding, and the speed-up (sequential seconds / batched seconds)."""
    rows = []
    for number, seconds in enumerate(transcription.get("batched_recording_s", [])):
        wer_seq, wer_bat = (transcription[f"batched_wer_{side}_{number}"] * 100 for side in ("sequential", "batched"))
        rtf_seq, rtf_bat = (transcription[f"batched_rtf_{side}_{number}"] for side in ("sequential", "batched"))
        cells = [f"{wer_seq:.2f}", f"{wer_bat:.2f}", f"{rtf_seq:.3f}", f"{rtf_bat:.3f}", f"{rtf_seq / rtf_bat:.2f}x"]
        rows.append([str(number), f"{seconds:.0f}", *cells])
    return rows


BATCHED_HEADER = ["seed", "audio s", "WER seq %", "WER batched %", "RTF seq", "RTF batched", "speed-up"]


def batched_table(transcription: dict[str, Any]) -> Table:
    table = Table(title="Batched against sequential decoding (Stenograph's transcriber, WER against references)")
    for name in BATCHED_HEADER:
        table.add_column(name, justify="right")
    for row in batched_rows(transcription):
        table.add_row(*row)
    return table


def goals_table(found: list[dict[str, Any]]) -> Table:
    table = Table(title="Goals", show_lines=False)
    table.add_column("goal")
    table.add_column("ratio", justify="right")
    table.add_column("result")
    table.add_column("measured")
    colours = {"PASS": "green", "FAIL": "red", "N/A": "yellow"}
    for goal in found:
        ratio = "-" if goal["ratio"] is None else f"{goal['ratio']:.3g}"
        verdict = f"[{colours[goal['verdict']]}]{goal['verdict']}"
        table.add_row(goal["goal"], ratio, verdict, goal["detail"])
    return table


def figures_table(section: str, figures: dict[str, Any]) -> Table:
    """A section's flat figures (transcription, memory, llm) as name/value rows."""
    table = Table(title=f"{section}", show_header=True)
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in figures.items():
        if isinstance(value, (dict, list)):
            continue
        table.add_row(key, f"{value:,.3f}" if isinstance(value, float) else str(value))
    return table


def print_report(console: Console, results: dict[str, Any]) -> None:
    """Every table: the queue's, each other section's, and the goals."""
    if "queue" in results:
        console.print(queue_table(results))
    for section, figures in results.items():
        if section not in ("queue", "meta") and isinstance(figures, dict):
            console.print(figures_table(section, figures))
    if batched_rows(results.get("transcription", {})):
        console.print(batched_table(results["transcription"]))
    console.print(goals_table(goals(results)))


def draw_chart(results: dict[str, Any], path: Path) -> Path | None:
    """Bar charts of drain rate per worker count and of pickup latency (both log scale); None without data."""
    rows = [row for row in _rows(results).values() if "skipped" not in row]
    transcription = results.get("transcription", {})
    if not rows and "corpus_direct_s" not in transcription:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = (2 if rows else 0) + (1 if "corpus_direct_s" in transcription else 0)
    fig, axes = plt.subplots(1, panels, figsize=(7 * panels, 5.5), squeeze=False)
    names = [row["name"].replace(" (", "\n(") for row in rows]
    position = 0
    if rows:
        ax = axes[0][0]
        counts = worker_counts(_rows(results))
        width = 0.8 / max(len(counts), 1)
        for index, count in enumerate(counts):
            values = [drain(row, count) or math.nan for row in rows]
            ax.bar([i + index * width for i in range(len(rows))], values, width, label=f"{count} worker(s)")
        ax.set_yscale("log")
        ax.set_ylabel("tasks per second (log scale)")
        ax.set_title("Drain rate, no-op tasks (higher is better)")
        ax.set_xticks([i + width * (len(counts) - 1) / 2 for i in range(len(rows))], names, fontsize=7, rotation=30)
        ax.legend(fontsize=8)
        ax = axes[0][1]
        for index, key in enumerate(("p50_ms", "p95_ms", "p99_ms")):
            values = [latency(row, key) or math.nan for row in rows]
            ax.bar([i + index * 0.27 for i in range(len(rows))], values, 0.27, label=key.replace("_ms", ""))
        ax.axhline(PICKUP_GOAL_MS, color="grey", linestyle="--", linewidth=1, label=f"goal {PICKUP_GOAL_MS:g} ms")
        ax.set_yscale("log")
        ax.set_ylabel("milliseconds (log scale)")
        ax.set_title("Pickup latency, idle worker (lower is better)")
        ax.set_xticks([i + 0.27 for i in range(len(rows))], names, fontsize=7, rotation=30)
        ax.legend(fontsize=8)
        position = 2
    if "corpus_direct_s" in transcription:
        ax = axes[0][position]
        labels, values = (
            ["corpus:\nfaster-whisper", "corpus:\nStenograph"],
            [
                transcription["corpus_direct_s"],
                transcription["corpus_queue_s"],
            ],
        )
        for key, label in (
            ("long_sequential_s", "long file:\nsequential"),
            ("long_batched_s", "long file:\nbatched"),
            ("long_stenograph_s", "long file:\nStenograph"),
        ):
            if key in transcription:
                labels.append(label)
                values.append(transcription[key])
        ax.bar(labels, values, color=["C0", "C1", "C2", "C3", "C4"][: len(values)])
        ax.set_ylabel("wall seconds (lower is better)")
        ax.set_title(f"Transcription, {transcription.get('model', 'tiny.en')}")
        ax.tick_params(axis="x", labelsize=7)
    meta = results.get("meta", {})
    fig.suptitle(f"Stenograph benchmarks ({meta.get('machine', '')}, {meta.get('measured_at', '')})", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def markdown_summary(results: dict[str, Any]) -> str:
    """The queue figures, the transcription figures and the goals as Markdown tables (for docs/benchmarks.md)."""
    lines: list[str] = []
    meta = results.get("meta", {})
    lines.append(
        f"Measured {meta.get('measured_at', '?')} on {meta.get('machine', '?')} (commit {meta.get('commit')})."
    )
    rows = _rows(results)
    if rows:
        ref = rows.get(REFERENCE)
        counts = worker_counts(rows)
        header = ["queue", "durability", "enqueue/s", *[f"drain/s, {n} w" for n in counts], "p50 ms", "p95 ms"]
        header.append("p99 ms")
        lines += ["", "| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
        for name, row in rows.items():
            if "skipped" in row:
                lines.append(f"| {name} | skipped: {row['skipped']} |" + " |" * (len(header) - 2))
                continue
            cells = [name, row.get("durability", "?"), _cell(enqueue_rate(row), enqueue_rate(ref) if ref else None)]
            cells += [_cell(drain(row, n), drain(ref, n)) for n in counts]
            cells += [_cell(latency(row, k), latency(ref, k), 1) for k in ("p50_ms", "p95_ms", "p99_ms")]
            lines.append("| " + " | ".join(cells) + " |")
        scale = results.get("queue", {}).get("scale", {})
        lines.append("")
        lines.append(
            f"Ratios in brackets: the row / Stenograph (SQLite). {scale.get('tasks', '?')} tasks per drain, "
            f"{scale.get('samples', '?')} latency samples ({scale.get('baseline_samples', '?')} for the baseline)."
        )
    transcription = {k: v for k, v in results.get("transcription", {}).items() if not k.startswith("rtf_tiny")}
    if "corpus_direct_s" in transcription:
        lines += ["", "| transcription figure | value |", "| --- | --- |"]
        for key, value in transcription.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                lines.append(f"| `{key}` | {value:,.3f} |")
    rows_batched = batched_rows(results.get("transcription", {}))
    if rows_batched:
        lines += ["", "| " + " | ".join(BATCHED_HEADER) + " |", "|" + " --- |" * len(BATCHED_HEADER)]
        lines += ["| " + " | ".join(row) + " |" for row in rows_batched]
    found = goals(results)
    if found:
        lines += ["", "| goal | ratio | result | measured |", "| --- | --- | --- | --- |"]
        for goal in found:
            ratio = "-" if goal["ratio"] is None else f"{goal['ratio']:.3g}"
            lines.append(f"| {goal['goal']} | {ratio} | {goal['verdict']} | {goal['detail']} |")
    return "\n".join(lines) + "\n"
