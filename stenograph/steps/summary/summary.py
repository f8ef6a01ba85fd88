"""Summaries of a transcript: by an LLM (map-reduce when it does not fit), or extractive without one.

With an LLM (:func:`summarize` given a client): the segments are sent as lines ``[mm:ss] text``, with a
template's instructions (:func:`load_template`) and the JSON schema :data:`SUMMARY_SCHEMA` (title,
summary, key points, decisions, action items with owners; each item with the ``mm:ss`` of its segment).
When the lines do not fit the context, they are cut into chunks that do; each chunk is summarised (map)
and the partial summaries, items with their ``[mm:ss]``, are merged by the model (reduce), in rounds
until one is left. Nothing is truncated: a context-overflow error halves the chunk budget and starts again, and a
prompt that cannot fit at all, an answer that does not match the schema after one repair prompt, or a
server that stays unreachable: any failure of the model gives the extractive summary below instead, with
``fallback`` (and the summary's text) saying what went wrong; a summary never fails because of its model.
Every item's timestamp (key point, decision, action item: :func:`cite`) is snapped to the nearest
segment start. Template text returned as content, and names nobody in the recording said, are repaired
or dropped (:mod:`stenograph.steps.summary.guards`).

Without an LLM: an extractive summary, labelled "Extractive summary (no LLM configured)": the
transcript's most central segments by TextRank (:mod:`stenograph.steps.summary.extractive`), quoted with
their timestamps. A transcript without speech gets a summary saying so, with no model call.

Templates are Markdown prompt files: built-ins in ``stenograph/steps/summary/templates``, user ones in
``data_dir/templates/<name>.md`` (a user file wins over a built-in of the same name). The first
``# heading`` is the template's title; the whole file is the model's instructions.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

from stenograph.errors import LLMError, PermanentError, TaskCancelled, echo
from stenograph.llm.base import ChatMessage, LLMClient
from stenograph.llm.errors import LLMContextOverflow
from stenograph.llm.structured import chat_json, schema_prompt
from stenograph.steps.summary.extractive import select_key_segments
from stenograph.steps.summary.guards import repair_summary
from stenograph.transcript.languages import display_name
from stenograph.transcript.types import Segment

log = logging.getLogger("stenograph.steps")

__all__ = [
    "EXTRACTIVE_TITLE",
    "SUMMARY_SCHEMA",
    "ActionItem",
    "Decision",
    "KeyPoint",
    "SummaryResult",
    "Template",
    "cite",
    "format_timestamp",
    "list_templates",
    "load_template",
    "parse_timestamp",
    "summarize",
]

EXTRACTIVE_TITLE = "Extractive summary (no LLM configured)"
#: The title of the extractive summary written because the configured LLM failed.
FALLBACK_TITLE = "Extractive summary (the LLM failed)"
DEFAULT_TEMPLATE = "meeting-notes"
#: Tokens reserved for the answer: a quarter of the context, at most this many.
MAX_ANSWER_TOKENS = 1024
MIN_ANSWER_TOKENS = 192
SAFETY_TOKENS = 64
_TIMESTAMP = r"^\[?([0-9]{1,2}:)?[0-9]{1,3}:[0-9]{2}\]?$"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
#: A key point or a decision: its text and the ``mm:ss`` of the segment it comes from.
_CITED_ITEM: dict[str, Any] = {
    "type": "object",
    "properties": {"text": {"type": "string"}, "timestamp": {"type": "string", "pattern": _TIMESTAMP}},
    "required": ["text", "timestamp"],
    "additionalProperties": False,
}

SUMMARY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "summary": {"type": "string"},
        "key_points": {
            "type": "array",
            "items": _CITED_ITEM,
        },
        "decisions": {
            "type": "array",
            "items": _CITED_ITEM,
        },
        "action_items": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "text": {"type": "string"},
                    "owner": {"type": "string"},
                    "timestamp": {"type": "string", "pattern": _TIMESTAMP},
                },
                "required": ["text", "owner", "timestamp"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["title", "summary", "key_points", "decisions", "action_items"],
    "additionalProperties": False,
}

#: Section headings by language (ISO 639-1): summary, key points, decisions, action items, no speech.
HEADINGS: dict[str, tuple[str, str, str, str, str]] = {
    "en": ("Summary", "Key points", "Decisions", "Action items", "No speech was detected in this recording."),
    "de": (
        "Zusammenfassung", "Kernpunkte", "Entscheidungen", "Aufgaben",
        "In dieser Aufnahme wurde keine Sprache erkannt.",
    ),
    "fr": ("Résumé", "Points clés", "Décisions", "Actions", "Aucune parole n'a été détectée dans cet enregistrement."),
    "es": ("Resumen", "Puntos clave", "Decisiones", "Tareas", "No se detectó habla en esta grabación."),
    "it": ("Riepilogo", "Punti chiave", "Decisioni", "Azioni", "Nessun parlato rilevato in questa registrazione."),
    "pt": ("Resumo", "Pontos-chave", "Decisões", "Ações", "Nenhuma fala foi detectada nesta gravação."),
    "nl": ("Samenvatting", "Kernpunten", "Besluiten", "Actiepunten", "Er is geen spraak gedetecteerd in deze opname."),
    "ru": ("Краткое содержание", "Ключевые моменты", "Решения", "Задачи", "В этой записи речь не обнаружена."),
    "zh": ("摘要", "要点", "决定", "待办事项", "此录音中未检测到语音。"),
    "ja": ("要約", "要点", "決定事項", "アクションアイテム", "この録音では音声が検出されませんでした。"),
}  # fmt: skip

Progress = Callable[[float, str], None]


@dataclass(frozen=True, slots=True)
class KeyPoint:
    """A key point and the start (seconds) of the segment it comes from (None when unknown)."""

    text: str
    timestamp_s: float | None


@dataclass(frozen=True, slots=True)
class Decision:
    """A decision and the start (seconds) of the segment it was taken in (None when unknown)."""

    text: str
    timestamp_s: float | None


@dataclass(frozen=True, slots=True)
class ActionItem:
    """A task, its owner's name (None when nobody was named) and the start (seconds) of the segment it
    was agreed in (None when unknown)."""

    text: str
    owner: str | None
    timestamp_s: float | None = None


@dataclass(frozen=True, slots=True)
class Template:
    """A summary template: its name, title (first ``#`` heading), instructions and where it was found."""

    name: str
    title: str
    instructions: str
    source: Literal["builtin", "user"]


@dataclass(slots=True)
class SummaryResult:
    """A summary as Markdown and as structured fields; ``stats`` counts model calls and chunks."""

    title: str
    summary: str
    key_points: list[KeyPoint]
    decisions: list[Decision]
    action_items: list[ActionItem]
    method: Literal["llm", "extractive"]
    llm: dict[str, Any] | None
    template: str
    language: str | None
    markdown: str = ""
    stats: dict[str, Any] = field(default_factory=dict)
    #: Why an LLM summary was asked for and this extractive one was written instead, else None.
    fallback: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON: title, summary, key_points [{text, timestamp_s}], decisions [{text, timestamp_s}],
        action_items [{text, owner, timestamp_s}] (``timestamp_s``: seconds, or null when unknown), method,
        llm, template, language, markdown, stats, fallback."""
        return dataclasses.asdict(self)


# --- timestamps -----------------------------------------------------------------------------------
def format_timestamp(seconds: float) -> str:
    """``mm:ss`` (minutes are not wrapped at 60: 75:02 is 1 h 15 min 2 s)."""
    total = max(0, int(seconds))
    return f"{total // 60:02d}:{total % 60:02d}"


def parse_timestamp(text: str) -> float | None:
    """Seconds of ``mm:ss``, ``[mm:ss]`` or ``h:mm:ss``; None when ``text`` is none of these."""
    match = re.fullmatch(r"\s*\[?(?:(\d{1,2}):)?(\d{1,3}):(\d{2})\]?\s*", text)
    if match is None:
        return None
    hours, minutes, secs = match.groups()
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(secs)


def cite(timestamp: str, starts: Sequence[float]) -> float | None:
    """The segment start (seconds) an item's ``mm:ss`` cites: the nearest of ``starts`` (ties: the earlier),
    None when it does not parse or there are no segments. The one rule of key points, decisions, action items."""
    seconds = parse_timestamp(timestamp)
    if seconds is None or not starts:
        return None
    return min(starts, key=lambda start: (abs(start - seconds), start))


# --- templates ------------------------------------------------------------------------------------
def _builtin_dir() -> Path:
    return Path(str(files("stenograph.steps.summary").joinpath("templates")))


def _read_template(path: Path, source: Literal["builtin", "user"]) -> Template:
    text = path.read_text(encoding="utf-8").strip()
    heading = next((line[2:].strip() for line in text.splitlines() if line.startswith("# ")), path.stem)
    return Template(name=path.stem, title=heading, instructions=text, source=source)


def list_templates(data_dir: Path | None = None) -> list[Template]:
    """Every template, by name; a user template in ``data_dir/templates`` hides a built-in of its name."""
    found: dict[str, Template] = {}
    for path in sorted(_builtin_dir().glob("*.md")):
        found[path.stem] = _read_template(path, "builtin")
    if data_dir is not None and (data_dir / "templates").is_dir():
        for path in sorted((data_dir / "templates").glob("*.md")):
            if _NAME.match(path.stem):
                found[path.stem] = _read_template(path, "user")
    return [found[name] for name in sorted(found)]


def load_template(name: str, data_dir: Path | None = None) -> Template:
    """The template called ``name`` (user first, then built-in).

    Raises:
        PermanentError: no template has that name (the message lists the available ones).
    """
    if _NAME.match(name):
        user = data_dir / "templates" / f"{name}.md" if data_dir is not None else None
        if user is not None and user.is_file():
            return _read_template(user, "user")
        builtin = _builtin_dir() / f"{name}.md"
        if builtin.is_file():
            return _read_template(builtin, "builtin")
    available = ", ".join(template.name for template in list_templates(data_dir))
    raise PermanentError(f"unknown summary template {echo(name)}; available: {available}", kind="unknown_template")


# --- Markdown -------------------------------------------------------------------------------------
def _headings(language: str | None) -> tuple[str, str, str, str, str]:
    return HEADINGS.get((language or "en").lower()[:2], HEADINGS["en"])


def _stamp(seconds: float | None) -> str:
    return f" [{format_timestamp(seconds)}]" if seconds is not None else ""


def render_markdown(result: SummaryResult) -> str:
    """The Markdown of a summary: title, summary, key points, decisions and action items, each item
    followed by its ``[mm:ss]`` (when known).

    Empty sections are left out; headings are in the transcript's language where :data:`HEADINGS` has it.
    """
    summary_h, points_h, decisions_h, actions_h, _ = _headings(result.language)
    if result.method == "extractive" and result.key_points:
        points_h = {"en": "Key segments"}.get((result.language or "en")[:2], points_h)
    lines = [f"# {result.title}", ""]
    if result.summary:
        lines += [f"## {summary_h}", "", result.summary, ""]
    if result.key_points:
        lines += [f"## {points_h}", ""]
        lines += [f"- {point.text}{_stamp(point.timestamp_s)}" for point in result.key_points]
        lines.append("")
    if result.decisions:
        lines += [f"## {decisions_h}", ""]
        lines += [f"- {decision.text}{_stamp(decision.timestamp_s)}" for decision in result.decisions]
        lines.append("")
    if result.action_items:
        lines += [f"## {actions_h}", ""]
        for item in result.action_items:
            owner = f" — **{item.owner}**" if item.owner else ""
            lines.append(f"- {item.text}{owner}{_stamp(item.timestamp_s)}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


# --- without an LLM -------------------------------------------------------------------------------
def _is_speech(text: str) -> bool:
    """False for blank text and non-speech annotations such as ``[Music]`` or ``(silence)`` or ``...``."""
    stripped = re.sub(r"\[[^\]]*\]|\([^)]*\)|[♪♫]", " ", text)
    return any(char.isalnum() for char in stripped)


def _no_speech(template: str, language: str | None) -> SummaryResult:
    message = _headings(language)[4]
    result = SummaryResult(message.rstrip("."), message, [], [], [], "extractive", None, template, language)
    result.markdown = f"# {result.title}\n\n{message}\n"
    return result


def _extractive(
    segments: Sequence[Segment], template: str, language: str | None, title: str = EXTRACTIVE_TITLE
) -> SummaryResult:
    chosen = select_key_segments(segments)
    if len(segments) == 1:
        note = f"{title}: the transcript's only segment, quoted as transcribed."
    else:
        note = (
            f"{title}: the {len(chosen)} most representative of {len(segments)} segments, chosen by "
            "TextRank (Mihalcea & Tarau, 2004) and quoted as transcribed; nothing was rephrased."
        )
    points = [KeyPoint(item.segment.text.strip(), item.segment.start) for item in chosen]
    result = SummaryResult(title, note, points, [], [], "extractive", None, template, language)
    result.stats = {"segments": len(segments), "key_segments": len(chosen)}
    result.markdown = render_markdown(result)
    return result


# --- with an LLM ----------------------------------------------------------------------------------
def transcript_line(segment: Segment) -> str:
    """A segment as the LLM reads it: ``[mm:ss] Name: text``, the name being its speaker (a given name or a
    diarized label) when it has one."""
    label = segment.speaker
    text = segment.text.strip()
    return (
        f"[{format_timestamp(segment.start)}] {label}: {text}"
        if label
        else f"[{format_timestamp(segment.start)}] {text}"
    )


def _system_prompt(template: Template, language: str | None) -> str:
    name = display_name(language)
    language_rule = (
        f"Write every field in {name}, the transcript's language."
        if name
        else "Write every field in the language of the transcript."
    )
    return "\n".join(
        [
            "You summarise transcripts of recordings. Use only what the transcript says: never invent names, "
            "numbers, decisions or tasks.",
            language_rule,
            "Each transcript line starts with its start time [mm:ss]. Every key point's, decision's and action "
            "item's timestamp is the mm:ss of the line it comes from, copied from the transcript.",
            "A line may name its speaker after the time ([mm:ss] Dana: ...): then say who said, decided or owes "
            "what, and give each action item's owner by that name.",
            "",
            template.instructions,
        ]
    )


def _convert(data: Any) -> dict[str, Any]:
    for field_name, what in (("key_points", "key point"), ("decisions", "decision"), ("action_items", "action item")):
        for item in data[field_name]:
            if parse_timestamp(item["timestamp"]) is None:
                raise ValueError(f"{what} timestamp {item['timestamp']!r} is not mm:ss")
    return dict(data)


def _chunks(costs: Sequence[int], budget: int) -> list[range]:
    """Consecutive ranges of ``costs`` whose sums fit ``budget`` (each at least one item)."""
    ranges, start, total = [], 0, 0
    for position, cost in enumerate(costs):
        if position > start and total + cost > budget:
            ranges.append(range(start, position))
            start, total = position, 0
        total += cost
    if start < len(costs):
        ranges.append(range(start, len(costs)))
    return ranges


def _partial_text(number: int, data: dict[str, Any]) -> str:
    lines = [f"Part {number}: {data['title']}", data["summary"]]
    lines += [f"- [{point['timestamp'].strip('[]')}] {point['text']}" for point in data["key_points"]]
    lines += [f"Decision: [{d['timestamp'].strip('[]')}] {d['text']}" for d in data["decisions"]]
    lines += [
        f"Action item: [{a['timestamp'].strip('[]')}] {a['text']} (owner: {a['owner'] or 'not named'})"
        for a in data["action_items"]
    ]
    return "\n".join(lines)


class _Summarizer:
    """One summary run: the client, the prompt and the counters."""

    def __init__(self, client: LLMClient, system: str, should_stop: Callable[[], bool] | None) -> None:
        self.client = client
        self.system = system
        self.should_stop = should_stop
        self.calls = 0
        self.seconds = 0.0

    def ask(self, user: str, answer_tokens: int) -> dict[str, Any]:
        if self.should_stop and self.should_stop():
            raise TaskCancelled("summary cancelled")
        messages: list[ChatMessage] = [
            {"role": "system", "content": self.system},
            {"role": "user", "content": user},
        ]
        answer = chat_json(
            self.client,
            messages,
            schema=SUMMARY_SCHEMA,
            schema_name="summary",
            convert=_convert,
            max_tokens=answer_tokens,
        )
        self.calls += len(answer.answers)
        self.seconds += sum(raw.seconds for raw in answer.answers)
        return answer.value


def _run(
    run: _Summarizer, lines: list[str], budget: int, answer_tokens: int, on_progress: Progress | None
) -> tuple[dict[str, Any], int]:
    """Map-reduce ``lines`` within ``budget`` prompt tokens; returns the final answer and the chunk count."""
    count = run.client.count_tokens
    costs = [count(line) + 1 for line in lines]
    if max(costs) > budget:
        raise PermanentError(
            f"a transcript line of {max(costs)} tokens does not fit the {budget} tokens left for the "
            "transcript in this model's context; raise llm_context_tokens or use a model with a larger context"
        )
    header = "Transcript (each line starts with its [mm:ss] start time):\n"
    ranges = _chunks(costs, budget)
    if len(ranges) == 1:
        return run.ask(header + "\n".join(lines), answer_tokens), 1
    partials: list[str] = []
    for number, chunk in enumerate(ranges, 1):
        text = "\n".join(lines[i] for i in chunk)
        intro = f"This is part {number} of {len(ranges)} of a longer transcript; summarise this part only.\n"
        partials.append(_partial_text(number, run.ask(intro + header + text, answer_tokens)))
        if on_progress:
            on_progress(0.9 * number / len(ranges), f"summarised part {number} of {len(ranges)}")
    reduce_intro = (
        "These are summaries of consecutive parts of one transcript. Merge them into one summary of the whole "
        "transcript; keep the [mm:ss] timestamps of the key points, decisions and action items you keep.\n\n"
    )
    while True:
        part_costs = [count(text) + 2 for text in partials]
        if max(part_costs) > budget:
            raise PermanentError("the partial summaries do not fit the model's context; raise llm_context_tokens")
        groups = _chunks(part_costs, budget)
        merged = [run.ask(reduce_intro + "\n\n".join(partials[i] for i in group), answer_tokens) for group in groups]
        if len(merged) == 1:
            return merged[0], len(ranges)
        if len(groups) == len(partials):  # no group merged two parts: no progress possible
            raise PermanentError("the partial summaries cannot be merged within the model's context")
        partials = [_partial_text(number, data) for number, data in enumerate(merged, 1)]


def summarize(
    client: LLMClient | None,
    segments: Sequence[Segment],
    *,
    template: str = DEFAULT_TEMPLATE,
    language: str | None = None,
    data_dir: Path | None = None,
    context_tokens: int | None = None,
    on_progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    max_answer_tokens: int = MAX_ANSWER_TOKENS,
) -> SummaryResult:
    """Summarise ``segments`` (see the module doc).

    Args:
        client: the LLM, or None for an extractive summary.
        segments: the transcript, in order (corrected or not).
        template: a template name (``settings.summary_template``); see :func:`list_templates`.
        language: ISO 639-1 code of the transcript; the summary is written in it.
        data_dir: ``settings.data_dir``, where user templates live (``templates/*.md``).
        context_tokens: context to plan for (tokens); None asks the client.
        on_progress: called with (fraction 0..1, message) after each model call of the map step.
        should_stop: polled before each model call.
        max_answer_tokens: cap of each answer (tokens). Each answer gets a quarter of the context, at
            most this, at least :data:`MIN_ANSWER_TOKENS`, and no more than half the transcript's
            tokens plus :data:`MIN_ANSWER_TOKENS` (a short transcript needs a short summary; a weak model
            that rambles stops sooner).

    Raises:
        TaskCancelled: ``should_stop()`` returned True.
        PermanentError: unknown template; the prompt cannot fit the context; LLMOutputError (a
            PermanentError) when an answer does not match the schema after one repair.
        LLMUnavailable / LLMTimeout (retryable), LLMRequestRejected (permanent): from the client.
    """
    chosen = load_template(template, data_dir)
    spoken = [segment for segment in segments if _is_speech(segment.text)]
    if not spoken:
        return _no_speech(chosen.name, language)
    if client is None:
        result = _extractive(spoken, chosen.name, language)
        if on_progress:
            on_progress(1.0, "extractive summary")
        return result
    try:
        return _with_llm(client, spoken, chosen, language, context_tokens, on_progress, should_stop, max_answer_tokens)
    except (LLMError, PermanentError) as exc:  # the model failed: a summary all the same, saying why
        described = client.describe()
        where = f"{described.kind} model {described.model or ''} at {described.endpoint or 'this machine'}"
        reason = f"The LLM ({' '.join(where.split())}) could not write this summary: {exc}"
        log.warning("summary: %s; writing an extractive summary instead", reason)
        result = _extractive(spoken, chosen.name, language, FALLBACK_TITLE)
        result.fallback = reason
        result.summary = f"{reason}. {result.summary}"
        result.markdown = render_markdown(result)
        if on_progress:
            on_progress(1.0, "extractive summary (the LLM failed)")
        return result


def _with_llm(
    client: LLMClient,
    spoken: Sequence[Segment],
    chosen: Template,
    language: str | None,
    context_tokens: int | None,
    on_progress: Progress | None,
    should_stop: Callable[[], bool] | None,
    max_answer_tokens: int,
) -> SummaryResult:
    """The LLM's summary of ``spoken`` (see :func:`summarize`).

    Raises:
        LLMError, PermanentError: the model could not write it (the caller falls back).
        TaskCancelled: ``should_stop()`` returned True.
    """
    system = _system_prompt(chosen, language)
    context = context_tokens or client.context_tokens()
    lines = [transcript_line(segment) for segment in spoken]
    transcript_tokens = client.count_tokens("\n".join(lines))
    answer_tokens = max(
        MIN_ANSWER_TOKENS, min(max_answer_tokens, context // 4, transcript_tokens // 2 + MIN_ANSWER_TOKENS)
    )
    fixed = client.count_tokens(system + "\n\n" + schema_prompt(SUMMARY_SCHEMA)) + SAFETY_TOKENS + 40
    budget = context - fixed - answer_tokens
    run = _Summarizer(client, system, should_stop)
    while True:
        if budget < 64:
            raise PermanentError(
                f"the summary prompt does not fit this model's context ({context} tokens); "
                "raise llm_context_tokens or use a model with a larger context"
            )
        try:
            data, chunks = _run(run, lines, budget, answer_tokens, on_progress)
            break
        except LLMContextOverflow:
            budget //= 2
    data, report = repair_summary(
        data,
        template_title=chosen.title,
        instructions=[chosen.instructions, system],
        transcript=[segment.text for segment in spoken],
    )
    starts = [segment.start for segment in spoken]
    result = SummaryResult(
        title=str(data["title"]).strip(),
        summary=str(data["summary"]).strip(),
        key_points=[
            KeyPoint(str(p["text"]).strip(), cite(p["timestamp"], starts))
            for p in data["key_points"]
            if str(p["text"]).strip()
        ],
        decisions=[
            Decision(str(d["text"]).strip(), cite(d["timestamp"], starts))
            for d in data["decisions"]
            if str(d["text"]).strip()
        ],
        action_items=[
            ActionItem(str(a["text"]).strip(), str(a["owner"]).strip() or None, cite(a["timestamp"], starts))
            for a in data["action_items"]
            if str(a["text"]).strip()
        ],
        method="llm",
        llm=client.describe().to_dict(),
        template=chosen.name,
        language=language,
        stats={"llm_calls": run.calls, "llm_seconds": round(run.seconds, 3), "chunks": chunks},
    )
    if report:
        result.stats["guard"] = report.to_dict()
    result.markdown = render_markdown(result)
    if on_progress:
        on_progress(1.0, "summary written")
    return result
