"""Glossary fuzzy replacement without an LLM."""

from __future__ import annotations

import pytest

from stenograph.steps.correction.glossary import apply_glossary, similarity


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("We run it on Kubernets, right?", "We run it on Kubernetes, right?"),
        ("kubernetes is fine", "Kubernetes is fine"),
        ("Ask Anna Schmitt (finance).", "Ask Anna Schmidt (finance)."),
        ("ask anna schmidt", "ask Anna Schmidt"),
        ("the Postgress database", "the Postgres database"),
        ("call the api now", "call the API now"),
    ],
)
def test_near_misses_become_the_term(text: str, expected: str) -> None:
    assert apply_glossary(text, ["Kubernetes", "Anna Schmidt", "API", "Postgres"]).text == expected


def test_far_words_and_short_fuzzy_words_are_left_alone() -> None:
    glossary = ["Kubernetes", "Anna Schmidt", "API"]
    for text in ["The cabinet meets today.", "Ask Anne Smith.", "The app is down", "Joanna Smith said"]:
        result = apply_glossary(text, glossary)
        assert result.text == text, (text, result)
        assert result.replacements == ()


def test_replacements_are_reported_and_punctuation_kept() -> None:
    result = apply_glossary("«Kubernets»; Anna  Schmitt!", ["Kubernetes", "Anna Schmidt"])
    assert result.text == "«Kubernetes»; Anna Schmidt!"
    assert result.replacements == (("Kubernets", "Kubernetes"), ("Anna  Schmitt", "Anna Schmidt"))


def test_threshold_is_documented_value() -> None:
    assert similarity("Kubernets", "kubernetes") >= 0.85
    assert similarity("Kubernetes", "governments") < 0.85
    assert apply_glossary("Kubernets", ["Kubernetes"], threshold=0.99).text == "Kubernets"


def test_longer_terms_win_and_words_are_replaced_once() -> None:
    result = apply_glossary("New Yrok City", ["New York City", "York"])
    assert result.text == "New York City"
    assert len(result.replacements) == 1


def test_hotwords_are_capped_to_what_fits_whisper_prompt(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from stenograph.steps.correction.glossary import HOTWORDS_MAX_CHARS, MAX_TERM_CHARS, hotwords_that_fit
    from stenograph.steps.transcription.transcriber import TranscriptionOptions, _fitting_hotwords

    terms = [f"{i:02d}" + "x" * (MAX_TERM_CHARS - 2) for i in range(20)]
    kept = hotwords_that_fit(terms)
    assert kept == terms[: len(kept)] and 0 < len(kept) < len(terms)
    assert len(", ".join(kept)) <= HOTWORDS_MAX_CHARS < len(", ".join(terms[: len(kept) + 1]))
    options = TranscriptionOptions(hotwords=terms)
    with caplog.at_level(logging.INFO, logger="stenograph.steps.transcription.transcriber"):
        capped = _fitting_hotwords(options)
    assert list(capped.hotwords) == kept
    assert f"{len(kept)} of {len(terms)} glossary terms" in caplog.text
    few = TranscriptionOptions(hotwords=["Kubernetes", "Anna Schmidt"])
    assert _fitting_hotwords(few) is few
