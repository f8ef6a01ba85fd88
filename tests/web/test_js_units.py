"""The app's own JavaScript helpers, run in the browser (no Node.js): word diff, formats, sanitising."""

from __future__ import annotations

import re
from pathlib import Path
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


# --- endpoints.js, the live-tasks composable, task actions -------------------------------------------

STATIC_JS = Path(__file__).resolve().parents[2] / "stenograph" / "web" / "static" / "js"
#: A string or template literal that starts with one of the API's top-level paths.
API_LITERAL = re.compile(r"""["'`]/(tasks|recordings|settings|glossary|workers|events|auth|health|metrics|v1)\b""")

# A fake of the window's timers (tests advance time by hand) and of the app's stream, for useLiveTasks.
FAKES = """
const fakeTimers = () => {
  let now = 0, next = 1; const jobs = new Map();
  const add = (fn, ms, every) => { const id = next++; jobs.set(id, {fn, at: now + ms, every}); return id; };
  return {
    setTimeout: (fn, ms) => add(fn, ms, 0), setInterval: (fn, ms) => add(fn, ms, ms),
    clearTimeout: (id) => jobs.delete(id), clearInterval: (id) => jobs.delete(id),
    pending: () => jobs.size,
    advance(ms) {
      const end = now + ms;
      for (;;) {
        let due = null;
        for (const [id, j] of jobs) if (j.at <= end && (!due || j.at < due[1].at)) due = [id, j];
        if (!due) break;
        const [id, j] = due; now = j.at;
        if (j.every) j.at += j.every; else jobs.delete(id);
        j.fn();
      }
      now = end;
    },
  };
};
const fakeStream = (state) => Vue.reactive({state, opens: 0});
const open = (s) => { s.state = 'open'; s.opens += 1; };
const live = (opts) => {
  const calls = [], heard = [], listeners = new Set();
  const timers = fakeTimers();
  const subscribe = (fn) => { listeners.add(fn); return () => listeners.delete(fn); };
  const scope = Vue.effectScope();
  const handle = scope.run(() => c.useLiveTasks({
    onTask: (t) => heard.push(t.id), refresh: (why) => calls.push(why), intervalMs: 5000, graceMs: 2000,
    subscribe, timers, ...opts}));
  const send = (task) => { for (const fn of listeners) fn(task); };
  return {calls, heard, timers, handle, scope, send, listeners};
};
"""


def run_modules(web: Watched, body: str) -> Any:
    """Run ``body`` with e = endpoints.js, c = composables, p = processing.js and FAKES in scope."""
    web.goto("#/upload")
    web.page.get_by_test_id("page-upload").wait_for()
    return web.page.evaluate(
        "async () => { const e = await import('/static/js/endpoints.js');"
        " const c = await import('/static/js/composables/index.js');"
        f" const p = await import('/static/js/processing.js'); {FAKES} {body} }}"
    )


def test_endpoints_build_every_path(web: Watched) -> None:
    got = run_modules(
        web,
        """
        const x = e.endpoints;
        return [x.task(7), x.taskAction(7, 'retry'), x.testTask('summary'), x.tasks(),
          x.tasks({status: 'running', type: '', limit: 100, offset: 0}), x.recordings({q: 'a b&c', limit: 50}),
          x.recording('a/b'), x.recordingMedia(3),
          x.recordingTranscript(3, {format: 'srt', version: 'latest', download: true}),
          x.recordingTranscript(3, {format: 'json', version: 2}), x.recordingVersions(3), x.recordingDiff(3),
          x.recordingSegment(3, 0), x.recordingSpeakers(3), x.recordingSummary(3, {format: 'json'}),
          x.recordingSummary(3, {download: true}), x.recordingStep(3, 'summary'), x.events(), x.workers(),
          x.llmSettings(), x.glossary(), x.login(), e.query({a: 0, b: null, c: undefined, d: '', f: false}),
          e.taskActionRequest(5, 'delete'), e.taskActionRequest(5, 'cancel'), e.taskActionRequest(5, 'explode')];
        """,
    )
    assert got == [
        "/tasks/7",
        "/tasks/7/retry",
        "/tasks/test/summary",
        "/tasks",
        "/tasks?status=running&limit=100&offset=0",
        "/recordings?q=a+b%26c&limit=50",
        "/recordings/a%2Fb",
        "/recordings/3/media",
        "/recordings/3/transcript?format=srt&version=latest&download=1",
        "/recordings/3/transcript?format=json&version=2",
        "/recordings/3/transcript/versions",
        "/recordings/3/transcript/diff",
        "/recordings/3/transcript/segments/0",
        "/recordings/3/speakers",
        "/recordings/3/summary?format=json",
        "/recordings/3/summary?download=1",
        "/recordings/3/steps/summary",
        "/events",
        "/workers",
        "/settings/llm",
        "/glossary",
        "/auth/login",
        "?a=0&f=false",
        {"method": "DELETE", "path": "/tasks/5"},
        {"method": "POST", "path": "/tasks/5/cancel"},
        None,
    ]


def test_no_module_but_endpoints_writes_an_api_path() -> None:
    offenders = []
    for path in sorted(STATIC_JS.rglob("*.js")):
        if path.name == "endpoints.js":
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if API_LITERAL.search(line) and "navigate(" not in line:
                offenders.append(f"{path.relative_to(STATIC_JS)}:{n}: {line.strip()}")
    assert offenders == []


def test_live_tasks_polls_only_while_the_stream_is_down(web: Watched) -> None:
    got = run_modules(
        web,
        """
        const out = {};
        const s = fakeStream('connecting');
        const l = live({stream: s});
        out.atStart = [...l.calls];
        l.timers.advance(1999); out.beforeGrace = [...l.calls];
        l.timers.advance(1); out.afterGrace = [...l.calls]; out.polling = l.handle.polling.value;
        l.timers.advance(10000); out.twoTicks = [...l.calls];
        open(s); out.opened = [...l.calls]; out.pollingOpen = l.handle.polling.value; out.live = l.handle.live.value;
        l.timers.advance(20000); out.quietWhileOpen = [...l.calls];
        l.send({id: 9}); out.heard = [...l.heard];
        s.state = 'down'; out.down = [...l.calls];
        l.timers.advance(5000); out.downTick = [...l.calls];
        open(s); out.reopened = [...l.calls];
        l.scope.stop(); out.listenersAfterStop = l.listeners.size; out.timersAfterStop = l.timers.pending();
        s.state = 'down'; l.timers.advance(20000); open(s); out.afterStop = l.calls.length;
        return out;
        """,
    )
    assert got["atStart"] == [] and got["beforeGrace"] == []
    assert got["afterGrace"] == ["poll"] and got["polling"] is True
    assert got["twoTicks"] == ["poll", "poll", "poll"]
    # One snapshot per (re)connection, then silence while the stream is open.
    assert got["opened"] == ["poll", "poll", "poll", "open"]
    assert got["pollingOpen"] is False and got["live"] is True
    assert got["quietWhileOpen"] == got["opened"]
    assert got["heard"] == [9]
    assert got["down"] == [*got["opened"], "poll"]
    assert got["downTick"] == [*got["opened"], "poll", "poll"]
    assert got["reopened"] == [*got["downTick"], "open"]
    assert got["listenersAfterStop"] == 0 and got["timersAfterStop"] == 0
    assert got["afterStop"] == len(got["reopened"])


def test_live_tasks_start_states_and_when(web: Watched) -> None:
    got = run_modules(
        web,
        """
        const openStart = live({stream: fakeStream('open')});
        const quietStart = live({stream: fakeStream('open'), refreshOnStart: false});
        const downStart = live({stream: fakeStream('down')});
        downStart.timers.advance(5000);
        let busy = false;
        const s = fakeStream('down');
        const gated = live({stream: s, when: () => busy});
        gated.timers.advance(10000); const idle = [...gated.calls];
        busy = true; gated.timers.advance(5000);
        open(s);  // a reconnection always takes a snapshot, busy or not
        busy = false; s.state = 'down'; gated.timers.advance(5000);
        return [openStart.calls, quietStart.calls, downStart.calls, idle, gated.calls];
        """,
    )
    assert got == [["open"], [], ["poll", "poll"], [], ["poll", "open"]]


def test_task_actions_come_from_the_server(web: Watched) -> None:
    got = run_modules(
        web,
        """
        return [p.taskActions({status: 'failed'}), p.taskActions({status: 'running', actions: ['cancel']}),
          p.taskActions({actions: ['retry', 'delete', 'teleport']}), p.taskActions({actions: 'cancel'}),
          p.optionsOf([{status: 'running'}, {status: 'failed'}, {status: 'running'}, {}], 'status', ''),
          p.optionsOf([{type: 'summary'}], 'type', 'correction'),
          c.segmentAt([{start: 0, end: 1}, {start: 3, end: 4}], 2), c.segmentAt([{start: 1, end: 2}], 0.5),
          c.inProgress({status: 'pending'}), c.inProgress({status: 'failed'}), c.inProgress(null)];
        """,
    )
    assert got == [
        [],
        ["cancel"],
        ["retry", "delete"],
        [],
        ["failed", "running"],
        ["correction", "summary"],
        0,
        -1,
        True,
        False,
        False,
    ]


def test_speaker_colours_and_talk_time(web: Watched) -> None:
    got = run(
        web,
        "const segs = [{start: 0, end: 2.5, speaker_label: 'Speaker 1'},"
        " {start: 3, end: 4, speaker_label: 'Speaker 2'},"
        " {start: 4, end: 6, speaker_label: 'Speaker 1'}, {start: 6, end: 7, speaker_label: null}];"
        " return [u.talkTimes(segs, (s) => s.speaker_label), u.speakerClass(0), u.speakerClass(9),"
        " u.speakerClass(-1)];",
    )
    assert got == [{"Speaker 1": 4.5, "Speaker 2": 1}, "spk-0", "spk-1", ""]
