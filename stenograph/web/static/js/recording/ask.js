// The "Ask the recording" card: a question in, the answer streamed in (server-sent events on
// /ask/{task}/events), its [mm:ss] citations as links that seek the player. Closing the stream (Stop, or
// leaving the page) cancels the question on the server.

import { api, endpoints } from "../api.js";

const { reactive, onUnmounted } = Vue;

const CITATION = /\[(?:#(\d+)\s+)?(\d{1,4}):(\d{2})\]/g;

/** An answer's text as parts: {text} and {cite: "01:23", seconds: 83, recordingId: 4 | null}. */
export function answerParts(text) {
  const parts = [];
  let last = 0;
  for (const m of String(text || "").matchAll(CITATION)) {
    if (m.index > last) parts.push({ text: text.slice(last, m.index) });
    parts.push({ cite: `${m[2]}:${m[3]}`, seconds: Number(m[2]) * 60 + Number(m[3]), recordingId: m[1] ? Number(m[1]) : null });
    last = m.index + m[0].length;
  }
  if (last < text.length) parts.push({ text: text.slice(last) });
  return parts;
}

export const RecordingAsk = {
  props: {
    recording: { type: Object, required: true },
    playback: { type: Object, required: true },
  },
  setup(props) {
    const state = reactive({ question: "", asking: false, text: "", result: null, error: "", source: null });

    function stop() {
      if (state.source) state.source.close(); // the server cancels the question
      state.source = null;
      state.asking = false;
    }

    async function ask() {
      const question = state.question.trim();
      if (!question || state.asking) return;
      stop();
      Object.assign(state, { asking: true, text: "", result: null, error: "" });
      let created;
      try {
        created = await api(endpoints.recordingAsk(props.recording.rec.id), { method: "POST", body: { question } });
      } catch (err) {
        state.asking = false;
        state.error = err.message;
        return;
      }
      const es = new EventSource(endpoints.askEvents(created.task.id), { withCredentials: true });
      state.source = es;
      es.addEventListener("partial", (ev) => (state.text = JSON.parse(ev.data).text));
      es.addEventListener("answer", (ev) => {
        state.result = JSON.parse(ev.data);
        state.text = state.result.answer;
        es.close();
        state.source = null;
        state.asking = false;
      });
      for (const name of ["failed", "cancelled"]) {
        es.addEventListener(name, (ev) => {
          state.error = `The question ${name === "failed" ? "failed" : "was cancelled"}: ${JSON.parse(ev.data).message || ""}`;
          stop();
        });
      }
      es.addEventListener("error", () => {
        if (es.readyState === EventSource.CLOSED && state.source === es) {
          state.error = "The answer's stream was lost.";
          stop();
        }
      });
    }

    onUnmounted(stop);
    return { state, ask, stop, answerParts };
  },
  template: `
  <section class="card" aria-labelledby="ask-title" data-testid="ask-section">
    <h2 id="ask-title">Ask the recording</h2>
    <form @submit.prevent="ask" class="ask-form">
      <label for="ask-question" class="small muted">A question; the answer comes from the transcript only.</label>
      <input id="ask-question" v-model="state.question" type="text" maxlength="1000" placeholder="What was decided about…?" data-testid="ask-question" />
      <button type="submit" class="btn btn-small" :disabled="state.asking || !state.question.trim()" data-testid="ask-submit">Ask</button>
      <button v-if="state.asking" type="button" class="btn btn-small" @click="stop" data-testid="ask-stop">Stop</button>
    </form>
    <p v-if="state.error" class="error" role="alert">{{ state.error }}</p>
    <p v-if="state.asking && !state.text" class="muted small" aria-live="polite">Thinking…</p>
    <p v-if="state.text" class="ask-answer" aria-live="polite" data-testid="ask-answer">
      <template v-for="(part, i) in answerParts(state.text)" :key="i">
        <a v-if="part.cite" href="#" class="ask-cite" @click.prevent="playback.seek(part.seconds)" :title="'Play from ' + part.cite" data-testid="ask-citation">[{{ part.cite }}]</a>
        <template v-else>{{ part.text }}</template>
      </template>
    </p>
    <p v-if="state.result && state.result.reason" class="small muted" data-testid="ask-reason">{{ state.result.reason }}</p>
  </section>`,
};
