// The summary card: how it was made and the Markdown, rendered and sanitised.

import { describeLlm } from "../util.js";

const METHODS = {
  llm: "by a language model",
  extractive: "extractively (sentences picked from the transcript, no language model)",
};

export const RecordingSummary = {
  props: {
    recording: { type: Object, required: true },
    summary: { type: Object, required: true },
  },
  setup() {
    const method = (m) => METHODS[m] || m || "";
    return { method, describeLlm };
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
      <div class="markdown" data-testid="summary" v-html="summary.html"></div>
    </template>
    <p v-else class="muted" data-testid="no-summary">No summary yet<template v-if="recording.steps.summary"> (summary {{ recording.steps.summary }})</template>.</p>
  </section>`,
};
