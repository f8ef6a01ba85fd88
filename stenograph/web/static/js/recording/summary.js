// The summary card: how it was made and the Markdown, rendered and sanitised; its [mm:ss] citations (key
// points, decisions, action items, in summaries of any version) are links that seek the player.

import { describeLlm } from "../util.js";

const { computed } = Vue;

const CITATION = /\[(\d{1,4}):(\d{2})\]/g;

/** Sanitised summary HTML with each [mm:ss] in its text (not inside a link or code) made a link,
 * ``<a href="#" data-seek="75" data-testid="summary-citation">[01:15]</a>``; built with DOM calls on an
 * inert template, so nothing of the text becomes markup. */
export function linkCitations(html) {
  const box = document.createElement("template");
  box.innerHTML = html || "";
  const walker = document.createTreeWalker(box.content, NodeFilter.SHOW_TEXT);
  const found = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.parentElement && node.parentElement.closest("a, code, pre")) continue;
    if (node.data.match(CITATION)) found.push(node);
  }
  for (const node of found) {
    const parts = document.createDocumentFragment();
    let last = 0;
    for (const m of node.data.matchAll(CITATION)) {
      if (m.index > last) parts.append(node.data.slice(last, m.index));
      const link = document.createElement("a");
      link.setAttribute("href", "#");
      link.setAttribute("class", "summary-cite");
      link.setAttribute("data-seek", String(Number(m[1]) * 60 + Number(m[2])));
      link.setAttribute("data-testid", "summary-citation");
      link.setAttribute("title", `Play from ${m[1]}:${m[2]}`);
      link.textContent = m[0];
      parts.append(link);
      last = m.index + m[0].length;
    }
    if (last < node.data.length) parts.append(node.data.slice(last));
    node.replaceWith(parts);
  }
  return box.innerHTML;
}

const METHODS = {
  llm: "by a language model",
  extractive: "extractively (sentences picked from the transcript, no language model)",
};

export const RecordingSummary = {
  props: {
    recording: { type: Object, required: true },
    summary: { type: Object, required: true },
    playback: { type: Object, required: true },
  },
  setup(props) {
    const method = (m) => METHODS[m] || m || "";
    const html = computed(() => linkCitations(props.summary.html));
    /** A click on a citation (delegated: the links are in v-html) seeks the player there. */
    function seek(event) {
      const link = event.target.closest("a.summary-cite[data-seek]");
      if (!link) return;
      event.preventDefault();
      props.playback.seek(Number(link.getAttribute("data-seek")));
    }
    return { method, describeLlm, html, seek };
  },
  template: `
  <section class="card" aria-labelledby="summary-title" data-testid="summary-section">
    <h2 id="summary-title">Summary</h2>
    <p v-if="summary.error" class="error" role="alert">{{ summary.error }}</p>
    <template v-if="summary.summary">
      <p class="small muted" data-testid="summary-method">
        Made {{ method(summary.summary.method) }}<template v-if="summary.summary.llm && describeLlm(summary.summary.llm) !== 'none'"> · {{ describeLlm(summary.summary.llm) }}</template><template v-if="summary.summary.source_version"> · of the {{ summary.summary.source_version.kind }} transcript (version {{ summary.summary.source_version.number }})</template>.
      </p>
      <p v-if="summary.summary.fallback" class="small warning" role="note" data-testid="summary-fallback">{{ summary.summary.fallback }}</p>
      <div class="markdown" data-testid="summary" v-html="html" @click="seek"></div>
    </template>
    <p v-else class="muted" data-testid="no-summary">No summary yet<template v-if="recording.steps.summary"> (summary {{ recording.steps.summary }})</template>.</p>
  </section>`,
};
