"""The app's own JavaScript helpers, run in the browser (no Node.js): word diff, formats, sanitising."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Watched

pytestmark = pytest.mark.web


def run(web: Watched, body: str) -> Any:
    web.goto("#/upload")  # any page: loads the modules and the vendored libraries
    web.page.get_by_test_id("page-upload").wait_for()
    return web.page.evaluate(f"async () => {{ const u = await import('/static/js/util.js'); {body} }}")


def test_word_diff(web: Watched) -> None:
    parts = run(web, "return u.wordDiff('and so my fallow americans', 'And so, my fellow Americans');")
    assert parts == [
        {"type": "del", "text": "and so"},
        {"type": "ins", "text": "And so,"},
        {"type": "same", "text": "my"},
        {"type": "del", "text": "fallow americans"},
        {"type": "ins", "text": "fellow Americans"},
    ]
    assert run(web, "return u.wordDiff('same words', 'same  words');") == [{"type": "same", "text": "same words"}]
    assert run(web, "return u.wordDiff('', 'new');") == [{"type": "ins", "text": "new"}]
    assert run(web, "return u.wordDiff('old', '');") == [{"type": "del", "text": "old"}]


def test_formats(web: Watched) -> None:
    got = run(
        web,
        "return [u.formatTimestamp(75.4), u.formatTimestamp(3725), u.formatDuration(3.21),"
        " u.formatDuration(75), u.formatDuration(3725), u.formatBytes(1536), u.describeLlm(null),"
        " u.describeLlm({kind: 'ollama', model: 'gemma3', local: true})];",
    )
    assert got == ["1:15", "1:02:05", "3.2 s", "1 min 15 s", "1 h 2 min", "1.5 KB", "none", "ollama · gemma3 (local)"]


def test_markdown_is_sanitised(web: Watched) -> None:
    html = run(
        web,
        "return u.renderMarkdown('# Title\\n\\n- **bold** <img src=x onerror=alert(1)>"
        " <script>alert(2)</script> [link](javascript:alert(3))');",
    )
    assert "<h1>Title</h1>" in html and "<strong>bold</strong>" in html
    assert "onerror" not in html and "<script" not in html and "javascript:" not in html
    # Chromium reports the CSP refusing the onerror handler as DOMPurify's inert parser reads it: nothing ran.
    assert web.errors_except("Executing inline event handler violates the following Content Security Policy") == []


def test_markdown_remote_images_become_links(web: Watched) -> None:
    html = run(
        web,
        "return u.renderMarkdown('![chart](https://tracker.example/c.png) ![](/static/x.png)"
        ' ![dot](data:image/gif;base64,R0lGODlhAQABAAAAACw=) <img srcset="https://t.example/a.png 2x" src=/a.png>\');',
    )
    assert "tracker.example" in html and "Image not loaded (from another site): chart" in html
    assert '<img src="https://' not in html and "srcset" not in html
    assert '<img src="/static/x.png"' in html and 'src="data:image/gif' in html


def test_uncovered_types(web: Watched) -> None:
    got = run(
        web,
        """
        const tasks = [
          {type: 'transcription', status: 'pending'}, {type: 'summary', status: 'pending'},
          {type: 'correction', status: 'completed'}, {type: 'correction', status: 'pending'},
        ];
        const gpu = {live: true, task_types: ['transcription']};
        const gone = {live: false, task_types: null};
        const any = {live: true, task_types: null};
        return [u.uncoveredTypes(tasks, [gpu, gone]), u.uncoveredTypes(tasks, [gpu, any]), u.uncoveredTypes(tasks, [])];
        """,
    )
    assert got == [["correction", "summary"], [], ["correction", "summary", "transcription"]]
